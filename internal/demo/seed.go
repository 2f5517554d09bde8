// Package demo loads a demo store into an empty database for `aftercare
// dev`: products with guides, and customers whose orders sit in every
// shipment state. It goes through the same commerce service as the API, so
// the demo's emails appear in the dev mailbox like real ones.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/settings"
)

// ShopperEmail is the demo shopper whose sign-in link dev prints.
const ShopperEmail = "jane.doe@example.com"

// step is one tracking event of a demo shipment, relative to the order.
type step struct {
	status, detail, location string
	after                    time.Duration
}

type demoOrder struct {
	number, email, name string
	age                 time.Duration // how long ago it was placed
	items               map[string]int
	steps               []step // nil: not shipped yet
	etaDays             int
}

var h = time.Hour
var d = 24 * time.Hour

func orders() []demoOrder {
	transit := []step{{"label_created", "Shipping label created", "Portland, OR", 2 * h}, {"in_transit", "Picked up by carrier", "Portland, OR", 20 * h}, {"in_transit", "Departed facility", "Salt Lake City, UT", 40 * h}}
	return []demoOrder{
		{"#1001", ShopperEmail, "Jane Doe", 20 * d, map[string]int{"KETTLE-GN": 1, "FILTERS-100": 2}, append(transit, step{"out_for_delivery", "Out for delivery", "Brooklyn, NY", 4 * d}, step{"delivered", "Delivered, left at front door", "Brooklyn, NY", 4*d + 5*h}), 0},
		{"#1002", ShopperEmail, "Jane Doe", 3 * d, map[string]int{"GRINDER-BURR": 1}, append(transit, step{"out_for_delivery", "Out for delivery", "Brooklyn, NY", 3*d - 2*h}), 0},
		{"#1003", ShopperEmail, "Jane Doe", 50 * h, map[string]int{"DRIPPER-V60": 1, "BEANS-HOUSE": 1}, transit, 2},
		{"#1004", ShopperEmail, "Jane Doe", 20 * h, map[string]int{"SCALE-01": 1}, transit[:1], 4},
		{"#1005", ShopperEmail, "Jane Doe", 9 * d, map[string]int{"PRESS-8": 1}, append(transit, step{"exception", "Address could not be found; carrier will contact you", "Queens, NY", 4 * d}), 0},
		{"#1006", ShopperEmail, "Jane Doe", 7 * d, map[string]int{"COLDBREW-JAR": 1}, append(transit, step{"available_for_pickup", "Ready for pickup at Access Point: 12 Court St", "Brooklyn, NY", 4 * d}), 0},
		{"#1007", ShopperEmail, "Jane Doe", 8 * d, map[string]int{"MUG-STONE": 2}, append(transit, step{"attempted_delivery", "Delivery attempted; no one available to sign", "Brooklyn, NY", 4 * d}), 0},
		{"#1008", ShopperEmail, "Jane Doe", 3 * h, map[string]int{"FROTHER": 1, "TUMBLER-TRAVEL": 1}, nil, 0},
		{"#1009", ShopperEmail, "Jane Doe", 40 * d, map[string]int{"DESCALER": 1}, append(transit, step{"exception", "Damaged in transit", "Denver, CO", 5 * d}, step{"returned_to_sender", "Returned to sender", "Portland, OR", 9 * d}), 0},
		{"#1010", "sam.lee@example.com", "Sam Lee", 12 * d, map[string]int{"KETTLE-GN": 1, "SCALE-01": 1}, append(transit, step{"delivered", "Delivered to mailroom", "Austin, TX", 5 * d}), 0},
		{"#1011", "priya.patel@example.com", "Priya Patel", 36 * h, map[string]int{"BEANS-HOUSE": 2}, transit[:2], 3},
	}
}

// Seed fills an empty store and returns the demo shopper's customer id. When
// the store already has orders it changes nothing and returns that id (0 if
// the demo shopper is not there).
func Seed(ctx context.Context, db *sqlx.DB, svc *commerce.Service) (int64, error) {
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM orders`); err != nil {
		return 0, fmt.Errorf("demo: %w", err)
	}
	if n == 0 {
		if err := seed(ctx, db, svc); err != nil {
			return 0, err
		}
	}
	var id int64
	err := db.GetContext(ctx, &id, `SELECT id FROM customers WHERE email = $1`, ShopperEmail)
	if errors.Is(err, context.Canceled) {
		return 0, err
	}
	return id, nil
}

func seed(ctx context.Context, db *sqlx.DB, svc *commerce.Service) error {
	if err := settings.Save(ctx, db, settings.Store{
		StoreName: "Driftwood Coffee Co.", StoreURL: "https://driftwood.example.com", AccentColor: "#8a4b2a",
		SupportEmail: "help@driftwood.example.com", TimeZone: "America/New_York",
	}); err != nil {
		return err
	}
	for _, p := range catalog {
		in := commerce.ProductInput{Title: p.title, GuideMD: p.guide, Returnable: &p.returnable, ProductURL: "https://driftwood.example.com/products/" + p.sku}
		if p.replenishDays > 0 {
			days := p.replenishDays
			in.ReplenishDays = &days
		}
		if _, _, err := svc.UpsertProduct(ctx, p.sku, in); err != nil {
			return fmt.Errorf("demo: product %s: %w", p.sku, err)
		}
	}
	now := time.Now().UTC().Truncate(time.Minute)
	consent := true // the demo shoppers agreed, so the journey's emails show in /dev/mail
	for i, o := range orders() {
		placed := now.Add(-o.age)
		in := commerce.OrderInput{
			ExternalID: fmt.Sprintf("demo-%d", 1001+i), Number: o.number, PlacedAt: placed.Format(time.RFC3339),
			Customer: commerce.CustomerInput{Email: o.email, Name: o.name, MarketingConsent: &consent}, Currency: "USD", Shipping: 500,
		}
		for _, sku := range sortedKeys(o.items) {
			title, price := priceOf(sku)
			in.Items = append(in.Items, commerce.ItemInput{SKU: sku, Title: title, Quantity: o.items[sku], UnitPrice: price})
			in.Subtotal += price * int64(o.items[sku])
		}
		in.Tax = in.Subtotal * 8 / 100
		in.Total = in.Subtotal + in.Shipping + in.Tax
		order, _, err := svc.UpsertOrder(ctx, in)
		if err != nil {
			return fmt.Errorf("demo: order %s: %w", o.number, err)
		}
		if o.steps == nil {
			continue
		}
		// The parcel left when its label was made; old parcels then send no "shipped" mail.
		sh := commerce.ShipmentInput{Carrier: "UPS", TrackingNumber: fmt.Sprintf("1Z4F7W%010d", 3100+i), ShippedAt: placed.Add(o.steps[0].after).Format(time.RFC3339)}
		if o.etaDays > 0 {
			sh.EstimatedDelivery = now.Add(time.Duration(o.etaDays) * d).Format("2006-01-02")
		}
		shipment, _, err := svc.AddShipment(ctx, order.ID, sh)
		if err != nil {
			return fmt.Errorf("demo: shipment of %s: %w", o.number, err)
		}
		for j, s := range o.steps {
			at := placed.Add(s.after)
			if at.After(now) {
				at = now.Add(-time.Minute)
			}
			ev := commerce.TrackingEventInput{Status: s.status, Detail: s.detail, Location: s.location, OccurredAt: at.Format(time.RFC3339), ProviderEventID: fmt.Sprintf("demo-%d-%d", i, j)}
			if _, _, _, err := svc.AddTrackingEvent(ctx, shipment.ID, ev); err != nil {
				return fmt.Errorf("demo: event %d of %s: %w", j, o.number, err)
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for _, p := range catalog {
		if _, ok := m[p.sku]; ok {
			keys = append(keys, p.sku)
		}
	}
	return keys
}
