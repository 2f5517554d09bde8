package events_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestEachSubscriberReactsOnceToACommittedEvent(t *testing.T) {
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{PollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.New(d, q)
	var audits, failures atomic.Int32
	bus.Subscribe(events.OrderCreated, "audit", func(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
		audits.Add(1)
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor, action, subject) VALUES ('test', $1, $2)`, ev.Kind, ev.ID)
		return err
	})
	bus.Subscribe(events.OrderCreated, "flaky", func(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor, action) VALUES ('flaky', 'partial')`); err != nil {
			return err
		}
		if failures.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background()) //nolint:errcheck // test end

	emit := func(commit bool) {
		tx, err := d.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := bus.Emit(ctx, tx, events.Event{Kind: events.OrderCreated, OrderID: 1}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	emit(false)
	emit(true)
	deadline := time.Now().Add(20 * time.Second)
	for failures.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := audits.Load(); n != 1 {
		t.Errorf("audit reacted %d times, want 1 (the rolled-back event must not count)", n)
	}
	var partial int
	if err := db.InTx(ctx, d, func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &partial, `SELECT count(*) FROM audit_log WHERE actor = 'flaky'`)
	}); err != nil {
		t.Fatal(err)
	}
	if partial != 1 {
		t.Errorf("the failing reaction left %d rows, want exactly the one of its successful try", partial)
	}
}
