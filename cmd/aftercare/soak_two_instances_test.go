//go:build soak

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/config"
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
	dbURL := pgtest.URL(t)
	smtp := mailtest.NewServer(t)
	var bases []string
	var key string
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String()
		cfg, err := config.Load(envOf(map[string]string{
			"AFTERCARE_DATABASE_URL": dbURL, "AFTERCARE_SIGNING_KEYS": testKeys, "AFTERCARE_BASE_URL": base,
			"AFTERCARE_SMTP_URL": smtp.URL(), "AFTERCARE_MAIL_FROM": "Store <care@example.test>", "AFTERCARE_AUTO_MIGRATE": "1",
		}), false)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		app, err := buildApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{PollInterval: 50 * time.Millisecond, RetryBase: 100 * time.Millisecond})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- app.Serve(ctx, ln) }()
		t.Cleanup(func() { cancel(); <-done; app.Close() })
		if key == "" {
			if key, err = auth.NewAPIKeys(app.DB).Create(ctx, "soak"); err != nil {
				t.Fatal(err)
			}
		}
		bases = append(bases, base)
	}

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
			body, _ := json.Marshal(map[string]any{
				"external_id": fmt.Sprintf("soak-%d", i), "placed_at": placed, "currency": "USD",
				"customer": map[string]any{"email": fmt.Sprintf("shopper%d@example.com", i), "name": "Soak Shopper"},
				"items":    []map[string]any{{"sku": "MUG", "title": "Mug", "quantity": 1, "unit_price": 1200}},
				"subtotal": 1200, "total": 1200,
			})
			req, _ := http.NewRequest("POST", bases[i%2]+"/api/v1/orders", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errs <- fmt.Errorf("order %d: status %d", i, resp.StatusCode)
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
