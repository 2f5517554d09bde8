package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal"
)

// TestASilentDatabaseFailsTheQueryInsteadOfHanging proves the trap in
// DESIGN.md is closed: lib/pq does not abandon a query at its context
// deadline once the network goes silent, so the pool's connections carry a
// deadline per read and write. A proxy that accepts and forwards nothing
// stands between the pool and a private PostgreSQL.
func TestASilentDatabaseFailsTheQueryInsteadOfHanging(t *testing.T) {
	ctx := context.Background()
	pg, err := pglocal.Start(ctx, pglocal.Options{Fast: true, TCP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop() //nolint:errcheck // test end

	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(api, "postgres", "127.0.0.1:0", pg.TCPAddr())
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()

	pool, err := db.Open(ctx, pg.URLVia(proxy.Listen, "postgres"), db.Options{MaxConns: 2, StatementTimeout: time.Second, IOTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open through the proxy: %v", err)
	}
	defer pool.Close()
	var one int
	if err := pool.GetContext(ctx, &one, `SELECT 1`); err != nil || one != 1 {
		t.Fatalf("healthy query: %d, %v", one, err)
	}

	// From now on the proxy swallows every byte and never closes.
	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"silence","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		done <- pool.GetContext(qctx, &one, `SELECT 1`)
	}()
	// The bound is generous on purpose: the point is "returns" versus "hangs".
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a query through a silent network succeeded")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the query hung on a silent network: the per-read deadline is not in force")
	}

	proxy.Toxics.RemoveToxic(ctx, "silence") //nolint:errcheck // test end
	deadline := time.Now().Add(30 * time.Second)
	for {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := pool.GetContext(qctx, &one, `SELECT 1`)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not recover once the network spoke again: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
