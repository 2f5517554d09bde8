package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/mail/mailtest"
)

// faultItems is how many lines each fault-test order carries, so that a
// half-written order (some lines missing) is visible.
const faultItems = 3

// faultOrder is an order body with faultItems lines whose totals add up;
// its customer's address is unique to it, so each confirmation is countable.
func faultOrder(externalID string, placed time.Time) map[string]any {
	var items []map[string]any
	subtotal := 0
	for i := 1; i <= faultItems; i++ {
		items = append(items, map[string]any{"sku": fmt.Sprintf("FAULT-%d", i), "title": fmt.Sprintf("Part %d", i), "quantity": i, "unit_price": 100 * i})
		subtotal += i * 100 * i
	}
	return map[string]any{
		"external_id": externalID, "number": "#" + externalID, "placed_at": placed.UTC().Format(time.RFC3339), "currency": "USD",
		"customer": map[string]any{"email": externalID + "@example.com", "name": "Fault Shopper"},
		"items":    items, "subtotal": subtotal, "shipping": 500, "total": subtotal + 500,
	}
}

// rawPost sends body as JSON with the API key and returns the status, the
// Retry-After header and the body; err is a transport error (a hang past
// the client's timeout among them).
func rawPost(client *http.Client, base, key, path string, body any) (int, string, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), raw, nil
}

// checkWholeOrders fails the test for any order stored without all its
// lines, any line without its order, and any order whose lines do not add
// up to its subtotal. It returns the external ids stored.
func checkWholeOrders(t *testing.T, d *sqlx.DB) map[string]bool {
	t.Helper()
	var bad []struct {
		ExternalID string `db:"external_id"`
		Lines      int    `db:"lines"`
		Sum        int64  `db:"sum"`
		Subtotal   int64  `db:"subtotal_minor"`
	}
	if err := d.Select(&bad, `
		SELECT o.external_id, count(i.id) AS lines, coalesce(sum(i.quantity * i.unit_price_minor), 0) AS sum, o.subtotal_minor
		FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
		GROUP BY o.id HAVING count(i.id) <> $1 OR coalesce(sum(i.quantity * i.unit_price_minor), 0) <> o.subtotal_minor
			OR o.total_minor <> o.subtotal_minor - o.discount_minor + o.shipping_minor + o.tax_minor`, faultItems); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("order %s is partial: %d lines summing to %d, subtotal %d", b.ExternalID, b.Lines, b.Sum, b.Subtotal)
	}
	var orphans int
	if err := d.Get(&orphans, `SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)`); err != nil || orphans != 0 {
		t.Errorf("%d order lines without their order (%v)", orphans, err)
	}
	var ids []string
	if err := d.Select(&ids, `SELECT external_id FROM orders`); err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, id := range ids {
		stored[id] = true
	}
	return stored
}

// deliveredOnce waits until every address in want got exactly one message
// and fails for an address that got two, or for mail to anyone else.
func deliveredOnce(t *testing.T, smtp *mailtest.Server, want map[string]bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(smtp.Messages()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate would arrive late
	seen := map[string]int{}
	for _, m := range smtp.Messages() {
		for _, to := range m.To {
			seen[to]++
		}
	}
	for addr := range want {
		if seen[addr] != 1 {
			t.Errorf("%s got %d emails, want 1", addr, seen[addr])
		}
	}
	for addr, n := range seen {
		if !want[addr] {
			t.Errorf("%s got %d emails, want none", addr, n)
		}
	}
}
