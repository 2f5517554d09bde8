package journey

import (
	"context"
	"fmt"
	"html/template"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pagecache"
)

// maxRecommendations is how many products an email or the order page shows.
const maxRecommendations = 3

// Recommendation is a product suggested for an order.
type Recommendation struct {
	SKU        string `db:"sku"`
	Title      string `db:"title"`
	ImageURL   string `db:"image_url"`
	ProductURL string `db:"product_url"`
	// Why is "pairing" (the store says it goes well with something on the
	// order) or "also_bought" (other shoppers bought them together).
	Why string `db:"why"`
}

// Recommend returns up to limit products for order orderID of customerID:
// first what the store pairs with the order's products, in the store's
// order, then what at least minOrders other orders bought together with
// them, most often first; never something the customer already bought.
func Recommend(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64, minOrders, limit int) ([]Recommendation, error) {
	var out []Recommendation
	err := sqlx.SelectContext(ctx, q, &out, `
		WITH here AS (
			SELECT DISTINCT i.sku, i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id
			WHERE o.id = $2 AND o.customer_id = $1),
		owned AS (
			SELECT DISTINCT i.sku FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.customer_id = $1),
		candidates AS (
			SELECT pp.with_sku AS sku, 0 AS src, min(pp.position)::bigint AS score, 'pairing' AS why
			FROM product_pairings pp JOIN here h ON h.product_id = pp.product_id
			GROUP BY pp.with_sku
			UNION ALL
			SELECT b.sku, 1, -count(DISTINCT b.order_id), 'also_bought'
			FROM order_items a JOIN here h ON h.sku = a.sku
			JOIN order_items b ON b.order_id = a.order_id AND b.sku <> a.sku
			WHERE a.order_id <> $2
			GROUP BY b.sku HAVING count(DISTINCT b.order_id) >= $3),
		best AS (
			SELECT DISTINCT ON (sku) sku, src, score, why FROM candidates ORDER BY sku, src, score)
		SELECT p.sku, p.title, p.image_url, p.product_url, b.why
		FROM best b JOIN products p ON p.sku = b.sku
		WHERE b.sku NOT IN (SELECT sku FROM owned)
		ORDER BY b.src, b.score, p.title, p.sku
		LIMIT $4`, customerID, orderID, minOrders, limit)
	if err != nil {
		return nil, fmt.Errorf("journey: recommendations for order %d: %w", orderID, err)
	}
	return out, nil
}

// Partials renders a named shared template (web.Engine does).
type Partials interface {
	Partial(name string, data any) (template.HTML, error)
}

// OrderPanel renders the order page's "Goes well with your order" section,
// or nothing when there is nothing to recommend or recommendations are off.
func (e *Engine) OrderPanel(ctx context.Context, views Partials, customerID, orderID int64) (template.HTML, error) {
	set, err := LoadSettings(ctx, e.db)
	if err != nil {
		return "", err
	}
	// Kept rendered with the order page: the settings are under its key,
	// and the cached recommendations report when they expire (pagecache
	// Until), so the rendering is kept no longer than they are.
	pagecache.Stable(ctx)
	if !set.RecommendEnabled {
		return "", nil
	}
	// Kept per order page version, and at most a minute: what the customer
	// owns also moves with their other orders, which that version does not
	// follow, so a product just bought in another order may still be
	// suggested here for up to a minute.
	recs, err := e.panelRecs.Load(ctx, orderID, func() ([]Recommendation, error) {
		return e.recommendCached(ctx, customerID, orderID, set.AlsoBoughtMinOrders, maxRecommendations)
	})
	if err != nil || len(recs) == 0 {
		return "", err
	}
	return views.Partial("journey_panel", map[string]any{"recommendations": recs})
}
