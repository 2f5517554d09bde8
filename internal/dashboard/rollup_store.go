package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The rollup side of the store: the same rows as the live queries, summed
// from the daily rollups. A Period is whole store days, so its figures are
// the sum of its days' rows. from and to are dates (YYYY-MM-DD), inclusive.

// rollupReady tells whether the rollups exist for days in zone.
func (s store) rollupReady(ctx context.Context, zone string) (bool, error) {
	var z string
	err := s.db.GetContext(ctx, &z, `SELECT zone FROM dashboard_rollup_state`)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dashboard: rollup state: %w", err)
	}
	return z == zone, nil
}

func (s store) salesRollup(ctx context.Context, from, to string) ([]salesRow, error) {
	var rows []salesRow
	err := s.db.SelectContext(ctx, &rows, `
SELECT currency, sum(orders)::bigint AS orders, sum(gross)::bigint AS gross, sum(refunded)::bigint AS refunded, sum(items)::bigint AS items
FROM dashboard_sales_daily WHERE day >= $1::date AND day <= $2::date
GROUP BY currency ORDER BY currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: sales: %w", err)
	}
	return rows, nil
}

// lifetimeRollup counts each customer once per currency, on the day of
// their first order in it.
func (s store) lifetimeRollup(ctx context.Context, to string) ([]lifetimeRow, error) {
	var rows []lifetimeRow
	err := s.db.SelectContext(ctx, &rows, `
SELECT currency, sum(new_buyers)::bigint AS customers, sum(gross - refunded)::bigint AS net
FROM dashboard_sales_daily WHERE day <= $1::date
GROUP BY currency ORDER BY currency`, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: lifetime value: %w", err)
	}
	return rows, nil
}

func (s store) dailyRollup(ctx context.Context, from, to string) ([]dayRow, error) {
	var rows []dayRow
	err := s.db.SelectContext(ctx, &rows, `
SELECT day, currency, orders, gross - refunded AS revenue
FROM dashboard_sales_daily WHERE day >= $1::date AND day <= $2::date
ORDER BY day, currency`, from, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: daily: %w", err)
	}
	return rows, nil
}

func (s store) emailsRollup(ctx context.Context, from, to string) ([]emailRow, error) {
	var rows []emailRow
	err := s.db.SelectContext(ctx, &rows, `
SELECT kind, sum(sent)::bigint AS sent, sum(failed)::bigint AS failed, sum(opened)::bigint AS opened,
       sum(clicked)::bigint AS clicked, sum(unsubscribed)::bigint AS unsubscribed
FROM dashboard_email_daily WHERE day >= $1::date AND day <= $2::date
GROUP BY kind ORDER BY kind`, from, to)
	if err != nil {
		return nil, fmt.Errorf("dashboard: emails: %w", err)
	}
	return rows, nil
}

// reviewsRollup takes the requests sent from the email rollup and the
// reviews (a few a day) live.
func (s store) reviewsRollup(ctx context.Context, p Period) (reviewRow, error) {
	var r reviewRow
	err := s.db.GetContext(ctx, &r, `
WITH asked AS (
    SELECT coalesce(sum(sent), 0)::bigint AS n FROM dashboard_email_daily
    WHERE kind = 'review_request' AND day >= $3::date AND day <= $4::date
), written AS (
    SELECT count(*) AS n, coalesce(avg(rating), 0)::float8 AS avg FROM reviews
    WHERE created_at >= $1 AND created_at < $2
)
SELECT asked.n AS requests, written.n AS reviews, written.avg AS avg_rating FROM asked, written`,
		p.Start, p.End, p.From.Format(dateFmt), p.To.Format(dateFmt))
	if err != nil {
		return r, fmt.Errorf("dashboard: reviews: %w", err)
	}
	return r, nil
}

const dateFmt = "2006-01-02"
