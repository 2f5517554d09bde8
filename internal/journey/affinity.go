package journey

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// affinityTTL is how long the order page trusts a product's "also bought"
// counts: they move slowly, and counting them live on every view of every
// order page cost more than the rest of the page together (BENCHMARKS.md).
const affinityTTL = 10 * time.Minute

// affinity caches, per SKU, how many orders bought each other SKU with it.
type affinity struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]affinityEntry
}

type affinityEntry struct {
	at     time.Time
	counts map[string]int
}

// counts returns the co-purchase counts of sku: for each other SKU, the
// number of orders holding both. A fresh cached answer is reused.
func (a *affinity) counts(ctx context.Context, q sqlx.QueryerContext, sku string) (map[string]int, error) {
	a.mu.Lock()
	e, ok := a.m[sku]
	a.mu.Unlock()
	if ok && a.now().Sub(e.at) < affinityTTL {
		return e.counts, nil
	}
	var rows []struct {
		SKU    string `db:"sku"`
		Orders int    `db:"orders"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT b.sku, count(DISTINCT b.order_id) AS orders
		FROM order_items a JOIN order_items b ON b.order_id = a.order_id AND b.sku <> a.sku
		WHERE a.sku = $1 GROUP BY b.sku`, sku); err != nil {
		return nil, fmt.Errorf("journey: also-bought counts of %s: %w", sku, err)
	}
	counts := make(map[string]int, len(rows))
	for _, r := range rows {
		counts[r.SKU] = r.Orders
	}
	a.mu.Lock()
	a.m[sku] = affinityEntry{at: a.now(), counts: counts}
	a.mu.Unlock()
	return counts, nil
}

// recommendCached is Recommend for the order page: pairings and what the
// customer owns are read live, "also bought" comes from per-SKU counts at
// most affinityTTL old. Across the order's SKUs the counts are added, so an
// order that held two of them counts twice; the ranking is what matters.
// The order itself is among the counts, but everything on it is owned and
// so never suggested.
func (e *Engine) recommendCached(ctx context.Context, customerID, orderID int64, minOrders, limit int) ([]Recommendation, error) {
	var here []struct {
		SKU   string `db:"sku"`
		Owned bool   `db:"owned"`
		Here  bool   `db:"here"`
	}
	if err := sqlx.SelectContext(ctx, e.db, &here, `
		SELECT i.sku, true AS owned, bool_or(o.id = $2) AS here
		FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE o.customer_id = $1 GROUP BY i.sku`, customerID, orderID); err != nil {
		return nil, fmt.Errorf("journey: recommendations for order %d: %w", orderID, err)
	}
	owned := map[string]bool{}
	var skus []string
	for _, h := range here {
		owned[h.SKU] = true
		if h.Here {
			skus = append(skus, h.SKU)
		}
	}
	if len(skus) == 0 {
		return nil, nil // not this customer's order, or an empty one
	}
	var pairs []Recommendation
	if err := sqlx.SelectContext(ctx, e.db, &pairs, `
		SELECT p.sku, p.title, p.image_url, p.product_url, 'pairing' AS why
		FROM (SELECT pp.with_sku, min(pp.position) AS pos FROM product_pairings pp
		      JOIN products h ON h.id = pp.product_id WHERE h.sku = ANY($1) GROUP BY pp.with_sku) x
		JOIN products p ON p.sku = x.with_sku
		ORDER BY x.pos, p.title, p.sku`, pq.Array(skus)); err != nil {
		return nil, fmt.Errorf("journey: pairings for order %d: %w", orderID, err)
	}
	out := make([]Recommendation, 0, limit)
	seen := map[string]bool{}
	for _, p := range pairs {
		if len(out) < limit && !owned[p.SKU] && !seen[p.SKU] {
			seen[p.SKU] = true
			out = append(out, p)
		}
	}
	if len(out) >= limit {
		return out, nil
	}
	total := map[string]int{}
	for _, s := range skus {
		c, err := e.affinity.counts(ctx, e.db, s)
		if err != nil {
			return nil, err
		}
		for sku, n := range c {
			total[sku] += n
		}
	}
	var cands []string
	for sku, n := range total {
		if n >= minOrders && !owned[sku] && !seen[sku] {
			cands = append(cands, sku)
		}
	}
	if len(cands) == 0 {
		return out, nil
	}
	var more []Recommendation
	if err := sqlx.SelectContext(ctx, e.db, &more, `
		SELECT sku, title, image_url, product_url, 'also_bought' AS why FROM products WHERE sku = ANY($1)`, pq.Array(cands)); err != nil {
		return nil, fmt.Errorf("journey: products for order %d: %w", orderID, err)
	}
	// Most often bought together first, then by title, as Recommend does.
	sort.Slice(more, func(i, j int) bool {
		a, b := more[i], more[j]
		if total[a.SKU] != total[b.SKU] {
			return total[a.SKU] > total[b.SKU]
		}
		if a.Title != b.Title {
			return a.Title < b.Title
		}
		return a.SKU < b.SKU
	})
	if n := limit - len(out); len(more) > n {
		more = more[:n]
	}
	return append(out, more...), nil
}
