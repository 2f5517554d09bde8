package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/bench"
)

// ingest builds realistic new orders over the seeded catalogue, each with a
// unique external id under this run's prefix.
type ingest struct {
	prefix string
	skus   []struct {
		SKU   string `db:"sku"`
		Title string `db:"title"`
	}
}

func newIngest(ctx context.Context, db *sqlx.DB, run string) (*ingest, error) {
	in := &ingest{prefix: "bench-" + run}
	if err := db.SelectContext(ctx, &in.skus, `SELECT sku, title FROM products ORDER BY sku LIMIT 50`); err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	if len(in.skus) == 0 {
		return nil, fmt.Errorf("the data set has no products")
	}
	return in, nil
}

// order is the JSON of order n of a stream: one to three lines, a shipping
// address, a new customer every third order and a returning one otherwise.
func (in *ingest) order(stream string, n int64) map[string]any {
	var items []map[string]any
	var subtotal int64
	for k := int64(0); k <= n%3; k++ {
		p := in.skus[(n*7+k*13)%int64(len(in.skus))]
		price := 1500 + (n+k)%40*100
		items = append(items, map[string]any{"sku": p.SKU, "title": p.Title, "quantity": 1 + k%2, "unit_price": price})
		subtotal += price * (1 + k%2)
	}
	email := fmt.Sprintf("%s-%s-%d@example.com", in.prefix, stream, n)
	if n%3 != 0 {
		email = fmt.Sprintf("%s-%s-%d@example.com", in.prefix, stream, n-n%3)
	}
	id := fmt.Sprintf("%s-%s-%d", in.prefix, stream, n)
	return map[string]any{
		"external_id": id, "number": "#" + id, "currency": "USD",
		"customer":  map[string]any{"email": email, "name": "Bench Shopper " + fmt.Sprint(n)},
		"placed_at": time.Now().UTC().Format(time.RFC3339),
		"items":     items, "subtotal": subtotal, "discount": 0, "shipping": 500, "tax": 0, "total": subtotal + 500,
		"shipping_address": map[string]any{"name": "Bench Shopper", "line1": fmt.Sprintf("%d Main St", n%999+1),
			"city": "Portland", "region": "OR", "postal_code": "97201", "country": "US"},
	}
}

// singleLoad POSTs one order per request; sent counts the orders sent.
func (in *ingest) singleLoad(base, key string, conns int, o options, sent *atomic.Int64) bench.Load {
	h := http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}
	return bench.Load{Name: "ingest_single", Conns: conns, Warmup: o.warmup, Duration: o.duration,
		Next: func(c, i int) bench.Request {
			n := sent.Add(1)
			body, _ := json.Marshal(in.order("s", n))
			return bench.Request{Method: http.MethodPost, URL: base + "/api/v1/orders", Header: h, Body: body}
		},
		OK: func(s int) bool { return s == http.StatusCreated },
	}
}

// batchLoad POSTs per orders per request to the batch endpoint.
func (in *ingest) batchLoad(base, key string, conns, per int, o options, sent *atomic.Int64) bench.Load {
	h := http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}
	return bench.Load{Name: "ingest_batch", Conns: conns, Warmup: o.warmup, Duration: o.duration,
		Next: func(c, i int) bench.Request {
			orders := make([]map[string]any, per)
			for k := range orders {
				orders[k] = in.order("b", sent.Add(1))
			}
			body, _ := json.Marshal(map[string]any{"orders": orders})
			return bench.Request{Method: http.MethodPost, URL: base + "/api/v1/orders/batch", Header: h, Body: body}
		},
		OK: func(s int) bool { return s == http.StatusOK },
	}
}

// stored counts the orders of a stream in the database and those with an
// order confirmation queued.
func (in *ingest) stored(ctx context.Context, db *sqlx.DB, stream string) (orders, confirmed int, err error) {
	like := in.prefix + "-" + stream + "-%"
	err = db.QueryRowxContext(ctx, `
		SELECT count(*), count(m.order_id) FROM orders o
		LEFT JOIN (SELECT DISTINCT order_id FROM messages WHERE kind = 'order_confirmation') m ON m.order_id = o.id
		WHERE o.external_id LIKE $1`, like).Scan(&orders, &confirmed)
	return orders, confirmed, err
}
