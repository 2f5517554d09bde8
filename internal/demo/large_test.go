package demo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/demo"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/portal"
)

var tiny = demo.Size{Customers: 200, Orders: 600, Events: 2000}

func seedTiny(t *testing.T) *sqlx.DB {
	t.Helper()
	demo.CheckReferences()
	db := pgtest.DB(t)
	var out strings.Builder
	if err := demo.SeedLarge(context.Background(), db, tiny, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "tracking_events") {
		t.Errorf("no progress line for tracking_events:\n%s", out.String())
	}
	return db
}

func count(t *testing.T, db *sqlx.DB, q string) float64 {
	t.Helper()
	var n float64
	if err := db.Get(&n, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestSeedLargeCountsAndProportions(t *testing.T) {
	db := seedTiny(t)
	for q, want := range map[string]float64{
		`SELECT count(*) FROM customers`:                                                                   200,
		`SELECT count(*) FROM orders`:                                                                      600,
		`SELECT count(*) FROM tracking_events`:                                                             2000,
		`SELECT count(*) FROM products`:                                                                    40,
		`SELECT count(*) FROM products WHERE guide_md <> ''`:                                               12,
		`SELECT count(*) FROM customers WHERE email = '` + demo.ShopperEmail + `' AND id = 1`:              1,
		`SELECT count(*) FROM settings WHERE time_zone = 'America/New_York' AND store_name <> 'Our store'`: 1,
	} {
		if got := count(t, db, q); got != want {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
	between := func(name, q string, lo, hi float64) {
		t.Helper()
		if got := count(t, db, q); got < lo || got > hi {
			t.Errorf("%s = %.3f, want between %v and %v", name, got, lo, hi)
		}
	}
	delivered := `(SELECT count(DISTINCT order_id) FROM shipments WHERE status = 'delivered')`
	between("USD share", `SELECT avg((currency = 'USD')::int) FROM orders`, 0.65, 0.95)
	between("currencies", `SELECT count(DISTINCT currency) FROM orders`, 3, 4)
	between("shipped share", `SELECT count(DISTINCT order_id)::float / 600 FROM shipments`, 0.85, 1)
	between("returns per delivered order", `SELECT count(*)::float / `+delivered+` FROM return_requests`, 0.02, 0.12)
	between("return statuses", `SELECT count(DISTINCT status) FROM return_requests`, 3, 10)
	between("reviews per delivered line", `SELECT count(*)::float / (SELECT count(*) FROM order_items i JOIN shipments s ON s.order_id = i.order_id AND s.status = 'delivered') FROM reviews`, 0.07, 0.2)
	between("average rating", `SELECT avg(rating) FROM reviews`, 3.8, 4.7)
	between("published share", `SELECT avg((status = 'published')::int) FROM reviews`, 0.75, 0.97)
	between("referred orders", `SELECT avg((referral_code <> '')::int) FROM orders`, 0.005, 0.07)
	between("codes per customer", `SELECT count(*)::float / 200 FROM referral_codes`, 0.7, 0.9)
	between("rewards per converted referral", `SELECT count(*)::float / greatest(1, (SELECT count(*) FROM referrals WHERE status = 'converted')) FROM rewards`, 1, 1)
	between("review request emails", `SELECT count(*) FROM messages WHERE kind = 'review_request' AND status = 'sent' AND sent_at IS NOT NULL`, 50, 600)
	between("queued emails", `SELECT count(*) FROM messages WHERE status = 'queued'`, 0, 0)
	between("opened emails", `SELECT count(DISTINCT message_id)::float / (SELECT count(*) FROM messages) FROM message_events WHERE kind = 'open'`, 0.3, 0.6)
	between("refunded orders", `SELECT count(*) FROM orders WHERE refunded_minor > 0`, 5, 80)
	between("tracking views", `SELECT count(*) FROM tracking_views`, 300, 1500)
	between("jobs queued", `SELECT count(*) FROM river_job`, 0, 0)
}

func TestSeedLargeInvariants(t *testing.T) {
	db := seedTiny(t)
	for name, q := range map[string]string{
		"subtotal is the sum of the lines": `SELECT count(*) FROM orders o WHERE subtotal_minor <>
			(SELECT sum(quantity * unit_price_minor) FROM order_items WHERE order_id = o.id)`,
		"total is subtotal - discount + shipping + tax": `SELECT count(*) FROM orders
			WHERE total_minor <> subtotal_minor - discount_minor + shipping_minor + tax_minor OR total_minor <= 0`,
		"refunded is the sum of the refunds": `SELECT count(*) FROM orders o WHERE refunded_minor <>
			coalesce((SELECT sum(amount_minor) FROM order_refunds WHERE order_id = o.id), 0)`,
		"status follows the refunds": `SELECT count(*) FROM orders WHERE status <> 'cancelled' AND status <> CASE
			WHEN refunded_minor = 0 THEN 'open' WHEN refunded_minor = total_minor THEN 'refunded' ELSE 'partially_refunded' END`,
		"events strictly increase": `SELECT count(*) FROM (SELECT occurred_at <= lag(occurred_at) OVER (PARTITION BY shipment_id ORDER BY id) AS bad
			FROM tracking_events) e WHERE bad`,
		"shipment status is its last event's": `SELECT count(*) FROM shipments s WHERE status <> (SELECT status FROM tracking_events
			WHERE shipment_id = s.id ORDER BY occurred_at DESC, id DESC LIMIT 1) OR last_event_at <> (SELECT max(occurred_at) FROM tracking_events WHERE shipment_id = s.id)`,
		"delivered parcels have delivered_at": `SELECT count(*) FROM shipments WHERE (status = 'delivered') <> (delivered_at IS NOT NULL)`,
		"every event after the order": `SELECT count(*) FROM tracking_events e JOIN shipments s ON s.id = e.shipment_id
			JOIN orders o ON o.id = s.order_id WHERE e.occurred_at < o.placed_at OR e.occurred_at > now()`,
		"cancelled orders are not shipped": `SELECT count(*) FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.status = 'cancelled'`,
		"return items belong to the return's order": `SELECT count(*) FROM return_items ri JOIN return_requests rr ON rr.id = ri.return_id
			JOIN order_items oi ON oi.id = ri.order_item_id WHERE oi.order_id <> rr.order_id OR ri.quantity > oi.quantity`,
		"return value is its items'": `SELECT count(*) FROM return_requests rr WHERE value_minor <> (SELECT sum(value_minor) FROM return_items WHERE return_id = rr.id)`,
		"returns only of delivered orders, after delivery": `SELECT count(*) FROM return_requests rr WHERE NOT EXISTS
			(SELECT 1 FROM shipments s WHERE s.order_id = rr.order_id AND s.status = 'delivered' AND s.delivered_at < rr.created_at)`,
		"reviews only of delivered lines, by their buyer": `SELECT count(*) FROM reviews r JOIN order_items oi ON oi.id = r.order_item_id
			JOIN orders o ON o.id = oi.order_id WHERE o.id <> r.order_id OR o.customer_id <> r.customer_id OR oi.sku <> r.sku
			OR NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id AND s.status = 'delivered' AND s.delivered_at < r.created_at)`,
		"every shipment carries its whole order": `SELECT count(*) FROM order_items oi JOIN shipments s ON s.order_id = oi.order_id
			WHERE NOT EXISTS (SELECT 1 FROM shipment_items si WHERE si.shipment_id = s.id AND si.order_item_id = oi.id AND si.quantity = oi.quantity)`,
		"referred orders carry their referrer's code": `SELECT count(*) FROM referrals r JOIN orders o ON o.id = r.order_id
			JOIN referral_codes c ON c.id = r.code_id WHERE o.referral_code <> c.code OR o.customer_id <> r.friend_customer_id
			OR c.customer_id = o.customer_id OR r.created_at > o.placed_at`,
		"review requests are sent with their step": `SELECT count(*) FROM journey_steps s LEFT JOIN messages m ON m.id = s.message_id
			WHERE (s.state = 'sent') <> (m.kind = 'review_request' AND m.dedupe_key = s.key)`,
		"customers exist before their orders": `SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.created_at > o.placed_at`,
	} {
		if n := count(t, db, q); n != 0 {
			t.Errorf("%s: %v rows break it", name, n)
		}
	}
	// The sequences moved past the seeded ids: the next insert works.
	if _, err := db.Exec(`INSERT INTO customers (email, name) VALUES ('new@example.com', 'New')`); err != nil {
		t.Errorf("insert after the seed: %v", err)
	}
}

func TestSeedLargeRefusesAStoreWithOrders(t *testing.T) {
	db := seedTiny(t)
	err := demo.SeedLarge(context.Background(), db, tiny, nil)
	if err == nil || !strings.Contains(err.Error(), "empty store") {
		t.Fatalf("second seed: %v, want a refusal", err)
	}
	if n := count(t, db, `SELECT count(*) FROM orders`); n != 600 {
		t.Errorf("orders after the refused seed: %v", n)
	}
}

func TestSeedLargeIsDeterministic(t *testing.T) {
	sum := `SELECT md5(string_agg(concat_ws(',', o.id, o.customer_id, o.currency, o.total_minor, o.status, c.email), ';' ORDER BY o.id))
		FROM orders o JOIN customers c ON c.id = o.customer_id`
	var a, b string
	if err := seedTiny(t).Get(&a, sum); err != nil {
		t.Fatal(err)
	}
	if err := seedTiny(t).Get(&b, sum); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("two seeds differ: %s vs %s", a, b)
	}
}

// The portal reads a seeded order the way the order page does.
func TestSeedLargeOrdersReadThroughThePortal(t *testing.T) {
	db := seedTiny(t)
	ctx := context.Background()
	orders := portal.NewOrders(db)
	list, err := orders.List(ctx, 1)
	if err != nil || len(list) < 3 {
		t.Fatalf("the demo shopper's orders: %d, %v", len(list), err)
	}
	var id int64
	if err := db.Get(&id, `SELECT o.id FROM orders o JOIN shipments s ON s.order_id = o.id
		WHERE s.status = 'delivered' AND o.customer_id <> 1 ORDER BY o.id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	var cust int64
	if err := db.Get(&cust, `SELECT customer_id FROM orders WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	o, err := orders.Get(ctx, cust, id)
	if err != nil {
		t.Fatalf("portal get: %v", err)
	}
	if len(o.Items) == 0 || len(o.Shipments) != 1 || len(o.Shipments[0].Events) < 3 {
		t.Fatalf("order %d read back with %d items, %d shipments", id, len(o.Items), len(o.Shipments))
	}
	if last := o.Shipments[0].Events[0]; last.Status != "delivered" { // newest first
		t.Errorf("last event %q, want delivered", last.Status)
	}
}
