package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/bench"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/notify"
)

// journeyResult is what the journey benchmark measured.
type journeyResult struct {
	Jobs    int
	Seconds float64
	Rate    float64
	Sent    int64    // messages the SMTP sink accepted
	CPU     cpuTimes // used while the queue drained
}

// drain waits until no mail.deliver job is left to work (ingestion queued
// confirmations), so the journey measurement starts from an idle queue.
func drain(ctx context.Context, pool *sqlx.DB, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var left int
		if err := pool.GetContext(ctx, &left, `SELECT count(*) FROM river_job
			WHERE kind = 'mail.deliver' AND state IN ('available', 'running', 'retryable', 'pending')`); err != nil {
			return err
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d delivery jobs still queued after %s", left, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runJourney queues n emails through the product's own outbox (each a
// messages row and its mail.deliver job) in one transaction, so all become
// due at its commit, and measures how fast the server's workers render and
// send them to the sink until every one is finished. With -pprof and
// -sqlstats, prof and stats profile the server and its statements while the
// queue drains (prof after the warm-up, for -duration); nil ones do nothing.
//
// The CPU time the server, PostgreSQL and the harness (with the sink) used
// while the queue drained is returned with the rate: on a shared machine
// it moves less than the rate.
func runJourney(ctx context.Context, pool *sqlx.DB, sink *bench.Sink, serverPID int, run string, n int, o options, prof *profiler, stats *sqlStats, log io.Writer) (journeyResult, error) {
	var orders []struct {
		ID       int64  `db:"id"`
		Customer int64  `db:"customer_id"`
		Email    string `db:"email"`
	}
	err := pool.SelectContext(ctx, &orders, `SELECT o.id, o.customer_id, c.email FROM orders o
		JOIN customers c ON c.id = o.customer_id ORDER BY o.id LIMIT $1`, n)
	if err != nil || len(orders) == 0 {
		return journeyResult{}, fmt.Errorf("journey orders: %v (found %d)", err, len(orders))
	}
	q, err := jobs.New(pool.DB, jobs.Options{}) // insert-only: never started here
	if err != nil {
		return journeyResult{}, err
	}
	outbox := mail.NewOutbox(q)
	var since time.Time // the messages' created_at is their transaction's start
	if err := pool.GetContext(ctx, &since, `SELECT now()`); err != nil {
		return journeyResult{}, err
	}
	fmt.Fprintf(log, "queueing %d emails in one transaction\n", n)
	err = db.InTx(ctx, pool, func(tx *sqlx.Tx) error {
		for i := range n {
			o := orders[i%len(orders)]
			if err := outbox.Queue(ctx, tx, mail.Queued{Kind: notify.KindOrderConfirmation,
				DedupeKey: fmt.Sprintf("bench:%s:journey:%d", run, i), To: o.Email, CustomerID: o.Customer, OrderID: o.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return journeyResult{}, fmt.Errorf("queue journey mail: %w", err)
	}
	meter := newCPUMeter(ctx, pool, serverPID)
	cpu0 := meter.read()
	t0 := time.Now()
	sent0 := sink.Count()
	var waitErr error
	var secs float64 // taken when the queue is empty, not when a profile ends
	prof.during(ctx, "journey", o, func() bench.Result {
		return stats.during(ctx, "journey", func() bench.Result {
			waitErr = waitSent(ctx, pool, sink, sent0, since, n, t0)
			secs = time.Since(t0).Seconds()
			cpu1 := meter.read()
			cpu0 = cpuTimes{server: cpu1.server - cpu0.server, postgres: cpu1.postgres - cpu0.postgres, harness: cpu1.harness - cpu0.harness}
			return bench.Result{}
		})
	})
	if waitErr != nil {
		return journeyResult{}, waitErr
	}
	return journeyResult{Jobs: n, Seconds: secs, Rate: float64(n) / secs, Sent: sink.Count() - sent0, CPU: cpu0}, nil
}

// waitSent waits until no message queued since since is left queued. It
// asks the database only once the sink has accepted n messages since it
// counted sent0, or when the sink has accepted nothing for 2 s (some may
// have failed): counting the queued messages took a few percent of
// PostgreSQL's time from the workers it measures.
func waitSent(ctx context.Context, pool *sqlx.DB, sink *bench.Sink, sent0 int64, since time.Time, n int, t0 time.Time) error {
	lastAsked, lastMoved, seen := time.Now(), time.Now(), sink.Count()
	for {
		if c := sink.Count(); c != seen {
			seen, lastMoved = c, time.Now()
		}
		// The database is asked only when the sink has them all, or when it
		// has seen nothing new for 2 s (some may have failed): the count
		// reads the queued messages' index and rows, 5-15% of PostgreSQL's
		// time in a run when it was asked every 2 s regardless.
		stalled := time.Since(lastMoved) >= 2*time.Second && time.Since(lastAsked) >= 2*time.Second
		if seen-sent0 >= int64(n) || stalled {
			lastAsked = time.Now()
			var left int
			if err := pool.GetContext(ctx, &left, `SELECT count(*) FROM messages WHERE status = 'queued' AND created_at >= $1`, since); err != nil {
				return err
			}
			if left == 0 {
				return nil
			}
		}
		if time.Since(t0) > 15*time.Minute {
			return fmt.Errorf("journey: emails still queued after 15 minutes (%d of %d accepted by the sink)", sink.Count()-sent0, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
