package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestAllowCountsWithinAWindow(t *testing.T) {
	r := NewRateLimiter(pgtest.DB(t))
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		ok, wait, err := r.Allow(ctx, "k", 3, time.Minute)
		if err != nil || !ok || wait != 0 {
			t.Fatalf("attempt %d = %v, %s, %v; want allowed", i, ok, wait, err)
		}
	}
	ok, wait, err := r.Allow(ctx, "k", 3, time.Minute)
	if err != nil || ok {
		t.Fatalf("4th attempt of 3 = %v, %v; want refused", ok, err)
	}
	if wait <= 0 || wait > time.Minute {
		t.Fatalf("retryAfter = %s, want within the minute", wait)
	}
	if ok, _, _ := r.Allow(ctx, "other", 3, time.Minute); !ok {
		t.Fatal("another key shares the count")
	}
}

func TestAllowStartsANewWindowWhenTheOldOneEnds(t *testing.T) {
	d := pgtest.DB(t)
	r := NewRateLimiter(d)
	ctx := context.Background()
	for range 3 {
		r.Allow(ctx, "k", 2, time.Minute) //nolint:errcheck // filling the window
	}
	if _, err := d.Exec(`UPDATE rate_limits SET window_start = now() - interval '61 seconds'`); err != nil {
		t.Fatal(err)
	}
	ok, _, err := r.Allow(ctx, "k", 2, time.Minute)
	if err != nil || !ok {
		t.Fatalf("after the window = %v, %v; want allowed", ok, err)
	}
	var hits int
	if err := d.Get(&hits, `SELECT hits FROM rate_limits WHERE key = 'k'`); err != nil || hits != 1 {
		t.Fatalf("hits = %d, %v; want the count restarted at 1", hits, err)
	}
}

func TestAllowCountsEveryParallelAttempt(t *testing.T) {
	d := pgtest.DB(t)
	// Two limiters on one database stand for two instances of the app.
	limiters := []*RateLimiter{NewRateLimiter(d), NewRateLimiter(sqlx.NewDb(d.DB, "postgres"))}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := limiters[i%2].Allow(context.Background(), "shared", 10, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 10 {
		t.Fatalf("%d of 30 parallel attempts allowed, want exactly 10", allowed.Load())
	}
}

func TestAllowRefusesBadLimits(t *testing.T) {
	r := NewRateLimiter(pgtest.DB(t))
	for _, tc := range []struct {
		key    string
		limit  int
		window time.Duration
	}{{"", 1, time.Minute}, {"k", 0, time.Minute}, {"k", 1, 0}, {"k", 1, 48 * time.Hour}} {
		if _, _, err := r.Allow(context.Background(), tc.key, tc.limit, tc.window); err == nil {
			t.Errorf("Allow(%+v) gave no error", tc)
		}
	}
}

func TestSweepForgetsOnlyOldWindows(t *testing.T) {
	d := pgtest.DB(t)
	r := NewRateLimiter(d)
	ctx := context.Background()
	r.Allow(ctx, "old", 5, time.Hour)   //nolint:errcheck // setup
	r.Allow(ctx, "fresh", 5, time.Hour) //nolint:errcheck // setup
	if _, err := d.Exec(`UPDATE rate_limits SET window_start = now() - interval '25 hours' WHERE key = 'old'`); err != nil {
		t.Fatal(err)
	}
	n, err := r.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 row", n, err)
	}
	var keys []string
	if err := d.Select(&keys, `SELECT key FROM rate_limits`); err != nil || len(keys) != 1 || keys[0] != "fresh" {
		t.Fatalf("left %v, %v; want only fresh", keys, err)
	}
}
