package journey

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/db"
)

// affinityTTL is how long the order page trusts the "also bought"
// counts: they move slowly, and counting them live on every view of every
// order page cost more than the rest of the page together (BENCHMARKS.md).
const affinityTTL = 10 * time.Minute

// affinity caches, for every pair of SKUs, how many orders bought both.
// One query counts all pairs; while it runs, concurrent callers wait for the
// first load or keep using the previous counts, so a busy order page never
// sets off the same heavy count once per request.
type affinity struct {
	now func() time.Time

	mu      sync.Mutex
	at      time.Time
	pairs   map[string]map[string]int
	loading chan struct{} // closed when the running load ends; nil when none runs
	lastErr error         // of the last load, for callers that waited on it
}

// counts returns the co-purchase counts of sku: for each other SKU, the
// number of orders holding both, at most affinityTTL old (plus the time a
// new count takes, while the previous one is served).
//
// The count runs in the background under its own deadline, not the
// request's: on a large store it takes seconds, longer than a page may
// wait, and a count cut off with its request would start again with the
// next one. Only the very first count is waited for.
func (a *affinity) counts(ctx context.Context, q sqlx.QueryerContext, sku string) (map[string]int, error) {
	for {
		a.mu.Lock()
		if a.pairs != nil {
			if a.now().Sub(a.at) >= affinityTTL && a.loading == nil {
				a.startLoad(q)
			}
			c := a.pairs[sku]
			a.mu.Unlock()
			return c, nil
		}
		if a.loading == nil {
			a.startLoad(q)
		}
		wait, failed := a.loading, a.lastErr
		a.mu.Unlock()
		select {
		case <-wait:
			a.mu.Lock()
			failed = a.lastErr
			a.mu.Unlock()
			if failed != nil {
				return nil, failed
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("journey: also-bought counts: %w", ctx.Err())
		}
	}
}

// WarmUp starts counting the also-bought pairs in the background, so the
// first order pages after a start do not wait for the count (seconds on a
// large store).
func (e *Engine) WarmUp() {
	e.affinity.mu.Lock()
	defer e.affinity.mu.Unlock()
	if e.affinity.pairs == nil && e.affinity.loading == nil {
		e.affinity.startLoad(e.db)
	}
}

// affinityLoadTimeout bounds one background count.
const affinityLoadTimeout = 5 * time.Minute

// startLoad counts anew in the background; a.mu is held.
func (a *affinity) startLoad(q sqlx.QueryerContext) {
	done := make(chan struct{})
	a.loading = done
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), affinityLoadTimeout)
		defer cancel()
		pairs, err := loadPairs(ctx, q)
		a.mu.Lock()
		if err == nil {
			a.pairs, a.at = pairs, a.now()
		}
		a.lastErr = err
		a.loading = nil
		close(done)
		a.mu.Unlock()
	}()
}

// loadPairs counts, for every pair of SKUs, the orders holding both.
func loadPairs(ctx context.Context, q sqlx.QueryerContext) (map[string]map[string]int, error) {
	var rows []struct {
		SKU    string `db:"sku"`
		With   string `db:"with_sku"`
		Orders int    `db:"orders"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		WITH lines AS (SELECT DISTINCT order_id, sku FROM order_items)
		SELECT a.sku, b.sku AS with_sku, count(*) AS orders
		FROM lines a JOIN lines b ON b.order_id = a.order_id AND b.sku <> a.sku
		GROUP BY a.sku, b.sku`); err != nil {
		return nil, fmt.Errorf("journey: also-bought counts: %w", err)
	}
	pairs := map[string]map[string]int{}
	for _, r := range rows {
		if pairs[r.SKU] == nil {
			pairs[r.SKU] = map[string]int{}
		}
		pairs[r.SKU][r.With] = r.Orders
	}
	return pairs, nil
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
	if err := db.Select(ctx, e.db, &here, `
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
	if err := db.Select(ctx, e.db, &pairs, `
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
	if err := db.Select(ctx, e.db, &more, `
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
