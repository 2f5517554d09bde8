package portal

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/pagecache"
)

// TestEveryChangeToWhatTheOrderPageShowsMovesItsVersion holds the triggers
// of migration 00013 to their promise: the order page's caches are only
// correct if every write to anything the page shows moves the order's
// page_version (or, for settings and the catalog, an epoch), in the same
// transaction. A table left out here would serve stale pages.
func TestEveryChangeToWhatTheOrderPageShowsMovesItsVersion(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	order, lines := f.order(ann, orderSpec{number: "#1", placedAt: utc("2026-03-01T10:00:00Z"),
		items: []item{{"MUG", "Mug", 2, 1200}}})
	other, _ := f.order(f.customer("bob@example.com"), orderSpec{number: "#2", placedAt: utc("2026-03-01T10:00:00Z"),
		items: []item{{"MUG", "Mug", 1, 1200}}})
	ship := f.shipment(order, shipmentSpec{carrier: "UPS", number: "1Z1", status: "in_transit"})
	ctx := context.Background()
	// The order's and its customer's versions, as the page reads them.
	version := func(id int64) int64 {
		var v int64
		if err := f.db.GetContext(ctx, &v, `SELECT o.page_version + c.page_version FROM orders o
			JOIN customers c ON c.id = o.customer_id WHERE o.id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return v
	}
	epoch := func(name string) int64 {
		var v int64
		if err := f.db.GetContext(ctx, &v, `SELECT epoch FROM cache_epochs WHERE name = $1`, name); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var ret int64
	steps := []struct {
		name  string
		write func()
	}{
		{"order updated", func() { f.exec(`UPDATE orders SET number = '#1b' WHERE id = $1`, order) }},
		{"line added", func() {
			f.exec(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor) VALUES ($1, 2, 'TEA', 'Tea', 1, 900)`, order)
		}},
		{"line changed", func() { f.exec(`UPDATE order_items SET title = 'Big mug' WHERE id = $1`, lines[0]) }},
		{"refund", func() {
			f.exec(`INSERT INTO order_refunds (order_id, amount_minor, currency, reference, source) VALUES ($1, 100, 'USD', 'r1', 'api')`, order)
		}},
		{"shipment changed", func() { f.exec(`UPDATE shipments SET status = 'delivered' WHERE id = $1`, ship) }},
		{"parcel contents", func() { f.shipmentItem(ship, lines[0], 2) }},
		{"tracking event", func() { f.event(ship, "in_transit", "Left the depot", "Leeds", utc("2026-03-02T10:00:00Z")) }},
		{"tracking event removed", func() { f.exec(`DELETE FROM tracking_events WHERE shipment_id = $1`, ship) }},
		{"return requested", func() {
			ret = f.id(`INSERT INTO return_requests (rma, order_id, customer_id, idempotency_key, resolution, currency, value_minor, window_ends_at)
				VALUES ('R-ABC123', $1, $2, 'k1', 'refund', 'USD', 1200, now() + interval '30 days') RETURNING id`, order, ann)
		}},
		{"return item", func() {
			f.exec(`INSERT INTO return_items (return_id, order_item_id, quantity, reason, value_minor) VALUES ($1, $2, 1, 'too_small', 1200)`, ret, lines[0])
		}},
		{"return photo", func() {
			f.exec(`INSERT INTO return_photos (return_id, content_type, width, height, data) VALUES ($1, 'image/png', 1, 1, '\x01')`, ret)
		}},
		{"return history", func() {
			f.exec(`INSERT INTO return_events (return_id, status, actor) VALUES ($1, 'approved', 'staff:1')`, ret)
		}},
		{"review", func() {
			f.exec(`INSERT INTO reviews (order_item_id, order_id, customer_id, sku, rating, title, body, author_name)
				VALUES ($1, $2, $3, 'MUG', 5, 'Great', 'Lovely mug', 'Ann')`, lines[0], order, ann)
		}},
		{"customer renamed", func() { f.exec(`UPDATE customers SET name = 'Ann B' WHERE id = $1`, ann) }},
	}
	var before int64
	for _, s := range steps {
		before, beforeOther := version(order), version(other)
		s.write()
		if after := version(order); after <= before {
			t.Errorf("%s: page_version %d -> %d, want it to move", s.name, before, after)
		}
		if version(other) != beforeOther {
			t.Errorf("%s: moved the version of another customer's order", s.name)
		}
	}

	// Lines written with their order in one transaction leave it at version
	// 0 (nobody could have cached it), and a name written again unchanged
	// moves nothing.
	tx := f.db.MustBegin()
	var fresh, freshVersion int64
	if err := tx.Get(&fresh, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency,
			subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, discount_codes, status, content_hash)
		VALUES ('test', 'fresh', '#9', $1, now(), 'USD', 0, 0, 0, 0, 0, '{}', 'open', '\x00') RETURNING id`, ann); err != nil {
		t.Fatal(err)
	}
	tx.MustExec(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor) VALUES ($1, 1, 'MUG', 'Mug', 1, 0)`, fresh)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&freshVersion, `SELECT page_version FROM orders WHERE id = $1`, fresh); err != nil || freshVersion != 0 {
		t.Errorf("a new order's own lines moved its version to %d (%v)", freshVersion, err)
	}
	before = version(order)
	f.exec(`UPDATE customers SET name = name WHERE id = $1`, ann)
	if version(order) != before {
		t.Error("an unchanged name moved the page version")
	}

	// A view is not a change: recording one must not empty the caches.
	before = version(order)
	f.exec(`INSERT INTO tracking_views (order_id) VALUES ($1)`, order)
	if version(order) != before {
		t.Error("a recorded view moved the page version")
	}

	for _, e := range []struct{ epoch, sql string }{
		{"settings", `UPDATE settings SET store_name = 'Fernfield'`},
		{"settings", `INSERT INTO store_settings (section, value, updated_by) VALUES ('returns', '{}', 'test')`},
		{"catalog", `INSERT INTO products (sku, title) VALUES ('KETTLE', 'Kettle')`},
		{"catalog", `UPDATE products SET title = 'Steel kettle' WHERE sku = 'KETTLE'`},
		{"catalog", `INSERT INTO products (sku, title) VALUES ('KETTLE', 'Kettle') ON CONFLICT (sku) DO UPDATE SET title = EXCLUDED.title`},
		{"catalog", `DELETE FROM products WHERE sku = 'KETTLE'`},
		{"catalog", `TRUNCATE product_pairings`},
	} {
		b := epoch(e.epoch)
		f.exec(e.sql)
		if epoch(e.epoch) <= b {
			t.Errorf("%s: the %s epoch did not move", e.sql, e.epoch)
		}
	}

	// A statement that changes no row moves no epoch (migration 00017): a
	// catalog sync sending unchanged products upserts them this way, and
	// must not make every instance render every kept page again.
	f.exec(`INSERT INTO products (sku, title) VALUES ('MUG', 'Mug')`)
	for _, e := range []struct{ epoch, sql string }{
		{"catalog", `INSERT INTO products (sku, title) VALUES ('MUG', 'Mug') ON CONFLICT (sku) DO UPDATE
			SET title = EXCLUDED.title WHERE products.title IS DISTINCT FROM EXCLUDED.title`},
		{"catalog", `UPDATE products SET title = 'Nothing' WHERE sku = 'NO-SUCH-SKU'`},
		{"catalog", `DELETE FROM products WHERE sku = 'NO-SUCH-SKU'`},
		{"settings", `DELETE FROM store_settings WHERE section = 'no-such-section'`},
	} {
		b := epoch(e.epoch)
		f.exec(e.sql)
		if got := epoch(e.epoch); got != b {
			t.Errorf("%s: changed no row but moved the %s epoch %d -> %d", e.sql, e.epoch, b, got)
		}
	}
}

// TestCachedOrderPageShowsEveryChange reads an order page, changes what it
// shows behind its back (as a webhook on another instance would), and reads
// it again: the cached page must never be served once the data moved.
func TestCachedOrderPageShowsEveryChange(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.customer("ann@example.com"), f.customer("bob@example.com")
	order, _ := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T10:00:00Z"),
		items: []item{{"MUG", "Mug", 1, 1200}}})
	ship := f.shipment(order, shipmentSpec{carrier: "UPS", number: "1Z1", status: "in_transit"})
	f.event(ship, "in_transit", "Left the depot", "Leeds", utc("2026-03-02T10:00:00Z"))
	app := testApp(t, f, utc("2026-03-03T10:00:00Z"))
	path := "/orders/" + strconv.FormatInt(order, 10)

	for i := 0; i < 2; i++ { // the second read is served from the caches
		hits := pagecache.Hits.Load()
		if status, body, _ := get(t, app, path, ann); status != http.StatusOK || !strings.Contains(body, "Left the depot") {
			t.Fatalf("read %d: %d %q", i, status, body)
		}
		if got := pagecache.Hits.Load() - hits; (i == 1) != (got == 1) {
			t.Fatalf("read %d: %d cache hits, want %d", i, got, i)
		}
	}
	f.event(ship, "out_for_delivery", "With the driver", "Leeds", utc("2026-03-03T08:00:00Z"))
	if _, body, _ := get(t, app, path, ann); !strings.Contains(body, "With the driver") {
		t.Fatalf("new tracking event not shown after a cached read:\n%s", body)
	}
	f.exec(`UPDATE order_items SET title = 'Enamel mug' WHERE order_id = $1`, order)
	if _, body, _ := get(t, app, path, ann); !strings.Contains(body, "Enamel mug") {
		t.Fatalf("renamed line not shown after a cached read")
	}
	// The cache holds Ann's order; Bob still cannot read it.
	if status, _, _ := get(t, app, path, bob); status != http.StatusNotFound {
		t.Fatalf("another customer got %d for a cached order", status)
	}
	// Settings are cached too, under their own epoch: a new store name shows.
	f.exec(`UPDATE settings SET store_name = 'Kettle & Fern'`)
	if _, body, _ := get(t, app, path, ann); !strings.Contains(body, "Kettle & Fern") {
		t.Fatalf("renamed store not shown after a cached read")
	}
}

// TestViewRecorderWritesEveryViewInBatches records views from many
// goroutines and checks that Close leaves every one of them stored, and
// that views of an order erased meanwhile are skipped rather than failing
// the batch.
func TestViewRecorderWritesEveryViewInBatches(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	a, _ := f.order(ann, orderSpec{number: "#1", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	gone, _ := f.order(ann, orderSpec{number: "#2", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	r := NewViewRecorder(f.db, nil)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 500; i++ {
				r.Record(a, time.Now())
			}
			done <- struct{}{}
		}()
	}
	r.Record(gone, time.Now())
	f.exec(`DELETE FROM orders WHERE id = $1`, gone)
	for g := 0; g < 8; g++ {
		<-done
	}
	r.Close()
	r.Close() // a second Close (Serve, then App.Close) is harmless
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM tracking_views WHERE order_id = $1`, a); err != nil {
		t.Fatal(err)
	}
	if n != 4000 {
		t.Fatalf("%d views stored, want 4000", n)
	}
}

// TestErasingAnOrderForgetsItsViews checks what the dropped foreign key
// did (migration 00016): deleting orders deletes their views, and only
// theirs.
func TestErasingAnOrderForgetsItsViews(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	kept, _ := f.order(ann, orderSpec{number: "#1", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	gone, _ := f.order(ann, orderSpec{number: "#2", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	also, _ := f.order(ann, orderSpec{number: "#3", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	f.exec(`INSERT INTO tracking_views (order_id) SELECT unnest($1::bigint[]) FROM generate_series(1, 3)`, pq.Array([]int64{kept, gone, also}))
	f.exec(`DELETE FROM orders WHERE id = ANY($1)`, pq.Array([]int64{gone, also}))
	var views []int64
	if err := f.db.Select(&views, `SELECT order_id FROM tracking_views ORDER BY order_id`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(views, []int64{kept, kept, kept}) {
		t.Fatalf("views left: %v, want the three of order %d", views, kept)
	}
}
