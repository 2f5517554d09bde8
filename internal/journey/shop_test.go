package journey_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
)

// zone is the store's time zone in these tests.
var zone = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// lastLocal returns the latest store-time hh:mm at least an hour before now,
// so a delivery can happen at a chosen time of day and still count as news
// (commerce sends no mail for events over 72 hours old).
func lastLocal(now time.Time, hh, mm int) time.Time {
	l := now.In(zone)
	t := time.Date(l.Year(), l.Month(), l.Day(), hh, mm, 0, 0, zone)
	for t.After(now.Add(-time.Hour)) {
		t = t.AddDate(0, 0, -1)
	}
	return t.UTC()
}

// purchase is one order through commerce: placed, shipped, delivered.
type purchase struct {
	CustomerID, OrderID, ShipmentID int64
	ItemIDs                         []int64
	DeliveredAt                     time.Time
}

// seedStore sets up the store and its catalog: a kettle that needs filters
// every 30 days, the filters paired with it, and a mug.
func (w *world) seedStore() {
	w.t.Helper()
	w.exec(`UPDATE settings SET store_name = 'Fern & Field', store_url = 'https://fernfield.example', time_zone = 'America/New_York'`)
	ctx := context.Background()
	thirty := 30
	for sku, in := range map[string]commerce.ProductInput{
		"KETTLE-1": {Title: "Gooseneck kettle", ProductURL: "https://fernfield.example/kettle", GuideMD: "# Brewing\nFill to the line.", ReplenishDays: &thirty},
		"FILTER-1": {Title: "Paper filters", ProductURL: "https://fernfield.example/filters"},
		"MUG-1":    {Title: "Stoneware mug", ProductURL: "https://fernfield.example/mug"},
	} {
		if _, _, err := w.commerce.UpsertProduct(ctx, sku, in); err != nil {
			w.t.Fatal(err)
		}
	}
	w.exec(`INSERT INTO product_pairings (product_id, with_sku, position) SELECT id, 'FILTER-1', 1 FROM products WHERE sku = 'KETTLE-1'`)
}

// buy places an order of skus for email, delivered at deliveredAt (which
// must lie within the last 72 hours), with the customer's consent to
// marketing email set to consent.
func (w *world) buy(email string, consent bool, deliveredAt time.Time, skus ...string) purchase {
	w.t.Helper()
	ctx := context.Background()
	var items []commerce.ItemInput
	for _, s := range skus {
		items = append(items, commerce.ItemInput{SKU: s, Title: s, Quantity: 1, UnitPrice: 2500})
	}
	total := int64(2500 * len(skus))
	o, _, err := w.commerce.UpsertOrder(ctx, commerce.OrderInput{ExternalID: "ext-" + email + deliveredAt.Format("150405"), Number: "#1001",
		Customer: commerce.CustomerInput{Email: email, Name: "Ada Lovelace"}, PlacedAt: deliveredAt.Add(-20 * time.Hour).Format(time.RFC3339),
		Currency: "USD", Items: items, Subtotal: total, Total: total})
	if err != nil {
		w.t.Fatal(err)
	}
	w.exec(`UPDATE customers SET marketing_consent = $2 WHERE id = $1`, o.CustomerID, consent)
	sh, _, err := w.commerce.AddShipment(ctx, o.ID, commerce.ShipmentInput{Carrier: "UPS", TrackingNumber: "1Z" + fmt.Sprint(o.ID) + deliveredAt.Format("150405")})
	if err != nil {
		w.t.Fatal(err)
	}
	for i, st := range []string{"in_transit", "out_for_delivery", "delivered"} {
		at := deliveredAt.Add(time.Duration(i-2) * 3 * time.Hour)
		_, _, _, err := w.commerce.AddTrackingEvent(ctx, sh.ID, commerce.TrackingEventInput{Status: st, OccurredAt: at.Format(time.RFC3339), ProviderEventID: st})
		if err != nil {
			w.t.Fatal(err)
		}
	}
	p := purchase{CustomerID: o.CustomerID, OrderID: o.ID, ShipmentID: sh.ID, DeliveredAt: deliveredAt}
	for _, it := range o.Items {
		p.ItemIDs = append(p.ItemIDs, it.ID)
	}
	return p
}

// sentTo lists the kinds of email to customerID and when each went, in store time.
func (w *world) sentTo(customerID int64) []string {
	var out []string
	for _, s := range w.mailbox.all() {
		if s.Msg.CustomerID == customerID {
			out = append(out, s.Msg.Kind+" "+s.At.In(zone).Format("Jan 2 15:04"))
		}
	}
	return out
}

// steps lists the journey steps about orderID by kind: "state: reason".
func (w *world) steps(orderID int64) map[string]string {
	w.t.Helper()
	var rows []struct {
		Key    string `db:"key"`
		State  string `db:"state"`
		Reason string `db:"reason"`
	}
	if err := w.db.Select(&rows, `SELECT key, state, reason FROM journey_steps WHERE order_id = $1`, orderID); err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		kind := r.Key[:len(r.Key)-len(lastPart(r.Key))-1]
		out[kind] = r.State
		if r.Reason != "" {
			out[kind] += ": " + r.Reason
		}
	}
	return out
}

func lastPart(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == ':' {
			return key[i+1:]
		}
	}
	return key
}

func local(t time.Time) string { return t.In(zone).Format("Jan 2 15:04") }
