package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal"
)

// TestFaultPostgresDownDuringIngestion cuts the database off for 3 s while
// orders stream in; the soak variant cuts it for 10 s.
func TestFaultPostgresDownDuringIngestion(t *testing.T) { faultPostgresDown(t, 3*time.Second) }

// faultPostgresDown runs a live app on a private PostgreSQL reached through
// a toxiproxy proxy, posts orders from a few clients, disables the proxy
// for outage and enables it again. It proves: during the outage the API
// answers 503 with Retry-After (never 500, never a hang past the request
// deadline); afterwards posts succeed with no restart; every order a client
// retried until acknowledged is stored whole, once, with one confirmation
// delivered once; nothing unacknowledged or partial is stored.
func faultPostgresDown(t *testing.T, outage time.Duration) {
	ctx := context.Background()
	pg, err := pglocal.Start(ctx, pglocal.Options{Fast: true, TCP: true})
	if err != nil {
		t.Skipf("no PostgreSQL to fault: %v", err)
	}
	t.Cleanup(func() { pg.Stop() }) //nolint:errcheck // test end
	direct, err := db.Open(ctx, pg.URLVia(pg.TCPAddr(), "postgres"), db.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	if err := db.Migrate(ctx, direct.DB, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(api, "postgres", "127.0.0.1:0", pg.TCPAddr())
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	// A job whose completion River could not record while the database was
	// away stays "running" until the rescuer runs it again: shortened here
	// from 5 minutes so the test sees that path end.
	l := startLiveOpts(t, map[string]string{"AFTERCARE_DATABASE_URL": pg.URLVia(proxy.Listen, "postgres"), "AFTERCARE_DB_TIMEOUT": "2s"},
		appOptions{PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, JobTimeout: 5 * time.Second, RescueAfter: 11 * time.Second})

	// A request may take the request deadline plus the dial timeout; past
	// this bound the client counts it as a hang.
	client := &http.Client{Timeout: 15 * time.Second}
	var (
		mu                         sync.Mutex
		acked                      = map[string]bool{}
		unavailable, hangs, others int
		down, up                   time.Time
		firstOKAfterUp             time.Duration
		stop                       = make(chan struct{})
		wg                         sync.WaitGroup
	)
	placed := time.Now().Add(-time.Hour)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				id := fmt.Sprintf("pg-%d-%d", w, n)
				// A client retries a 503 with the same order until it is
				// acknowledged: that is what the Retry-After invites.
				for {
					status, retryAfter, raw, err := rawPost(client, l.base, l.key, "/api/v1/orders", faultOrder(id, placed))
					mu.Lock()
					switch {
					case err != nil:
						hangs++
						t.Errorf("order %s: no answer: %v", id, err)
					case status == 201 || status == 200:
						acked[id] = true
						if !up.IsZero() && firstOKAfterUp == 0 {
							firstOKAfterUp = time.Since(up)
						}
					case status == 503 && retryAfter != "":
						unavailable++
					default:
						others++
						t.Errorf("order %s: status %d (Retry-After %q): %s", id, status, retryAfter, raw)
					}
					done := acked[id] || err != nil || (status != 503 && status != 0)
					mu.Unlock()
					if done {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}(w)
	}

	time.Sleep(time.Second)
	mu.Lock()
	down = time.Now()
	mu.Unlock()
	proxy.Stop()
	time.Sleep(outage)
	if err := proxy.Start(); err != nil {
		t.Fatalf("bring the database back: %v", err)
	}
	mu.Lock()
	up = time.Now()
	mu.Unlock()
	// Work resumes by itself: wait for acknowledgements after the return.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		resumed := firstOKAfterUp != 0
		mu.Unlock()
		if resumed || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	t.Logf("outage %s from %s: %d answers 503 with Retry-After, %d other errors, %d hangs; first order acknowledged %s after the database returned; %d orders acknowledged",
		outage, down.Format("15:04:05.000"), unavailable, others, hangs, firstOKAfterUp, len(acked))
	if firstOKAfterUp == 0 {
		t.Fatal("no order was acknowledged after the database came back")
	}
	if unavailable == 0 {
		t.Error("no request met the outage: the fault was not exercised")
	}

	stored := checkWholeOrders(t, direct)
	want := map[string]bool{}
	for id := range acked {
		want[id+"@example.com"] = true
		if !stored[id] {
			t.Errorf("acknowledged order %s is not stored", id)
		}
	}
	for id := range stored {
		if !acked[id] {
			t.Errorf("order %s is stored but was never acknowledged", id)
		}
	}
	var confirmations int
	if err := direct.Get(&confirmations, `SELECT count(*) FROM messages WHERE kind = 'order_confirmation'`); err != nil || confirmations != len(acked) {
		t.Errorf("%d confirmations queued for %d orders (%v)", confirmations, len(acked), err)
	}
	// The rescuer looks every 30 s for jobs running longer than RescueAfter.
	deliveredOnce(t, l.smtp, want, 90*time.Second)
}
