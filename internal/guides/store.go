package guides

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	acdb "github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// Guide is a product's guide as a page shows it.
type Guide struct {
	ProductID int64  `db:"id"`
	SKU       string `db:"sku"`
	Title     string `db:"title"`
	ImageURL  string `db:"image_url"`
	Markdown  string `db:"guide_md"`
	VideoURL  string `db:"guide_video_url"`
}

// HTML is the guide rendered and sanitized.
func (g Guide) HTML() string { return string(Render(g.Markdown)) }

// Has reports whether there is anything to show.
func (g Guide) Has() bool { return g.Markdown != "" || g.VideoURL != "" }

// ErrNotFound is what a shopper sees for a guide that does not exist or is
// not theirs to read: the same answer, so it tells nothing.
var ErrNotFound = fault.Errorf(fault.NotFound, "We could not find that guide.")

const guideColumns = `p.id, p.sku, p.title, p.image_url, p.guide_md, p.guide_video_url`

// forOrder returns the guides of the products on an order of customerID,
// one per product, in line order; none for an order that is not theirs.
func forOrder(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64) ([]Guide, error) {
	var out []Guide
	err := acdb.Select(ctx, q, &out, `
		SELECT `+guideColumns+` FROM products p
		JOIN (SELECT i.product_id, min(i.line_no) AS line_no FROM order_items i
		      JOIN orders o ON o.id = i.order_id
		      WHERE o.id = $2 AND o.customer_id = $1 AND i.product_id IS NOT NULL
		      GROUP BY i.product_id) l ON l.product_id = p.id
		WHERE p.guide_md <> '' OR p.guide_video_url <> ''
		ORDER BY l.line_no`, customerID, orderID)
	if err != nil {
		return nil, fmt.Errorf("guides: guides of order %d: %w", orderID, err)
	}
	return out, nil
}

// forShipment returns the guides of the products in a shipment, for the
// delivered email.
func forShipment(ctx context.Context, q sqlx.QueryerContext, shipmentID int64) ([]Guide, error) {
	var out []Guide
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT `+guideColumns+` FROM products p
		JOIN (SELECT i.product_id, min(i.line_no) AS line_no FROM shipment_items si
		      JOIN order_items i ON i.id = si.order_item_id
		      WHERE si.shipment_id = $1 AND i.product_id IS NOT NULL
		      GROUP BY i.product_id) l ON l.product_id = p.id
		WHERE p.guide_md <> '' OR p.guide_video_url <> ''
		ORDER BY l.line_no`, shipmentID)
	if err != nil {
		return nil, fmt.Errorf("guides: guides of shipment %d: %w", shipmentID, err)
	}
	return out, nil
}

// bought returns the guide of sku when customerID bought it; ErrNotFound
// otherwise, and when the product has no guide.
func bought(ctx context.Context, q sqlx.QueryerContext, customerID int64, sku string) (Guide, error) {
	var g Guide
	err := sqlx.GetContext(ctx, q, &g, `SELECT `+guideColumns+` FROM products p
		WHERE p.sku = $2 AND (p.guide_md <> '' OR p.guide_video_url <> '')
		  AND EXISTS (SELECT 1 FROM order_items i JOIN orders o ON o.id = i.order_id
		              WHERE i.product_id = p.id AND o.customer_id = $1)`, customerID, sku)
	if errors.Is(err, sql.ErrNoRows) {
		return g, ErrNotFound
	}
	if err != nil {
		return g, fmt.Errorf("guides: guide %q: %w", sku, err)
	}
	return g, nil
}

func recordView(ctx context.Context, q sqlx.ExecerContext, productID, customerID int64, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO guide_views (product_id, customer_id, viewed_at) VALUES ($1, $2, $3)`, productID, customerID, at)
	if err != nil {
		return fmt.Errorf("guides: record view of product %d: %w", productID, err)
	}
	return nil
}

// Entry is a product on the staff's guide list.
type Entry struct {
	SKU       string    `db:"sku"`
	Title     string    `db:"title"`
	HasGuide  bool      `db:"has_guide"`
	HasVideo  bool      `db:"has_video"`
	Views30d  int       `db:"views_30d"`
	Pairings  int       `db:"pairings"`
	UpdatedAt time.Time `db:"updated_at"`
}

func listEntries(ctx context.Context, q sqlx.QueryerContext, search string, limit int, since time.Time) ([]Entry, error) {
	var out []Entry
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT p.sku, p.title, p.guide_md <> '' AS has_guide, p.guide_video_url <> '' AS has_video, p.updated_at,
		       (SELECT count(*) FROM guide_views v WHERE v.product_id = p.id AND v.viewed_at >= $3) AS views_30d,
		       (SELECT count(*) FROM product_pairings pp WHERE pp.product_id = p.id) AS pairings
		FROM products p
		WHERE $1 = '' OR p.sku ILIKE '%' || $1 || '%' OR p.title ILIKE '%' || $1 || '%'
		ORDER BY p.title, p.sku LIMIT $2`, search, limit, since)
	if err != nil {
		return nil, fmt.Errorf("guides: list products: %w", err)
	}
	return out, nil
}

// Product is a product with what staff edit about it here.
type Product struct {
	Guide
	ProductURL string         `db:"product_url"`
	Pairings   pq.StringArray `db:"pairings"`
}

func productBySKU(ctx context.Context, q sqlx.QueryerContext, sku string, lock bool) (Product, error) {
	query := `SELECT ` + guideColumns + `, p.product_url,
		ARRAY(SELECT pp.with_sku FROM product_pairings pp WHERE pp.product_id = p.id ORDER BY pp.position) AS pairings
		FROM products p WHERE p.sku = $1`
	if lock {
		query += ` FOR UPDATE OF p`
	}
	var p Product
	err := sqlx.GetContext(ctx, q, &p, query, sku)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fault.Errorf(fault.NotFound, "There is no product with SKU %s.", sku)
	}
	if err != nil {
		return p, fmt.Errorf("guides: product %q: %w", sku, err)
	}
	return p, nil
}

func saveGuide(ctx context.Context, q sqlx.ExecerContext, productID int64, md, video string) error {
	_, err := q.ExecContext(ctx, `UPDATE products SET guide_md = $2, guide_video_url = $3, updated_at = now() WHERE id = $1`, productID, md, video)
	if err != nil {
		return fmt.Errorf("guides: save guide of product %d: %w", productID, err)
	}
	return nil
}

// savePairings replaces the "goes well with" list of a product.
func savePairings(ctx context.Context, q sqlx.ExecerContext, productID int64, skus []string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM product_pairings WHERE product_id = $1`, productID); err != nil {
		return fmt.Errorf("guides: clear pairings of product %d: %w", productID, err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO product_pairings (product_id, with_sku, position)
		SELECT $1, s.sku, s.n FROM unnest($2::text[]) WITH ORDINALITY AS s(sku, n)`, productID, pq.Array(skus))
	if err != nil {
		return fmt.Errorf("guides: save pairings of product %d: %w", productID, err)
	}
	return nil
}
