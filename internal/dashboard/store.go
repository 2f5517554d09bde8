package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// store runs the dashboard's read-only SQL. Every query takes a half-open
// window [from, to) and, where it groups by day, the store's time zone name,
// so a day is the shop's calendar day, not UTC's.
type store struct{ db *sqlx.DB }

// salesRow is one currency's order figures in a window. Revenue is net of
// refunds; cancelled orders are not sales.
type salesRow struct {
	Currency string `db:"currency"`
	Orders   int64  `db:"orders"`
	Gross    int64  `db:"gross"`
	Refunded int64  `db:"refunded"`
	Items    int64  `db:"items"`
}

func (s store) sales(ctx context.Context, from, to time.Time) ([]salesRow, error) {
	var rows []salesRow
	err := sqlx.SelectContext(ctx, s.db, &rows, `
WITH o AS (
    SELECT id, currency, total_minor, refunded_minor FROM orders
    WHERE placed_at >= $1 AND placed_at < $2 AND status <> 'cancelled'
), items AS (
    SELECT oi.order_id, sum(oi.quantity) AS qty FROM order_items oi JOIN o ON o.id = oi.order_id GROUP BY oi.order_id
)
SELECT o.currency, count(*) AS orders, coalesce(sum(o.total_minor), 0)::bigint AS gross,
       coalesce(sum(o.refunded_minor), 0)::bigint AS refunded, coalesce(sum(items.qty), 0)::bigint AS items
FROM o LEFT JOIN items ON items.order_id = o.id
GROUP BY o.currency ORDER BY o.currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: sales: %w", err)
	}
	return rows, nil
}

// lifetimeRow is, per currency, what customers who ever ordered spent (net
// of refunds) up to the end of a window: the average customer lifetime value
// is Net / Customers.
type lifetimeRow struct {
	Currency  string `db:"currency"`
	Customers int64  `db:"customers"`
	Net       int64  `db:"net"`
}

func (s store) lifetime(ctx context.Context, to time.Time) ([]lifetimeRow, error) {
	var rows []lifetimeRow
	err := sqlx.SelectContext(ctx, s.db, &rows, `
SELECT currency, count(DISTINCT customer_id) AS customers, sum(total_minor - refunded_minor)::bigint AS net
FROM orders WHERE placed_at < $1 AND status <> 'cancelled'
GROUP BY currency ORDER BY currency`, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: lifetime value: %w", err)
	}
	return rows, nil
}

// customerRow counts the customers who ordered in a window and those of them
// with an earlier (non-cancelled) order or a second one inside it.
type customerRow struct {
	Buyers    int64 `db:"buyers"`
	Repeaters int64 `db:"repeaters"`
	// Views are order-page openings ("where is my order"), Parcels the
	// shipments created, both in the period.
	Views   int64 `db:"views"`
	Parcels int64 `db:"parcels"`
}

func (s store) customers(ctx context.Context, from, to time.Time) (customerRow, error) {
	var r customerRow
	err := sqlx.GetContext(ctx, s.db, &r, `
WITH w AS (
    SELECT customer_id, count(*) AS n FROM orders
    WHERE placed_at >= $1 AND placed_at < $2 AND status <> 'cancelled'
    GROUP BY customer_id
),
-- A buyer repeats with a second order in the window or any earlier one.
-- Written as a join rather than EXISTS per buyer, so that for a long period
-- (100k buyers) the planner can read the earlier orders in one hash join
-- instead of probing the index once per buyer.
earlier AS (
    SELECT DISTINCT o.customer_id FROM orders o
    WHERE o.placed_at < $1 AND o.status <> 'cancelled' AND o.customer_id IN (SELECT customer_id FROM w)
)
SELECT count(*) AS buyers,
       count(*) FILTER (WHERE w.n >= 2 OR e.customer_id IS NOT NULL) AS repeaters,
       (SELECT count(*) FROM tracking_views WHERE viewed_at >= $1 AND viewed_at < $2) AS views,
       (SELECT count(*) FROM shipments WHERE created_at >= $1 AND created_at < $2) AS parcels
FROM w LEFT JOIN earlier e ON e.customer_id = w.customer_id`, from, to)
	if err != nil {
		return r, fmt.Errorf("dashboard: customers: %w", err)
	}
	return r, nil
}

// dayRow is one day and currency of the daily series.
type dayRow struct {
	Day      time.Time `db:"day"`
	Currency string    `db:"currency"`
	Orders   int64     `db:"orders"`
	Revenue  int64     `db:"revenue"`
}

func (s store) daily(ctx context.Context, from, to time.Time, zone string) ([]dayRow, error) {
	var rows []dayRow
	err := sqlx.SelectContext(ctx, s.db, &rows, `
SELECT date_trunc('day', placed_at AT TIME ZONE $3)::date AS day, currency,
       count(*) AS orders, sum(total_minor - refunded_minor)::bigint AS revenue
FROM orders
WHERE placed_at >= $1 AND placed_at < $2 AND status <> 'cancelled'
GROUP BY 1, 2 ORDER BY 1, 2`, from, to, zone)
	if err != nil {
		return nil, fmt.Errorf("dashboard: daily: %w", err)
	}
	return rows, nil
}

// returnRow is one reason's returned items and value in one currency, of
// the return requests opened in the window that were not rejected or
// cancelled.
type returnRow struct {
	Reason   string `db:"reason"`
	Currency string `db:"currency"`
	Items    int64  `db:"items"`
	Value    int64  `db:"value"`
}

func (s store) returns(ctx context.Context, from, to time.Time) ([]returnRow, error) {
	var rows []returnRow
	err := sqlx.SelectContext(ctx, s.db, &rows, `
SELECT ri.reason, rr.currency, sum(ri.quantity)::bigint AS items, sum(ri.value_minor)::bigint AS value
FROM return_items ri JOIN return_requests rr ON rr.id = ri.return_id
WHERE rr.created_at >= $1 AND rr.created_at < $2 AND rr.status NOT IN ('rejected', 'cancelled')
GROUP BY ri.reason, rr.currency ORDER BY items DESC, ri.reason, rr.currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: returns: %w", err)
	}
	return rows, nil
}

// reviewRow is the review conversion of a window: review requests sent and
// reviews written, with their average rating (0 when none).
type reviewRow struct {
	Requests  int64   `db:"requests"`
	Reviews   int64   `db:"reviews"`
	AvgRating float64 `db:"avg_rating"`
}

func (s store) reviews(ctx context.Context, from, to time.Time) (reviewRow, error) {
	var r reviewRow
	err := sqlx.GetContext(ctx, s.db, &r, `
WITH asked AS (
    SELECT count(*) AS n FROM messages
    WHERE kind = 'review_request' AND status IN ('sent', 'kept') AND created_at >= $1 AND created_at < $2
), written AS (
    SELECT count(*) AS n, coalesce(avg(rating), 0)::float8 AS avg FROM reviews
    WHERE created_at >= $1 AND created_at < $2
)
SELECT asked.n AS requests, written.n AS reviews, written.avg AS avg_rating FROM asked, written`, from, to)
	if err != nil {
		return r, fmt.Errorf("dashboard: reviews: %w", err)
	}
	return r, nil
}

// emailRow is one email kind's delivery and engagement in a window: sent
// counts messages delivered (or kept by the dev mailbox); opened, clicked
// and unsubscribed count messages with at least one such event.
type emailRow struct {
	Kind         string `db:"kind"`
	Sent         int64  `db:"sent"`
	Failed       int64  `db:"failed"`
	Opened       int64  `db:"opened"`
	Clicked      int64  `db:"clicked"`
	Unsubscribed int64  `db:"unsubscribed"`
}

func (s store) emails(ctx context.Context, from, to time.Time) ([]emailRow, error) {
	var rows []emailRow
	err := sqlx.SelectContext(ctx, s.db, &rows, `
WITH m AS (
    SELECT id, kind, status FROM messages WHERE created_at >= $1 AND created_at < $2
), ev AS (
    SELECT message_id, bool_or(kind = 'open') AS opened, bool_or(kind = 'click') AS clicked,
           bool_or(kind = 'unsubscribe') AS unsubscribed
    FROM message_events WHERE message_id IN (SELECT id FROM m) GROUP BY message_id
)
SELECT m.kind,
       count(*) FILTER (WHERE m.status IN ('sent', 'kept')) AS sent,
       count(*) FILTER (WHERE m.status = 'failed') AS failed,
       count(*) FILTER (WHERE ev.opened) AS opened,
       count(*) FILTER (WHERE ev.clicked) AS clicked,
       count(*) FILTER (WHERE ev.unsubscribed) AS unsubscribed
FROM m LEFT JOIN ev ON ev.message_id = m.id
GROUP BY m.kind ORDER BY m.kind`, from, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: emails: %w", err)
	}
	return rows, nil
}

// funnelRow is the referral funnel of a window: codes created, visits to
// share links, friend codes handed out, referred orders converted, and
// rewards granted for them.
type funnelRow struct {
	Codes     int64 `db:"codes"`
	Visits    int64 `db:"visits"`
	Friends   int64 `db:"friends"`
	Converted int64 `db:"converted"`
	Rewards   int64 `db:"rewards"`
}

func (s store) funnel(ctx context.Context, from, to time.Time) (funnelRow, error) {
	var r funnelRow
	err := sqlx.GetContext(ctx, s.db, &r, `
SELECT
  (SELECT count(*) FROM referral_codes WHERE created_at >= $1 AND created_at < $2) AS codes,
  (SELECT count(*) FROM referral_visits WHERE created_at >= $1 AND created_at < $2) AS visits,
  (SELECT count(*) FROM referrals WHERE promotion_code IS NOT NULL AND created_at >= $1 AND created_at < $2) AS friends,
  (SELECT count(*) FROM referrals WHERE converted_at >= $1 AND converted_at < $2) AS converted,
  (SELECT count(*) FROM rewards WHERE kind = 'referral' AND granted_at >= $1 AND granted_at < $2) AS rewards`, from, to)
	if err != nil {
		return r, fmt.Errorf("dashboard: referral funnel: %w", err)
	}
	return r, nil
}
