package journey

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// countingQueryer counts the queries that reach the database.
type countingQueryer struct {
	sqlx.QueryerContext
	n atomic.Int32
}

func (c *countingQueryer) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	c.n.Add(1)
	time.Sleep(50 * time.Millisecond) // a slow count, so that callers overlap
	return c.QueryerContext.QueryxContext(ctx, query, args...)
}

func (c *countingQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.QueryerContext.QueryContext(ctx, query, args...)
}

// TestAlsoBoughtIsCountedOnceForConcurrentPages: 32 order pages opening at
// once on a cold cache count the pairs once, not once each; after the TTL
// one caller counts again while the others keep the previous counts.
func TestAlsoBoughtIsCountedOnceForConcurrentPages(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := &affinity{now: clock}
	q := &countingQueryer{QueryerContext: d}
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.counts(ctx, q, "KETTLE-1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := q.n.Load(); n != 1 {
		t.Fatalf("32 concurrent pages ran %d counts, want 1", n)
	}
	if _, err := a.counts(ctx, q, "MUG-1"); err != nil || q.n.Load() != 1 {
		t.Fatalf("a fresh cache was counted again (%d counts, %v)", q.n.Load(), err)
	}
	mu.Lock()
	now = now.Add(affinityTTL + time.Second)
	mu.Unlock()
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.counts(ctx, q, "KETTLE-1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The pages returned the previous counts at once; the one count they
	// started runs in the background: wait for it before counting counts.
	a.mu.Lock()
	recount := a.loading
	a.mu.Unlock()
	if recount != nil {
		<-recount
	}
	if n := q.n.Load(); n != 2 {
		t.Fatalf("after the TTL, 8 pages ran %d counts in all, want 2", n)
	}
}
