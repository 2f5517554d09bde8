package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestEveryRunsTheSweepAtStart(t *testing.T) {
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	q.Every("count", time.Hour, func(context.Context) error { runs.Add(1); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background()) //nolint:errcheck // test end
	deadline := time.Now().Add(20 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if runs.Load() != 1 {
		t.Fatalf("sweep ran %d times at start, want 1", runs.Load())
	}
}
