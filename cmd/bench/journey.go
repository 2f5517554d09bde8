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

// drain waits until no job is left to work now, of any kind (ingestion
// queued confirmations, and each order's event reactions: referral
// identities, journeys), so the journey measurement starts from an idle
// queue. It waited for mail.deliver jobs alone, and the reactions to the
// ingested orders ran in the journey's window: 2,500 jobs, a third of
// PostgreSQL's time there, on a medium store. Jobs scheduled for later
// (reminders due in days) and the minute's sweeps are a store's steady
// state, and are not waited for. Mail still queued after limit is an
// error; other jobs are only reported (one failing again and again would
// otherwise stop the run).
func drain(ctx context.Context, pool *sqlx.DB, limit time.Duration, log io.Writer) error {
	deadline := time.Now().Add(limit)
	for {
		var left struct {
			All  int `db:"total"`
			Mail int `db:"mail"`
		}
		if err := pool.GetContext(ctx, &left, `SELECT count(*) AS total, count(*) FILTER (WHERE kind = 'mail.deliver') AS mail
			FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending', 'scheduled') AND scheduled_at <= now()`); err != nil {
			return err
		}
		if left.All == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if left.Mail > 0 {
				return fmt.Errorf("%d delivery jobs still queued after %s", left.Mail, limit)
			}
			fmt.Fprintf(log, "drain: %d jobs still due after %s; measuring the journey beside them\n", left.All, limit)
			return nil
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
	// The ids of the queued messages, read before the measurement, so
	// that asking whether they are all recorded reads them by key (see
	// waitSent).
	var ids struct {
		Min int64 `db:"min"`
		Max int64 `db:"max"`
	}
	if err := pool.GetContext(ctx, &ids, `SELECT min(id) AS min, max(id) AS max FROM messages WHERE created_at >= $1`, since); err != nil {
		return journeyResult{}, fmt.Errorf("journey messages: %w", err)
	}
	meter := newCPUMeter(ctx, pool, serverPID)
	cpu0 := meter.read()
	t0 := time.Now()
	sent0 := sink.Count()
	var waitErr error
	var secs float64 // taken when the queue is empty, not when a profile ends
	prof.during(ctx, "journey", o, func() bench.Result {
		return stats.during(ctx, "journey", func() bench.Result {
			waitErr = waitSent(ctx, pool, sink, sent0, ids.Min, ids.Max, n, t0)
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

// waitSent waits until none of the messages minID..maxID is left queued.
// It asks the database only once the sink has accepted n messages since
// it counted sent0, or when the sink has accepted nothing for 2 s (some
// may have failed): counting the queued messages took a few percent of
// PostgreSQL's time from the workers it measures. The count reads the
// messages by key: by the index of unsent messages (status, created_at)
// it went through the 20,000 entries the journey had just made dead,
// 290 ms of PostgreSQL each time, twice a run (the sink has the last
// messages a moment before their batch commits).
func waitSent(ctx context.Context, pool *sqlx.DB, sink *bench.Sink, sent0 int64, minID, maxID int64, n int, t0 time.Time) error {
	lastAsked, lastMoved, seen := time.Now(), time.Now(), sink.Count()
	for {
		if c := sink.Count(); c != seen {
			seen, lastMoved = c, time.Now()
		}
		stalled := time.Since(lastMoved) >= 2*time.Second && time.Since(lastAsked) >= 2*time.Second
		if seen-sent0 >= int64(n) || stalled {
			lastAsked = time.Now()
			var left int
			if err := pool.GetContext(ctx, &left, `SELECT count(*) FROM messages WHERE id BETWEEN $1 AND $2 AND status = 'queued'`, minID, maxID); err != nil {
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
