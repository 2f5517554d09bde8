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
// before the last run may commit rows stamped before it. It is taken as
// the longest a row is committed after its stamp: messages and events
// stamped before now-lateMargin are counted for good (settled).
const lateMargin = 10 * time.Minute

// Rollup keeps the daily rollups (dashboard_sales_daily,
// dashboard_email_daily) in step with orders and messages.
type Rollup struct{ db *sqlx.DB }

// NewRollup returns the refresher over db.
func NewRollup(db *sqlx.DB) *Rollup { return &Rollup{db: db} }

// Refresh brings the rollups up to date in one transaction, from the
// orders, messages and events changed since the last run (within
// lateMargin) and the messages still queued then: its cost follows what
// changed, not the size of a busy day. The first run, and a run after the
// store's time zone changed, rebuilds every day. Running it twice changes
// nothing the second time.
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
	// The refresh's statements are planned for whole tables (the days and
	// orders changed are not known when planning) and read a few thousand
	// rows: compiling them (JIT) took a second of each run on the
	// benchmark's store, more than running them.
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
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
		Zone    string       `db:"zone"`
		At      time.Time    `db:"refreshed_at"`
		Settled sql.NullTime `db:"settled_at"`
	}
	err = tx.GetContext(ctx, &prev, `SELECT zone, refreshed_at, settled_at FROM dashboard_rollup_state`)
	full := errors.Is(err, sql.ErrNoRows) || (err == nil && prev.Zone != zone)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("dashboard: rollup state: %w", err)
	}
	// Orders are looked at again until lateMargin after the run that saw
	// them; with a clock that went back, from the earlier of the two.
	since := prev.At
	if now.Before(since) {
		since = now
	}
	if err := r.sales(ctx, tx, zone, full || !prev.Settled.Valid, since.Add(-lateMargin)); err != nil {
		return err
	}
	// What is stamped before settle has been committed (lateMargin): it
	// is counted for good. The mark never moves back (a clock that does
	// would count twice what settled since).
	settle := now.Add(-lateMargin)
	fullEmails := full || !prev.Settled.Valid
	if !fullEmails && settle.Before(prev.Settled.Time) {
		settle = prev.Settled.Time
	}
	if err := r.emails(ctx, tx, zone, fullEmails, prev.Settled.Time, settle); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO dashboard_rollup_state (zone, refreshed_at, settled_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET zone = EXCLUDED.zone, refreshed_at = EXCLUDED.refreshed_at, settled_at = EXCLUDED.settled_at`,
		zone, now, settle)
	if err != nil {
		return fmt.Errorf("dashboard: rollup state: %w", err)
	}
	return tx.Commit()
}

// sales brings the sales rollup up to date from the orders whose
// updated_at is at or after since and differs from what was counted of
// them (dashboard_sales_orders): each such order's counted figures are
// taken out of its old day and its figures now added to its day, and its
// customer's first order per currency (new buyers) is looked up again. A
// refresh reads the orders changed in the last minutes, not a busy day's
// every order. An order's lines change only with the order (the store's
// edits rewrite both in one transaction, with updated_at).
func (r *Rollup) sales(ctx context.Context, tx *sqlx.Tx, zone string, full bool, since time.Time) error {
	if !full {
		if _, err := tx.ExecContext(ctx, salesChanges, since, zone); err != nil {
			return fmt.Errorf("dashboard: rollup sales: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sales_daily WHERE orders = 0 AND new_buyers = 0`); err != nil {
			return fmt.Errorf("dashboard: rollup sales: %w", err)
		}
		return nil
	}
	// The dashboard reads dashboard_sales_daily during a rebuild (the rows
	// of before it, until it commits); only the refresher, under its lock,
	// reads the other two, which TRUNCATE empties without a dead row each.
	for _, q := range []string{`DELETE FROM dashboard_sales_daily`, `TRUNCATE dashboard_sales_orders, dashboard_sales_buyers`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("dashboard: rollup: %w", err)
		}
	}
	var days []string
	if err := tx.SelectContext(ctx, &days, `SELECT DISTINCT (placed_at AT TIME ZONE $1)::date::text FROM orders`, zone); err != nil {
		return fmt.Errorf("dashboard: rollup days: %w", err)
	}
	err := inMonths(days, func(lo, hi string) error {
		if _, err := tx.ExecContext(ctx, fullSalesOrders, lo, hi, zone); err != nil {
			return fmt.Errorf("dashboard: rollup sales: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_sales_buyers (customer_id, currency, day)
		SELECT customer_id, currency, (min(placed_at) AT TIME ZONE $1)::date FROM orders
		WHERE status <> 'cancelled' AND customer_id IS NOT NULL GROUP BY customer_id, currency`, zone); err != nil {
		return fmt.Errorf("dashboard: rollup sales: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO dashboard_sales_daily (day, currency, orders, gross, refunded, items, new_buyers)
SELECT o.day, o.currency, o.orders, o.gross, o.refunded, o.items, coalesce(b.n, 0)
FROM (SELECT day, currency, sum(orders) AS orders, sum(gross) AS gross, sum(refunded) AS refunded, sum(items) AS items
      FROM dashboard_sales_orders GROUP BY day, currency HAVING sum(orders) > 0) o
LEFT JOIN (SELECT day, currency, count(*) AS n FROM dashboard_sales_buyers GROUP BY day, currency) b
    ON b.day = o.day AND b.currency = o.currency`); err != nil {
		return fmt.Errorf("dashboard: rollup sales: %w", err)
	}
	return nil
}

// salesChanges applies to the sales rollup the orders stamped at or after
// $1 (zone $2) that changed since they were counted, and their customers'
// first orders, in one statement (one snapshot: what is counted and what
// is recorded as counted agree).
const salesChanges = `
WITH c AS (
    SELECT o.id, o.updated_at, (o.placed_at AT TIME ZONE $2)::date AS day, o.currency, o.customer_id,
           (o.status <> 'cancelled')::int AS orders,
           CASE WHEN o.status <> 'cancelled' THEN o.total_minor ELSE 0 END AS gross,
           CASE WHEN o.status <> 'cancelled' THEN o.refunded_minor ELSE 0 END AS refunded,
           CASE WHEN o.status <> 'cancelled' THEN coalesce((SELECT sum(quantity) FROM order_items WHERE order_id = o.id), 0) ELSE 0 END AS items
    FROM orders o LEFT JOIN dashboard_sales_orders s ON s.order_id = o.id
    WHERE o.updated_at >= $1 AND s.updated_at IS DISTINCT FROM o.updated_at
), old AS (
    SELECT s.* FROM dashboard_sales_orders s WHERE s.order_id IN (SELECT id FROM c)
), counted AS (
    INSERT INTO dashboard_sales_orders AS s (order_id, updated_at, day, currency, customer_id, orders, gross, refunded, items)
    SELECT id, updated_at, day, currency, customer_id, orders, gross, refunded, items FROM c
    ON CONFLICT (order_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, day = EXCLUDED.day, currency = EXCLUDED.currency,
        customer_id = EXCLUDED.customer_id, orders = EXCLUDED.orders, gross = EXCLUDED.gross, refunded = EXCLUDED.refunded,
        items = EXCLUDED.items
), k AS (
    SELECT customer_id FROM c WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM old WHERE customer_id IS NOT NULL
), firsts AS (
    SELECT k.customer_id, f.currency, (f.first AT TIME ZONE $2)::date AS day
    FROM k CROSS JOIN LATERAL (
        SELECT currency, min(placed_at) AS first FROM orders x
        WHERE x.customer_id = k.customer_id AND x.status <> 'cancelled' GROUP BY currency) f
), was AS (
    SELECT b.* FROM dashboard_sales_buyers b WHERE b.customer_id IN (SELECT customer_id FROM k)
), gone AS (
    DELETE FROM dashboard_sales_buyers b WHERE b.customer_id IN (SELECT customer_id FROM k)
    AND NOT EXISTS (SELECT 1 FROM firsts f WHERE f.customer_id = b.customer_id AND f.currency = b.currency)
), buyers AS (
    INSERT INTO dashboard_sales_buyers AS b (customer_id, currency, day) SELECT customer_id, currency, day FROM firsts
    ON CONFLICT (customer_id, currency) DO UPDATE SET day = EXCLUDED.day WHERE b.day <> EXCLUDED.day
), delta AS (
    SELECT day, currency, sum(orders) AS orders, sum(gross) AS gross, sum(refunded) AS refunded, sum(items) AS items,
           sum(buyers) AS buyers
    FROM (
        SELECT day, currency, orders, gross, refunded, items, 0 FROM c
        UNION ALL SELECT day, currency, -orders, -gross, -refunded, -items, 0 FROM old
        UNION ALL SELECT day, currency, 0, 0, 0, 0, 1 FROM firsts
        UNION ALL SELECT day, currency, 0, 0, 0, 0, -1 FROM was
    ) x (day, currency, orders, gross, refunded, items, buyers)
    GROUP BY day, currency
)
INSERT INTO dashboard_sales_daily AS d (day, currency, orders, gross, refunded, items, new_buyers)
SELECT day, currency, orders, gross, refunded, items, buyers FROM delta
WHERE (orders, gross, refunded, items, buyers) <> (0, 0, 0, 0, 0)
ON CONFLICT (day, currency) DO UPDATE SET orders = d.orders + EXCLUDED.orders, gross = d.gross + EXCLUDED.gross,
    refunded = d.refunded + EXCLUDED.refunded, items = d.items + EXCLUDED.items, new_buyers = d.new_buyers + EXCLUDED.new_buyers`

// fullSalesOrders records what the sales rollup counts of the orders of
// the days [$1, $2) in zone $3, in one pass of hash joins: a backfill reads
// every order and line once instead of probing the index per order.
const fullSalesOrders = `
WITH b AS (SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo, ($2::date)::timestamp AT TIME ZONE $3 AS hi),
o AS (SELECT o.* FROM orders o, b WHERE o.placed_at >= b.lo AND o.placed_at < b.hi),
items AS (
    SELECT order_id, sum(quantity) AS qty FROM order_items WHERE order_id IN (SELECT id FROM o WHERE status <> 'cancelled')
    GROUP BY order_id)
INSERT INTO dashboard_sales_orders (order_id, updated_at, day, currency, customer_id, orders, gross, refunded, items)
SELECT o.id, o.updated_at, (o.placed_at AT TIME ZONE $3)::date, o.currency, o.customer_id, (o.status <> 'cancelled')::int,
       CASE WHEN o.status <> 'cancelled' THEN o.total_minor ELSE 0 END,
       CASE WHEN o.status <> 'cancelled' THEN o.refunded_minor ELSE 0 END, coalesce(items.qty, 0)
FROM o LEFT JOIN items ON items.order_id = o.id`

// emails brings the email rollup up to date. Messages and their events are
// counted once, when they are older than lateMargin (settled): the
// settled counts of a day and kind only grow, by what settled since the
// last run. A day's rollup row is its settled counts, plus what is younger
// (read live: the last minutes), less the messages not sent (read live
// from the index of unsent messages: the queued ones still move). A
// refresh reads what changed in the last minutes and the unsent messages
// of the days it rewrites, not a busy day's every message.
func (r *Rollup) emails(ctx context.Context, tx *sqlx.Tx, zone string, full bool, settled, settle time.Time) error {
	var days []string
	if full {
		if _, err := tx.ExecContext(ctx, `TRUNCATE dashboard_email_settled`); err != nil {
			return fmt.Errorf("dashboard: rollup: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_email_daily`); err != nil {
			return fmt.Errorf("dashboard: rollup: %w", err)
		}
		if err := tx.SelectContext(ctx, &days, `SELECT DISTINCT (created_at AT TIME ZONE $1)::date::text FROM messages`, zone); err != nil {
			return fmt.Errorf("dashboard: rollup days: %w", err)
		}
		err := inMonths(days, func(lo, hi string) error {
			if _, err := tx.ExecContext(ctx, fullEmailsSettled, lo, hi, zone, settle); err != nil {
				return fmt.Errorf("dashboard: rollup emails: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	} else {
		// The days whose settled counts grew, as each such day's row
		// moves counts from the live part to the settled part.
		if err := tx.SelectContext(ctx, &days, settleEmails, settled, settle, zone); err != nil {
			return fmt.Errorf("dashboard: rollup emails: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, emailRows, pq.StringArray(days), zone, settle); err != nil {
		return fmt.Errorf("dashboard: rollup emails: %w", err)
	}
	return nil
}

// firstEvent keeps an event e only when it is its message's first of its
// kind (the rollup counts messages opened, not opens).
const firstEvent = `NOT EXISTS (
        SELECT 1 FROM message_events p WHERE p.message_id = e.message_id AND p.kind = e.kind
        AND (p.created_at < e.created_at OR (p.created_at = e.created_at AND p.id < e.id)))`

// settleEmails adds to the settled counts the messages and first events
// stamped in [$1, $2) (zone $3), and returns the days it changed. The
// window starts where the last one ended, so each is counted once.
const settleEmails = `
WITH m AS (
    SELECT (created_at AT TIME ZONE $3)::date AS day, kind, count(*) AS n
    FROM messages WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2
), ev AS (
    SELECT (m.created_at AT TIME ZONE $3)::date AS day, m.kind,
           count(*) FILTER (WHERE e.kind = 'open') AS o, count(*) FILTER (WHERE e.kind = 'click') AS c,
           count(*) FILTER (WHERE e.kind = 'unsubscribe') AS u
    FROM message_events e JOIN messages m ON m.id = e.message_id
    WHERE e.created_at >= $1 AND e.created_at < $2 AND ` + firstEvent + `
    GROUP BY 1, 2
)
INSERT INTO dashboard_email_settled AS s (day, kind, messages, opened, clicked, unsubscribed)
SELECT day, kind, sum(n), sum(o), sum(c), sum(u) FROM (
    SELECT day, kind, n, 0, 0, 0 FROM m UNION ALL SELECT day, kind, 0, o, c, u FROM ev) x (day, kind, n, o, c, u)
GROUP BY day, kind
ON CONFLICT (day, kind) DO UPDATE SET messages = s.messages + EXCLUDED.messages, opened = s.opened + EXCLUDED.opened,
    clicked = s.clicked + EXCLUDED.clicked, unsubscribed = s.unsubscribed + EXCLUDED.unsubscribed
RETURNING day::text`

// fullEmailsSettled is the settled counts of the days [$1, $2) in zone $3,
// as of $4, in one pass of hash joins (a backfill reads every message
// once). An event counts by its own stamp, as in settleEmails, whatever
// its message's.
const fullEmailsSettled = `
WITH b AS (SELECT ($1::date)::timestamp AT TIME ZONE $3 AS lo, ($2::date)::timestamp AT TIME ZONE $3 AS hi),
m AS (SELECT m.id, m.kind, m.created_at FROM messages m, b WHERE m.created_at >= b.lo AND m.created_at < b.hi),
ev AS (
    SELECT message_id, bool_or(kind = 'open') AS opened, bool_or(kind = 'click') AS clicked,
           bool_or(kind = 'unsubscribe') AS unsubscribed
    FROM message_events WHERE message_id IN (SELECT id FROM m) AND created_at < $4 GROUP BY message_id)
INSERT INTO dashboard_email_settled (day, kind, messages, opened, clicked, unsubscribed)
SELECT (m.created_at AT TIME ZONE $3)::date, m.kind, count(*) FILTER (WHERE m.created_at < $4),
       count(*) FILTER (WHERE ev.opened), count(*) FILTER (WHERE ev.clicked), count(*) FILTER (WHERE ev.unsubscribed)
FROM m LEFT JOIN ev ON ev.message_id = m.id
GROUP BY 1, 2`

// emailRows rewrites the rollup rows of the days $1 (zone $2), of the days
// with messages or first events stamped since $3 (the settled mark), and
// of the days that had queued messages at the last run (they may have been
// sent or have failed since: failing leaves no stamp). A row is the settled
// counts, plus the messages and first events since $3, with the messages
// not sent (queued, failed, skipped) counted from the partial index
// messages_unsent_idx; sent (or kept) is what remains.
const emailRows = `
WITH t AS (
    SELECT (created_at AT TIME ZONE $2)::date AS day, kind, count(*) AS n
    FROM messages WHERE created_at >= $3 GROUP BY 1, 2
), te AS (
    SELECT (m.created_at AT TIME ZONE $2)::date AS day, m.kind,
           count(*) FILTER (WHERE e.kind = 'open') AS o, count(*) FILTER (WHERE e.kind = 'click') AS c,
           count(*) FILTER (WHERE e.kind = 'unsubscribe') AS u
    FROM message_events e JOIN messages m ON m.id = e.message_id
    WHERE e.created_at >= $3 AND ` + firstEvent + `
    GROUP BY 1, 2
), a AS (
    SELECT unnest($1::date[]) AS day UNION SELECT day FROM t UNION SELECT day FROM te
    UNION SELECT day FROM dashboard_email_daily WHERE queued > 0
), d AS (
    SELECT day, (day::timestamp AT TIME ZONE $2) AS lo, ((day + 1)::timestamp AT TIME ZONE $2) AS hi FROM a
), unsent AS (
    SELECT d.day, m.kind, count(*) FILTER (WHERE m.status = 'queued') AS q,
           count(*) FILTER (WHERE m.status = 'failed') AS f, count(*) FILTER (WHERE m.status = 'skipped') AS s
    FROM d JOIN messages m ON m.status IN ('queued', 'failed', 'skipped') AND m.created_at >= d.lo AND m.created_at < d.hi
    GROUP BY 1, 2
), r AS (
    SELECT day, kind, sum(n) - sum(q) - sum(f) - sum(s) AS sent, sum(f) AS failed, sum(o) AS opened, sum(c) AS clicked,
           sum(u) AS unsubscribed, sum(q) AS queued
    FROM (
        SELECT day, kind, messages, opened, clicked, unsubscribed, 0, 0, 0 FROM dashboard_email_settled WHERE day IN (SELECT day FROM a)
        UNION ALL SELECT day, kind, n, 0, 0, 0, 0, 0, 0 FROM t
        UNION ALL SELECT day, kind, 0, o, c, u, 0, 0, 0 FROM te
        UNION ALL SELECT day, kind, 0, 0, 0, 0, q, f, s FROM unsent
    ) x (day, kind, n, o, c, u, q, f, s)
    GROUP BY day, kind HAVING sum(n) > 0
), gone AS (
    DELETE FROM dashboard_email_daily x WHERE x.day IN (SELECT day FROM a)
    AND NOT EXISTS (SELECT 1 FROM r WHERE r.day = x.day AND r.kind = x.kind)
)
INSERT INTO dashboard_email_daily AS x (day, kind, sent, failed, opened, clicked, unsubscribed, queued)
SELECT day, kind, sent, failed, opened, clicked, unsubscribed, queued FROM r
ON CONFLICT (day, kind) DO UPDATE SET sent = EXCLUDED.sent, failed = EXCLUDED.failed, opened = EXCLUDED.opened,
    clicked = EXCLUDED.clicked, unsubscribed = EXCLUDED.unsubscribed, queued = EXCLUDED.queued
WHERE (x.sent, x.failed, x.opened, x.clicked, x.unsubscribed, x.queued) IS DISTINCT FROM
    (EXCLUDED.sent, EXCLUDED.failed, EXCLUDED.opened, EXCLUDED.clicked, EXCLUDED.unsubscribed, EXCLUDED.queued)`

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
