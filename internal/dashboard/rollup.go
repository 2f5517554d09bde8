package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/settings"
)

// RollupEvery is how often the periodic job refreshes the rollups: the
// dashboard's figures lag the record by at most this much.
const RollupEvery = time.Minute

// lateMargin widens "changed since the last run": a transaction that began
// before the last run may commit rows stamped before it.
const lateMargin = 10 * time.Minute

// Rollup keeps the daily rollups (dashboard_sales_daily,
// dashboard_email_daily) in step with orders and messages.
type Rollup struct{ db *sqlx.DB }

// NewRollup returns the refresher over db.
func NewRollup(db *sqlx.DB) *Rollup { return &Rollup{db: db} }

// Refresh recomputes, in one transaction, today and yesterday (store time)
// and every day whose orders or messages changed since the last run; the
// first run, and a run after the store's time zone changed, rebuilds every
// day. Running it twice changes nothing the second time.
func (r *Rollup) Refresh(ctx context.Context, now time.Time) error {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dashboard: rollup: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	// One refresher at a time, across instances. A backfill reads every
	// order and message: more than the pool's per-request statement timeout.
	// A refresher that finds another one at work leaves it be, rather than
	// hold a connection and a worker waiting for the lock.
	if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = '15min'`); err != nil {
		return fmt.Errorf("dashboard: rollup: %w", err)
	}
	var locked bool
	if err := tx.GetContext(ctx, &locked, `SELECT pg_try_advisory_xact_lock(hashtext('dashboard.rollup'))`); err != nil {
		return fmt.Errorf("dashboard: rollup: %w", err)
	}
	if !locked {
		return nil
	}
	st, err := settings.Load(ctx, tx)
	if err != nil {
		return err
	}
	zone := st.Location().String()
	var prev struct {
		Zone string    `db:"zone"`
		At   time.Time `db:"refreshed_at"`
	}
	err = tx.GetContext(ctx, &prev, `SELECT zone, refreshed_at FROM dashboard_rollup_state`)
	full := errors.Is(err, sql.ErrNoRows) || (err == nil && prev.Zone != zone)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dashboard: rollup state: %w", err)
	}
	if err := r.sales(ctx, tx, zone, now, full, prev.At.Add(-lateMargin)); err != nil {
		return err
	}
	if err := r.emails(ctx, tx, zone, now, full, prev.At.Add(-lateMargin)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO dashboard_rollup_state (zone, refreshed_at) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET zone = EXCLUDED.zone, refreshed_at = EXCLUDED.refreshed_at`, zone, now)
	if err != nil {
		return fmt.Errorf("dashboard: rollup state: %w", err)
	}
	return tx.Commit()
}

// recent is today and yesterday in zone, as dates.
const recent = `SELECT (($1::timestamptz AT TIME ZONE $2)::date - k) FROM generate_series(0, 1) k`

// dayBounds turns the dates $1 into half-open instants in zone $2.
const dayBounds = `d AS (
    SELECT day, (day::timestamp AT TIME ZONE $2) AS lo, ((day + 1)::timestamp AT TIME ZONE $2) AS hi
    FROM unnest($1::date[]) AS day)`

func (r *Rollup) sales(ctx context.Context, tx *sqlx.Tx, zone string, now time.Time, full bool, since time.Time) error {
	var days []string
	var err error
	if full {
		err = tx.SelectContext(ctx, &days, `SELECT DISTINCT (placed_at AT TIME ZONE $1)::date::text FROM orders`, zone)
	} else {
		// Every day of a customer with a changed order: a cancelled first order
		// moves the customer's first day, which the new-buyer count follows.
		err = tx.SelectContext(ctx, &days, `SELECT day::text FROM (`+recent+` UNION
			SELECT DISTINCT (placed_at AT TIME ZONE $2)::date FROM orders
			WHERE customer_id IN (SELECT customer_id FROM orders WHERE updated_at >= $3)) x (day)`, now, zone, since)
	}
	if err != nil {
		return fmt.Errorf("dashboard: rollup days: %w", err)
	}
	if full {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sales_daily`); err != nil {
			return fmt.Errorf("dashboard: rollup: %w", err)
		}
		return inMonths(days, func(lo, hi string) error {
			_, err := tx.ExecContext(ctx, fullSales, lo, hi, zone)
			if err != nil {
				return fmt.Errorf("dashboard: rollup sales: %w", err)
			}
			return nil
		})
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM dashboard_sales_daily WHERE day = ANY($1::date[])`, pq.StringArray(days))
	}
	if err != nil {
		return fmt.Errorf("dashboard: rollup: %w", err)
	}
	return inChunks(days, func(chunk []string) error {
		_, err := tx.ExecContext(ctx, `
WITH `+dayBounds+`, o AS (
    SELECT d.day, o.id, o.customer_id, o.currency, o.total_minor, o.refunded_minor, o.placed_at
    FROM d JOIN orders o ON o.placed_at >= d.lo AND o.placed_at < d.hi AND o.status <> 'cancelled'
)
-- Per-order index probes (lines, the customer's first order): a day or a
-- month of orders never scans the whole history.
INSERT INTO dashboard_sales_daily (day, currency, orders, gross, refunded, items, new_buyers)
SELECT o.day, o.currency, count(*), sum(o.total_minor), sum(o.refunded_minor), coalesce(sum(items.qty), 0),
       count(DISTINCT o.customer_id) FILTER (WHERE o.placed_at = f.first)
FROM o
CROSS JOIN LATERAL (SELECT min(placed_at) AS first FROM orders x
                    WHERE x.customer_id = o.customer_id AND x.currency = o.currency AND x.status <> 'cancelled') f
CROSS JOIN LATERAL (SELECT sum(quantity) AS qty FROM order_items WHERE order_id = o.id) items
GROUP BY o.day, o.currency`, pq.StringArray(chunk), zone)
		if err != nil {
			return fmt.Errorf("dashboard: rollup sales: %w", err)
		}
		return nil
	})
}

func (r *Rollup) emails(ctx context.Context, tx *sqlx.Tx, zone string, now time.Time, full bool, since time.Time) error {
	var days []string
	var err error
	if full {
		err = tx.SelectContext(ctx, &days, `SELECT DISTINCT (created_at AT TIME ZONE $1)::date::text FROM messages`, zone)
	} else {
		// Days whose messages were sent, opened, clicked or unsubscribed since
		// the last run, and days that still had queued messages (which may
		// have failed since: failing leaves no timestamp).
		err = tx.SelectContext(ctx, &days, `SELECT day::text FROM (`+recent+` UNION
			SELECT (created_at AT TIME ZONE $2)::date FROM messages WHERE created_at >= $3
			UNION SELECT (created_at AT TIME ZONE $2)::date FROM messages WHERE sent_at >= $3
			UNION SELECT (m.created_at AT TIME ZONE $2)::date FROM messages m
			  JOIN message_events e ON e.message_id = m.id WHERE e.created_at >= $3
			UNION SELECT day FROM dashboard_email_daily WHERE queued > 0) x (day)`, now, zone, since)
	}
	if err != nil {
		return fmt.Errorf("dashboard: rollup days: %w", err)
	}
	if full {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_email_daily`); err != nil {
			return fmt.Errorf("dashboard: rollup: %w", err)
		}
		return inMonths(days, func(lo, hi string) error {
			_, err := tx.ExecContext(ctx, fullEmails, lo, hi, zone)
			if err != nil {
				return fmt.Errorf("dashboard: rollup emails: %w", err)
			}
			return nil
		})
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM dashboard_email_daily WHERE day = ANY($1::date[])`, pq.StringArray(days))
	}
	if err != nil {
		return fmt.Errorf("dashboard: rollup: %w", err)
	}
	return inChunks(days, func(chunk []string) error {
		_, err := tx.ExecContext(ctx, `
WITH `+dayBounds+`, m AS (
    SELECT d.day, m.id, m.kind, m.status FROM d JOIN messages m ON m.created_at >= d.lo AND m.created_at < d.hi
)
INSERT INTO dashboard_email_daily (day, kind, sent, failed, opened, clicked, unsubscribed, queued)
SELECT m.day, m.kind,
       count(*) FILTER (WHERE m.status IN ('sent', 'kept')), count(*) FILTER (WHERE m.status = 'failed'),
       count(*) FILTER (WHERE ev.opened), count(*) FILTER (WHERE ev.clicked), count(*) FILTER (WHERE ev.unsubscribed),
       count(*) FILTER (WHERE m.status = 'queued')
FROM m CROSS JOIN LATERAL (
    SELECT bool_or(kind = 'open') AS opened, bool_or(kind = 'click') AS clicked, bool_or(kind = 'unsubscribe') AS unsubscribed
    FROM message_events WHERE message_id = m.id) ev
GROUP BY m.day, m.kind`, pq.StringArray(chunk), zone)
		if err != nil {
			return fmt.Errorf("dashboard: rollup emails: %w", err)
		}
		return nil
	})
}

// inChunks runs fn over days, a week at a time: a backfill of years
// stays a series of short statements, each well inside the pool's
// network deadline.
func inChunks(days []string, fn func([]string) error) error {
	const week = 7
	for len(days) > 0 {
		n := min(week, len(days))
		if err := fn(days[:n]); err != nil {
			return err
		}
		days = days[n:]
	}
	return nil
}

// fullSales is the sales rollup of the days [$1, $2) in zone $3 in one pass
// of hash joins: a backfill reads every order once instead of probing the
// index per order as the incremental statement does.
const fullSales = `
WITH b AS (SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo, ($2::date)::timestamp AT TIME ZONE $3 AS hi),
o AS (
    SELECT o.id, o.customer_id, o.currency, o.total_minor, o.refunded_minor, o.placed_at
    FROM orders o, b WHERE o.placed_at >= b.lo AND o.placed_at < b.hi AND o.status <> 'cancelled'),
f AS (
    SELECT x.customer_id, x.currency, min(x.placed_at) AS first FROM orders x
    WHERE x.status <> 'cancelled' AND x.customer_id IN (SELECT customer_id FROM o)
    GROUP BY x.customer_id, x.currency),
items AS (
    SELECT order_id, sum(quantity) AS qty FROM order_items WHERE order_id IN (SELECT id FROM o) GROUP BY order_id)
INSERT INTO dashboard_sales_daily (day, currency, orders, gross, refunded, items, new_buyers)
SELECT (o.placed_at AT TIME ZONE $3)::date, o.currency, count(*), sum(o.total_minor), sum(o.refunded_minor),
       coalesce(sum(items.qty), 0), count(DISTINCT o.customer_id) FILTER (WHERE o.placed_at = f.first)
FROM o JOIN f ON f.customer_id = o.customer_id AND f.currency = o.currency
LEFT JOIN items ON items.order_id = o.id
GROUP BY 1, 2`

// fullEmails is the email rollup of the days [$1, $2) in zone $3 in one
// pass, as fullSales is for sales.
const fullEmails = `
WITH b AS (SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo, ($2::date)::timestamp AT TIME ZONE $3 AS hi),
m AS (SELECT m.id, m.kind, m.status, m.created_at FROM messages m, b WHERE m.created_at >= b.lo AND m.created_at < b.hi),
ev AS (
    SELECT message_id, bool_or(kind = 'open') AS opened, bool_or(kind = 'click') AS clicked,
           bool_or(kind = 'unsubscribe') AS unsubscribed
    FROM message_events WHERE message_id IN (SELECT id FROM m) GROUP BY message_id)
INSERT INTO dashboard_email_daily (day, kind, sent, failed, opened, clicked, unsubscribed, queued)
SELECT (m.created_at AT TIME ZONE $3)::date, m.kind,
       count(*) FILTER (WHERE m.status IN ('sent', 'kept')), count(*) FILTER (WHERE m.status = 'failed'),
       count(*) FILTER (WHERE ev.opened), count(*) FILTER (WHERE ev.clicked), count(*) FILTER (WHERE ev.unsubscribed),
       count(*) FILTER (WHERE m.status = 'queued')
FROM m LEFT JOIN ev ON ev.message_id = m.id
GROUP BY 1, 2`

// inMonths calls fn with half-open date ranges [lo, hi) of about a month
// that cover the sorted or unsorted days: a backfill of years is a series
// of statements, each well inside the pool's network deadline.
func inMonths(days []string, fn func(lo, hi string) error) error {
	if len(days) == 0 {
		return nil
	}
	first, last := days[0], days[0]
	for _, d := range days {
		first, last = min(first, d), max(last, d)
	}
	lo, err := time.Parse(time.DateOnly, first)
	if err != nil {
		return fmt.Errorf("dashboard: rollup day %q: %w", first, err)
	}
	end, err := time.Parse(time.DateOnly, last)
	if err != nil {
		return fmt.Errorf("dashboard: rollup day %q: %w", last, err)
	}
	for !lo.After(end) {
		hi := lo.AddDate(0, 0, 31)
		if err := fn(lo.Format(time.DateOnly), hi.Format(time.DateOnly)); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}
