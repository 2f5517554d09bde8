package notify_test

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/notify"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const baseURL = "http://shop.test"

var linkPattern = regexp.MustCompile(`http://shop\.test/m/[A-Za-z0-9._-]+`)

type fixture struct {
	db        *sqlx.DB
	links     *auth.Links
	composers map[string]mail.Composer
	order     int64
	customer  int64
	shipment  int64
	events    map[string]int64
}

// seed inserts a store, a customer, an order of two lines and a shipment
// with its tracking events, as commerce would have stored them.
func seed(t *testing.T) *fixture {
	t.Helper()
	d := pgtest.DB(t)
	f := &fixture{db: d, events: map[string]int64{}}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	get := func(dst *int64, q string, args ...any) {
		t.Helper()
		if err := d.Get(dst, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`UPDATE settings SET store_name = 'Fern & Field', store_url = 'https://fernfield.example', logo_url = 'https://fernfield.example/logo.png',
		accent_color = '#aa3300', support_email = 'help@fernfield.example', time_zone = 'America/New_York'`)
	get(&f.customer, `INSERT INTO customers (email, name) VALUES ('ada@example.com', 'Ada Lovelace') RETURNING id`)
	var product int64
	get(&product, `INSERT INTO products (sku, title, image_url) VALUES ('MUG-1', 'Stoneware mug', 'https://fernfield.example/mug.png') RETURNING id`)
	get(&f.order, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, discount_minor,
		shipping_minor, tax_minor, total_minor, discount_codes, content_hash)
		VALUES ('api', 'ext-1', '1042', $1, '2026-03-02T15:00:00Z', 'USD', 5400, 500, 0, 392, 5292, '{WELCOME10}', '\x00') RETURNING id`, f.customer)
	var mug, towel int64
	get(&mug, `INSERT INTO order_items (order_id, line_no, sku, product_id, title, quantity, unit_price_minor)
		VALUES ($1, 1, 'MUG-1', $2, 'Stoneware mug', 2, 1800) RETURNING id`, f.order, product)
	get(&towel, `INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor)
		VALUES ($1, 2, 'TOWEL-1', 'Linen tea towel', 1, 1800) RETURNING id`, f.order)
	get(&f.shipment, `INSERT INTO shipments (order_id, carrier, tracking_number, tracking_url, status, estimated_delivery, shipped_at, delivered_at)
		VALUES ($1, 'UPS', '1Z999AA10123456784', 'https://www.ups.com/track?tracknum=1Z999AA10123456784', 'delivered', '2026-03-05',
		'2026-03-03T14:00:00Z', '2026-03-05T03:30:00Z') RETURNING id`, f.order)
	exec(`INSERT INTO shipment_items (shipment_id, order_item_id, quantity) VALUES ($1, $2, 2), ($1, $3, 1)`, f.shipment, mug, towel)
	for _, e := range []struct{ status, detail, location, at string }{
		{"in_transit", "Departed facility", "Memphis, TN", "2026-03-03T20:00:00Z"},
		{"attempted_delivery", "Nobody home", "Brooklyn, NY", "2026-03-04T18:00:00Z"},
		{"delivered", "Left at front door", "Brooklyn, NY", "2026-03-05T03:30:00Z"},
	} {
		var id int64
		get(&id, `INSERT INTO tracking_events (shipment_id, status, detail, location, occurred_at, provider_event_id)
			VALUES ($1, $2, $3, $4, $5, $2) RETURNING id`, f.shipment, e.status, e.detail, e.location, e.at)
		f.events[e.status] = id
	}
	f.links = auth.NewLinks(d, []config.SigningKey{{ID: "test", Secret: bytes.Repeat([]byte{7}, 32)}}, baseURL)
	r, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	f.composers = notify.Composers(d, f.links, r, baseURL+"/")
	return f
}

func (f *fixture) compose(t *testing.T, m mail.Message) mail.Content {
	t.Helper()
	c, err := f.composers[m.Kind].Compose(context.Background(), m)
	if err != nil {
		t.Fatalf("compose %s: %v", m.Kind, err)
	}
	if c.Subject == "" || c.HTML == "" || c.Text == "" {
		t.Fatalf("compose %s: an empty part in %+v", m.Kind, c)
	}
	return c
}

// linkIn parses the magic link out of the text part and checks that the
// auth package accepts its token, for the wanted customer and purpose.
func (f *fixture) linkIn(t *testing.T, c mail.Content, purpose string) string {
	t.Helper()
	link := linkPattern.FindString(c.Text)
	if link == "" {
		t.Fatalf("no magic link in the text part:\n%s", c.Text)
	}
	if !strings.Contains(c.HTML, `href="`+link+`"`) {
		t.Errorf("the HTML part does not link to %s", link)
	}
	claims, err := f.links.Check(context.Background(), strings.TrimPrefix(link, baseURL+"/m/"))
	if err != nil {
		t.Fatalf("auth refuses the emailed link: %v", err)
	}
	if claims.CustomerID != f.customer || claims.Purpose != purpose {
		t.Errorf("link claims = %+v, want customer %d purpose %q", claims, f.customer, purpose)
	}
	if ttl := time.Until(claims.ExpiresAt); purpose != "login" && ttl < 29*24*time.Hour {
		t.Errorf("order link lives %s, want 30 days", ttl)
	}
	return link
}

func mustContain(t *testing.T, part, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s part lacks %q:\n%s", part, w, body)
		}
	}
}

func TestOrderConfirmation(t *testing.T) {
	f := seed(t)
	c := f.compose(t, mail.Message{ID: 1, Kind: notify.KindOrderConfirmation, DedupeKey: "order_confirmation:1",
		To: "ada@example.com", CustomerID: f.customer, OrderID: f.order})

	if c.Subject != "Thank you for your order #1042 at Fern & Field" {
		t.Errorf("subject = %q", c.Subject)
	}
	mustContain(t, "text", c.Text, "Hi Ada,", "Stoneware mug × 2: $36.00", "Linen tea towel × 1: $18.00",
		"Subtotal: $54.00", "Discount (WELCOME10): −$5.00", "Shipping: Free", "Tax: $3.92", "Total: $52.92",
		"http://shop.test/signin/code", "http://shop.test/orders", "help@fernfield.example")
	mustContain(t, "html", c.HTML, "Hi Ada,", "Stoneware mug", "× 2", "$36.00", "$52.92", "WELCOME10",
		"Fern &amp; Field", "https://fernfield.example/logo.png", "#aa3300")
	f.linkIn(t, c, "order:"+itoa(f.order))

	code := regexp.MustCompile(`enter the code (\d{6})`).FindStringSubmatch(c.Text)
	if code == nil || !strings.Contains(c.HTML, code[1]) {
		t.Errorf("no 6-digit code in both parts")
	}
}

func TestShipmentEmails(t *testing.T) {
	f := seed(t)
	tests := []struct {
		name, kind, dedupe, subject string
		text                        []string
	}{
		{"shipped names the carrier, tracking and expected date", notify.KindShipmentShipped, "shipment_shipped:1",
			"Your order #1042 from Fern & Field is on its way",
			[]string{"Carrier: UPS", "Tracking number: 1Z999AA10123456784", "Track it: https://www.ups.com/track?tracknum=1Z999AA10123456784",
				"In this parcel:", "- Stoneware mug × 2"}},
		{"out for delivery says it arrives today", notify.KindShipmentOutForDelivery, "shipment_out_for_delivery:1",
			"Your order #1042 from Fern & Field is arriving today", []string{"should arrive today"}},
		{"delivered gives the day in the store's time zone", notify.KindShipmentDelivered, "shipment_delivered:1",
			"Your order #1042 from Fern & Field has been delivered",
			// 03:30 UTC on 5 March is the evening of 4 March in New York.
			[]string{"was delivered on Wednesday 4 March 2026", "Latest: Delivered, Left at front door, Brooklyn, NY (Wed 4 Mar 2026, 22:30)"}},
		{"an attempted delivery tells of that event", notify.KindShipmentException, "shipment_exception:1:attempted_delivery:EVENT",
			"We tried to deliver your order #1042 from Fern & Field",
			[]string{"UPS tried to deliver", "Latest: Attempted delivery, Nobody home, Brooklyn, NY (Wed 4 Mar 2026, 13:00)"}},
		{"ready for pickup", notify.KindShipmentException, "shipment_exception:1:available_for_pickup:0",
			"Your order #1042 from Fern & Field is ready for pickup", []string{"waiting for you to pick it up"}},
		{"returned to sender", notify.KindShipmentException, "shipment_exception:1:returned_to_sender:0",
			"Your order #1042 from Fern & Field is being returned to us", []string{"sending it back to us"}},
		{"a generic exception", notify.KindShipmentException, "shipment_exception:1:exception:0",
			"A delivery problem with your order #1042 from Fern & Field", []string{"UPS reported a problem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := strings.Replace(tt.dedupe, "EVENT", itoa(f.events["attempted_delivery"]), 1)
			c := f.compose(t, mail.Message{ID: 2, Kind: tt.kind, DedupeKey: key, To: "ada@example.com",
				CustomerID: f.customer, OrderID: f.order, ShipmentID: f.shipment})
			if c.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", c.Subject, tt.subject)
			}
			mustContain(t, "text", c.Text, append([]string{"Hi Ada,", "#1042"}, tt.text...)...)
			mustContain(t, "html", c.HTML, "UPS", "1Z999AA10123456784")
			f.linkIn(t, c, "order:"+itoa(f.order))
		})
	}
}

func TestShippedEmailShowsTheExpectedDate(t *testing.T) {
	f := seed(t)
	if _, err := f.db.Exec(`UPDATE shipments SET status = 'in_transit', delivered_at = NULL WHERE id = $1`, f.shipment); err != nil {
		t.Fatal(err)
	}
	c := f.compose(t, mail.Message{ID: 3, Kind: notify.KindShipmentShipped, DedupeKey: "shipment_shipped:9", ShipmentID: f.shipment})
	mustContain(t, "text", c.Text, "Expected: Thursday 5 March 2026")
}

func TestLoginLink(t *testing.T) {
	f := seed(t)
	c := f.compose(t, mail.Message{ID: 4, Kind: notify.KindLoginLink, DedupeKey: "login_link:x", To: "ada@example.com", CustomerID: f.customer})
	if c.Subject != "Your sign-in link for Fern & Field" {
		t.Errorf("subject = %q", c.Subject)
	}
	mustContain(t, "text", c.Text, "Hi Ada,", "for 20 minutes", "If you did not ask to sign in, you can ignore this email")
	f.linkIn(t, c, "login")
}

func TestMissingSubjectsAreSkippedOrFailed(t *testing.T) {
	f := seed(t)
	tests := []struct {
		name     string
		m        mail.Message
		skipOnly bool
	}{
		{"an order that is gone is skipped", mail.Message{Kind: notify.KindOrderConfirmation, OrderID: 999999}, true},
		{"a shipment that is gone is skipped", mail.Message{Kind: notify.KindShipmentDelivered, ShipmentID: 999999}, true},
		{"a sign-in for no customer is skipped", mail.Message{Kind: notify.KindLoginLink}, true},
		{"a confirmation without an order fails for good", mail.Message{Kind: notify.KindOrderConfirmation}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.composers[tt.m.Kind].Compose(context.Background(), tt.m)
			if !mail.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
			if got := mail.IsSkip(err); got != tt.skipOnly {
				t.Errorf("IsSkip = %v, want %v (%v)", got, tt.skipOnly, err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestOrderConfirmationsComposedTogether: a delivery batch composes its
// order confirmations at once; each email still tells of its own order,
// with lines in order, and carries a link of its own customer, while a
// message whose order is gone is skipped and one without an order fails.
func TestOrderConfirmationsComposedTogether(t *testing.T) {
	f := seed(t)
	var grace, order2 int64
	if err := f.db.Get(&grace, `INSERT INTO customers (email, name) VALUES ('grace@example.com', 'Grace Hopper') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	err := f.db.Get(&order2, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, discount_minor,
		shipping_minor, tax_minor, total_minor, content_hash) VALUES ('api', 'ext-2', '2001', $1, now(), 'USD', 900, 0, 0, 0, 900, '\x00') RETURNING id`, grace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor)
		VALUES ($1, 2, 'B-2', 'Beeswax candle', 1, 500), ($1, 1, 'A-1', 'Almond soap', 2, 200)`, order2); err != nil {
		t.Fatal(err)
	}
	many, ok := f.composers[notify.KindOrderConfirmation].(mail.ManyComposer)
	if !ok {
		t.Fatal("the order confirmation composer cannot compose many at once")
	}
	msg := func(id, customer, order int64) mail.Message {
		return mail.Message{ID: id, Kind: notify.KindOrderConfirmation, DedupeKey: "order_confirmation:" + itoa(id), CustomerID: customer, OrderID: order}
	}
	cs, errs := many.ComposeMany(context.Background(), []mail.Message{
		msg(1, f.customer, f.order), msg(2, grace, order2), msg(3, grace, order2+1000), msg(4, grace, 0),
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("composing: %v, %v", errs[0], errs[1])
	}
	if !mail.IsSkip(errs[2]) || !mail.IsPermanent(errs[3]) || mail.IsSkip(errs[3]) {
		t.Errorf("missing order: %v, no order: %v; want skipped, failed", errs[2], errs[3])
	}
	mustContain(t, "text", cs[0].Text, "Hi Ada,", "#1042", "Stoneware mug × 2")
	mustContain(t, "text", cs[1].Text, "Hi Grace,", "#2001", "Almond soap × 2: $4.00", "Beeswax candle × 1: $5.00")
	if strings.Index(cs[1].Text, "Almond soap") > strings.Index(cs[1].Text, "Beeswax candle") || strings.Contains(cs[1].Text, "Stoneware") {
		t.Errorf("order 2001's lines are out of order or mixed with another order's:\n%s", cs[1].Text)
	}
	f.linkIn(t, cs[0], "order:"+itoa(f.order))
	link := linkPattern.FindString(cs[1].Text)
	claims, err := f.links.Check(context.Background(), strings.TrimPrefix(link, baseURL+"/m/"))
	if err != nil || claims.CustomerID != grace || claims.Purpose != "order:"+itoa(order2) {
		t.Errorf("Grace's link = %+v, %v", claims, err)
	}
}
