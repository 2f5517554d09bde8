//go:build soak

package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// TestSoakTwoInstancesSendEachConfirmationOnce ingests 1,000 orders through
// two instances on one database, half through each, and checks that every
// order's confirmation is delivered exactly once: River spreads the jobs
// over both, and nothing relies on being the only instance. Run with
// `make soak`.
func TestSoakTwoInstancesSendEachConfirmationOnce(t *testing.T) {
	const orders = 1000
	smtp := mailtest.NewServer(t)
	insts, key := startInstances(t, 2, pgtest.URL(t), smtp, nil)
	placed := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var wg sync.WaitGroup
	errs := make(chan error, orders)
	sem := make(chan struct{}, 16)
	for i := 0; i < orders; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := soakWant(insts[i%2].base, key, "POST", "/api/v1/orders", map[string]any{
				"external_id": fmt.Sprintf("soak-%d", i), "placed_at": placed, "currency": "USD",
				"customer": map[string]any{"email": fmt.Sprintf("shopper%d@example.com", i), "name": "Soak Shopper"},
				"items":    []map[string]any{{"sku": "MUG", "title": "Mug", "quantity": 1, "unit_price": 1200}},
				"subtotal": 1200, "total": 1200,
			}, http.StatusCreated)
			if err != nil {
				errs <- fmt.Errorf("order %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	deadline := time.Now().Add(5 * time.Minute)
	for len(smtp.Messages()) < orders && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would arrive late
	seen := map[string]int{}
	for _, m := range smtp.Messages() {
		for _, to := range m.To {
			seen[to]++
		}
	}
	if len(seen) != orders {
		t.Fatalf("%d shoppers got mail, want %d", len(seen), orders)
	}
	for to, n := range seen {
		if n != 1 {
			t.Errorf("%s got %d confirmations", to, n)
		}
	}
}
