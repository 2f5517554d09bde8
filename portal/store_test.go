package portal

import (
	"context"
	"reflect"
	"testing"

	"github.com/aftercare/aftercare/internal/fault"
)

func TestListReturnsOnlyTheCustomersOrdersNewestFirst(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.customer("ann@example.com"), f.customer("bob@example.com")
	shipped, lines := f.order(ann, orderSpec{number: "#1002", placedAt: utc("2026-03-02T10:00:00Z"),
		items: []item{{"MUG", "Mug", 2, 1200}, {"TEA", "Tea", 1, 900}}})
	f.order(ann, orderSpec{number: "#1003", placedAt: utc("2026-03-03T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T10:00:00Z"), status: "cancelled",
		items: []item{{"TEA", "Tea", 3, 900}}})
	f.order(bob, orderSpec{number: "#2001", placedAt: utc("2026-03-04T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	first := f.shipment(shipped, shipmentSpec{carrier: "UPS", number: "1Z1", status: "delivered"})
	f.shipmentItem(first, lines[0], 2)
	f.shipment(shipped, shipmentSpec{carrier: "UPS", number: "1Z2", status: "in_transit"})

	got, err := NewOrders(f.db).List(context.Background(), ann)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Number, State string
		Items         int
		Total         int64
	}
	var rows []row
	for _, o := range got {
		rows = append(rows, row{o.Number, o.State, o.ItemCount, o.TotalMinor})
	}
	want := []row{
		{"#1003", "processing", 1, 1200},
		{"#1002", "in_transit", 3, 3300},
		{"#1001", "cancelled", 3, 2700},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("list:\n got %+v\nwant %+v", rows, want)
	}
	if got[0].Currency != "USD" {
		t.Errorf("currency = %q", got[0].Currency)
	}
}

func TestListOfACustomerWithoutOrdersIsEmpty(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	f.order(f.customer("bob@example.com"), orderSpec{number: "#1", placedAt: utc("2026-03-01T10:00:00Z"),
		items: []item{{"MUG", "Mug", 1, 1200}}})
	got, err := NewOrders(f.db).List(context.Background(), ann)
	if err != nil || len(got) != 0 {
		t.Fatalf("List = %v, %v; want no orders", got, err)
	}
}

func TestGetLoadsItemsShipmentsAndEventsNewestFirst(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	id, lines := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T10:00:00Z"),
		discount: 500, shipping: 495, tax: 100, codes: []string{"WELCOME5"},
		items: []item{{"MUG", "Mug", 2, 1200}, {"TEA", "Tea", 1, 900}}})
	s1 := f.shipment(id, shipmentSpec{carrier: "UPS", number: "1Z1", status: "in_transit", eta: "2026-03-05"})
	s2 := f.shipment(id, shipmentSpec{carrier: "USPS", number: "9400", status: "label_created"})
	f.shipmentItem(s1, lines[0], 2)
	f.shipmentItem(s2, lines[1], 1)
	// Inserted out of order: the store sorts by when they happened.
	f.event(s1, "in_transit", "Departed facility", "Louisville, KY", utc("2026-03-03T08:00:00Z"))
	f.event(s1, "label_created", "Label created", "", utc("2026-03-02T08:00:00Z"))
	f.event(s1, "in_transit", "Arrived at facility", "Newark, NJ", utc("2026-03-04T08:00:00Z"))
	f.event(s2, "label_created", "", "", utc("2026-03-02T09:00:00Z"))

	o, err := NewOrders(f.db).Get(context.Background(), ann, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Number != "#1001" || o.TotalMinor != 3300-500+495+100 || o.DiscountMinor != 500 ||
		!reflect.DeepEqual([]string(o.DiscountCodes), []string{"WELCOME5"}) {
		t.Errorf("order = %+v", o)
	}
	if len(o.Items) != 2 || o.Items[0].Title != "Mug" || o.Items[0].Quantity != 2 || o.Items[1].SKU != "TEA" {
		t.Errorf("items = %+v", o.Items)
	}
	if len(o.Shipments) != 2 || o.Shipments[0].ID != s1 || o.Shipments[1].ID != s2 {
		t.Fatalf("shipments = %+v", o.Shipments)
	}
	ups := o.Shipments[0]
	if ups.EstimatedDelivery == nil || etaDate(*ups.EstimatedDelivery).Format("2006-01-02") != "2026-03-05" {
		t.Errorf("eta = %v", ups.EstimatedDelivery)
	}
	if len(ups.Items) != 1 || ups.Items[0].Title != "Mug" || ups.Items[0].Quantity != 2 {
		t.Errorf("ups items = %+v", ups.Items)
	}
	var details []string
	for _, ev := range ups.Events {
		details = append(details, ev.Detail)
	}
	if want := []string{"Arrived at facility", "Departed facility", "Label created"}; !reflect.DeepEqual(details, want) {
		t.Errorf("events = %q, want %q", details, want)
	}
	if len(o.Shipments[1].Events) != 1 || len(o.Shipments[1].Items) != 1 || o.Shipments[1].Items[0].Title != "Tea" {
		t.Errorf("usps = %+v", o.Shipments[1])
	}
}

func TestGetTreatsAnotherCustomersOrderAsMissing(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.customer("ann@example.com"), f.customer("bob@example.com")
	bobs, _ := f.order(bob, orderSpec{number: "#2001", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	orders := NewOrders(f.db)

	_, otherErr := orders.Get(context.Background(), ann, bobs)
	_, missingErr := orders.Get(context.Background(), ann, bobs+1000)
	if !fault.Is(otherErr, fault.NotFound) || !fault.Is(missingErr, fault.NotFound) {
		t.Fatalf("errors = %v, %v; want NotFound for both", otherErr, missingErr)
	}
	if otherErr.Error() != missingErr.Error() {
		t.Errorf("another's order (%q) is distinguishable from a missing one (%q)", otherErr, missingErr)
	}
	if o, err := orders.Get(context.Background(), bob, bobs); err != nil || o.Number != "#2001" {
		t.Errorf("owner reads %+v, %v", o, err)
	}
}
