package portal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture writes customers, orders, shipments and events straight into a
// fresh test database, the way the commerce package would leave them.
type fixture struct {
	t  *testing.T
	db *sqlx.DB
	n  int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, db: pgtest.DB(t)}
}

func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.db.ExecContext(context.Background(), query, args...); err != nil {
		f.t.Fatalf("fixture: %v\n%s", err, query)
	}
}

func (f *fixture) id(query string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.GetContext(context.Background(), &id, query, args...); err != nil {
		f.t.Fatalf("fixture: %v\n%s", err, query)
	}
	return id
}

func (f *fixture) timeZone(zone string) {
	f.exec(`UPDATE settings SET time_zone = $1`, zone)
}

func (f *fixture) customer(email string) int64 {
	return f.id(`INSERT INTO customers (email, name) VALUES ($1, $2) RETURNING id`, email, "Shopper "+email)
}

type item struct {
	sku, title string
	qty        int
	price      int64
}

type orderSpec struct {
	number   string
	placedAt time.Time
	status   string // "" = open
	discount int64
	shipping int64
	tax      int64
	codes    []string
	items    []item
}

// order inserts an order with its lines and returns its id and the line ids.
func (f *fixture) order(customerID int64, o orderSpec) (int64, []int64) {
	f.t.Helper()
	f.n++
	if o.status == "" {
		o.status = "open"
	}
	if o.codes == nil {
		o.codes = []string{}
	}
	var subtotal int64
	for _, it := range o.items {
		subtotal += it.price * int64(it.qty)
	}
	total := subtotal - o.discount + o.shipping + o.tax
	id := f.id(`INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor,
			discount_minor, shipping_minor, tax_minor, total_minor, discount_codes, status, content_hash)
		VALUES ('test', $1, $2, $3, $4, 'USD', $5, $6, $7, $8, $9, $10, $11, '\x00') RETURNING id`,
		fmt.Sprint("ext-", f.n), o.number, customerID, o.placedAt, subtotal, o.discount, o.shipping, o.tax, total,
		pq.Array(o.codes), o.status)
	var lines []int64
	for i, it := range o.items {
		lines = append(lines, f.id(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, id, i+1, it.sku, it.title, it.qty, it.price))
	}
	return id, lines
}

type shipmentSpec struct {
	carrier, number, url, status string
	eta                          string // "2026-03-04" or ""
	deliveredAt                  *time.Time
}

func (f *fixture) shipment(orderID int64, s shipmentSpec) int64 {
	f.t.Helper()
	var eta any
	if s.eta != "" {
		eta = s.eta
	}
	return f.id(`INSERT INTO shipments (order_id, carrier, tracking_number, tracking_url, status, estimated_delivery, delivered_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		orderID, s.carrier, s.number, s.url, s.status, eta, s.deliveredAt)
}

func (f *fixture) shipmentItem(shipmentID, orderItemID int64, qty int) {
	f.exec(`INSERT INTO shipment_items (shipment_id, order_item_id, quantity) VALUES ($1, $2, $3)`, shipmentID, orderItemID, qty)
}

func (f *fixture) event(shipmentID int64, status, detail, location string, at time.Time) {
	f.n++
	f.exec(`INSERT INTO tracking_events (shipment_id, status, detail, location, occurred_at, provider_event_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, shipmentID, status, detail, location, at, fmt.Sprint("evt-", f.n))
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("zone %s: %v", name, err)
	}
	return loc
}
