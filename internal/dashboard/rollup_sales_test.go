package dashboard

import (
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// salesFromScratch is the sales rollup computed anew from every order,
// one row per store day and currency, as text.
const salesFromScratch = `
WITH o AS (SELECT * FROM orders WHERE status <> 'cancelled'),
f AS (SELECT customer_id, currency, min(placed_at) AS first FROM o GROUP BY 1, 2),
it AS (SELECT order_id, sum(quantity) AS q FROM order_items GROUP BY 1),
s AS (
    SELECT (o.placed_at AT TIME ZONE (SELECT time_zone FROM settings))::date AS day, o.currency, count(*) AS orders,
           sum(o.total_minor) AS gross, sum(o.refunded_minor) AS refunded, coalesce(sum(it.q), 0) AS items,
           count(DISTINCT o.customer_id) FILTER (WHERE o.placed_at = f.first) AS new_buyers
    FROM o LEFT JOIN f ON f.customer_id = o.customer_id AND f.currency = o.currency LEFT JOIN it ON it.order_id = o.id
    GROUP BY 1, 2)
SELECT coalesce(string_agg(format('%s %s orders=%s gross=%s refunded=%s items=%s new=%s',
    day, currency, orders, gross, refunded, items, new_buyers), E'\n' ORDER BY day, currency), '') FROM s`

// salesRolledUp is dashboard_sales_daily in the form of salesFromScratch.
const salesRolledUp = `
SELECT coalesce(string_agg(format('%s %s orders=%s gross=%s refunded=%s items=%s new=%s',
    day, currency, orders, gross, refunded, items, new_buyers), E'\n' ORDER BY day, currency), '')
FROM dashboard_sales_daily`

// exactSales checks every day's sales rollup against the count from
// scratch after a refresh at now.
func exactSales(t *testing.T, db *sqlx.DB, now time.Time, step string) {
	t.Helper()
	exactRollup(t, db, now, step, salesFromScratch, salesRolledUp)
}

// TestRollupSalesStayExactAsOrdersChange drives the refresh with a clock
// through what happens to orders after they are counted: refunded,
// cancelled (a customer's first order, a day's only order), reopened,
// edited (total and lines), moved to another customer, placed on an old
// day (a customer's new first order), committed late (stamped before the
// last refresh, within lateMargin), and a new time zone. After every
// refresh each day's row equals the count from scratch.
func TestRollupSalesStayExactAsOrdersChange(t *testing.T) {
	db := pgtest.DB(t)
	exec := execer(t, db)
	exec(`UPDATE settings SET time_zone = 'Europe/Berlin'`)
	exec(`INSERT INTO customers (id, email, name) VALUES (1, 'ann@example.com', 'Ann'), (2, 'bob@example.com', 'Bob'),
	      (3, 'cy@example.com', 'Cy')`)
	order := func(id, customer int, placed, currency string, total int64, status string, updated time.Time) {
		t.Helper()
		exec(`INSERT INTO orders (id, source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor,
		      status, content_hash, updated_at) VALUES ($1::bigint, 'api', $1::bigint::text, '#'||$1::bigint::text, $2, $3, $4, $5, $5, $6, '\x00', $7)`,
			id, customer, placed, currency, total, status, updated)
		exec(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor) VALUES ($1, 1, 'MUG', 'Mug', 2, $2)`, id, total/2)
	}
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	after := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

	order(1, 1, "2026-03-01T10:00:00Z", "EUR", 4000, "open", after(-600))
	order(2, 1, "2026-03-03T10:00:00Z", "EUR", 6000, "open", after(-600))
	order(3, 2, "2026-03-03T23:30:00Z", "USD", 2500, "open", after(-600)) // 4 March in Berlin
	order(4, 2, "2026-03-03T11:00:00Z", "USD", 9900, "cancelled", after(-600))
	order(5, 3, "2026-03-10T11:00:00Z", "EUR", 1500, "open", after(-60))
	order(6, 3, "2026-03-10T11:30:00Z", "EUR", 700, "open", after(-30))
	exactSales(t, db, t0, "first refresh (rebuild)")

	// After the refresh: a refund, Ann's first order (1 March's only one)
	// cancelled, and an old order that is Bob's new first one.
	exec(`UPDATE orders SET refunded_minor = 3000, status = 'partially_refunded', updated_at = $1 WHERE id = 2`, after(0).Add(30*time.Second))
	exec(`UPDATE orders SET status = 'cancelled', updated_at = $1 WHERE id = 1`, after(0).Add(30*time.Second))
	order(7, 2, "2026-03-02T09:00:00Z", "USD", 1200, "open", after(0).Add(40*time.Second))
	exactSales(t, db, after(1), "refund, cancelled first order, new old order")

	// A late commit: an edit stamped before the last refresh, written after.
	exec(`UPDATE orders SET total_minor = 3500, updated_at = $1 WHERE id = 3`, after(0).Add(50*time.Second))
	exec(`UPDATE order_items SET quantity = 5 WHERE order_id = 3`)
	exactSales(t, db, after(2), "late commit")

	// Reopened, moved to another customer, and the same refresh again.
	exec(`UPDATE orders SET status = 'open', updated_at = $1 WHERE id = 1`, after(3))
	exec(`UPDATE orders SET customer_id = 1, updated_at = $1 WHERE id = 5`, after(3))
	exec(`UPDATE orders SET customer_id = 3, updated_at = $1 WHERE id = 7`, after(3)) // Bob's first USD order is Cy's now
	exactSales(t, db, after(5), "reopened, moved to Ann")
	exactSales(t, db, after(5), "the same refresh again")
	exec(`UPDATE orders SET currency = 'USD', placed_at = '2026-03-01T09:00:00Z', updated_at = $1 WHERE id = 6`, after(6))
	exactSales(t, db, after(20), "the margin has passed")
	exactSales(t, db, after(40), "nothing changed")

	exec(`UPDATE settings SET time_zone = 'UTC'`)
	exactSales(t, db, after(41), "in UTC")
}
