package shopify

import (
	"fmt"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
)

// recentOrder is an order placed a minute ago, so that it gets its emails.
func recentOrder(id string) []byte {
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	return []byte(fmt.Sprintf(`{"id":%s,"name":"#%s","email":"lin@example.com","created_at":%q,"updated_at":%q,
		"currency":"USD","total_price":"60.00","total_discounts":"0.00","checkout_token":"tok-%s",
		"customer":{"email":"lin@example.com","first_name":"Lin","last_name":"Chen"},
		"line_items":[{"id":11,"sku":"MUG","title":"Mug","quantity":2,"price":"15.00"},{"id":12,"sku":"MUG","title":"Mug (gift)","quantity":1,"price":"15.00"},
		{"id":13,"sku":"TEA","title":"Tea","quantity":1,"price":"15.00"}]}`, id, id, now, now, id))
}

func TestAFulfillmentShipsItsLinesAndItsEventsMoveTheParcel(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	mustApply(t, env, "orders/create", "w-o", recentOrder("900"))
	now := time.Now().UTC().Format(time.RFC3339)
	ful := []byte(fmt.Sprintf(`{"id":4001,"order_id":900,"status":"success","created_at":%q,"updated_at":%q,
		"tracking_company":"Canada Post","tracking_numbers":["7100 0000 0001","7100 0000 0002"],
		"tracking_urls":["https://track.example/1","not a url"],"shipment_status":"label_printed",
		"line_items":[{"id":11,"sku":"MUG","quantity":3},{"id":13,"sku":"TEA","quantity":1}]}`, now, now))
	ev := mustApply(t, env, "fulfillments/create", "w-f", ful)
	o, _ := env.Commerce.OrderByExternal(it.Ctx(t), Name, "900")
	if len(o.Shipments) != 2 {
		t.Fatalf("%d shipments (%s); want one per tracking number", len(o.Shipments), ev.Outcome)
	}
	first, second := o.Shipments[0], o.Shipments[1]
	if first.Carrier != "canada-post" || first.TrackingNumber != "710000000001" || first.TrackingURL != "https://track.example/1" || second.TrackingURL != "" {
		t.Errorf("first = %s %s %s, second url %q", first.Carrier, first.TrackingNumber, first.TrackingURL, second.TrackingURL)
	}
	units := 0
	for _, sh := range o.Shipments {
		for _, si := range sh.Items {
			units += si.Quantity
		}
		if sh.Status != commerce.LabelCreated {
			t.Errorf("shipment %s status %s; want label_created from label_printed", sh.TrackingNumber, sh.Status)
		}
	}
	if units != 4 || len(first.Items) == 0 || len(second.Items) == 0 {
		t.Errorf("%d units over %d+%d lines; want the 4 units (3 mugs over two lines, 1 tea) spread over both parcels", units, len(first.Items), len(second.Items))
	}
	// The same fulfillment again (fulfillments/update) changes nothing.
	mustApply(t, env, "fulfillments/update", "w-f2", ful)
	if o2, _ := env.Commerce.OrderByExternal(it.Ctx(t), Name, "900"); len(o2.Shipments) != 2 {
		t.Errorf("%d shipments after the update", len(o2.Shipments))
	}
	e := []byte(fmt.Sprintf(`{"id":5001,"fulfillment_id":4001,"order_id":900,"status":"out_for_delivery","message":"On the van",
		"happened_at":%q,"city":"Ottawa","province":"ON","country":"CA","estimated_delivery_at":"2030-01-02T00:00:00Z"}`, now))
	mustApply(t, env, "fulfillment_events/create", "w-e", e)
	sh, err := env.Commerce.ShipmentByTracking(it.Ctx(t), "canada-post", "710000000001")
	if err != nil || sh.Status != commerce.OutForDelivery || sh.EstimatedDelivery == nil || *sh.EstimatedDelivery != "2030-01-02" {
		t.Fatalf("shipment = %+v, %v", sh, err)
	}
	if last := sh.Events[len(sh.Events)-1]; last.Location != "Ottawa, ON, CA" || last.Detail != "On the van" {
		t.Errorf("event = %+v", last)
	}
	if n := env.Count(t, `SELECT count(*) FROM messages WHERE kind = 'shipment_out_for_delivery'`); n != 1 {
		t.Errorf("%d out-for-delivery emails; want 1", n)
	}
}

func TestTheFulfillmentSamplesShipTheSampleOrderAndTrackIt(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	mustApply(t, env, "orders/create", "w-o", it.Fixture(t, "shopify/orders-create.json"))
	mustApply(t, env, "fulfillments/create", "w-f", it.Fixture(t, "shopify/fulfillments-create.json"))
	sh, err := env.Commerce.ShipmentByTracking(it.Ctx(t), "UPS", "1z827wk74630")
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, env, "fulfillment_events/create", "w-e", it.Fixture(t, "shopify/fulfillment_events-create.json"))
	sh, _ = env.Commerce.ShipmentByTracking(it.Ctx(t), "ups", "1Z827WK74630")
	if sh.Status != commerce.InTransit || len(sh.Events) != 1 || sh.Events[0].Location != "CA" {
		t.Errorf("shipment %s with %d events; want in_transit from the sample event", sh.Status, len(sh.Events))
	}
}

func TestTheRefundSampleRefundsTheSampleOrder(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	// The refund comes first: it waits (fails, retried) for its order.
	if _, err := deliver(t, env, "refunds/create", "w-r", it.Fixture(t, "shopify/refunds-create.json")); err == nil {
		t.Fatal("a refund of an unknown order succeeded")
	}
	if ev := env.Event(t, Name, "w-r"); ev.Status() != "retrying" || ev.LastError == "" {
		t.Fatalf("event %s %q; want retrying with its error", ev.Status(), ev.LastError)
	}
	mustApply(t, env, "orders/create", "w-o", it.Fixture(t, "shopify/orders-create.json"))
	if _, err := env.Process(t, Name, "w-r"); err != nil {
		t.Fatal(err)
	}
	mustApply(t, env, "refunds/create", "w-r2", it.Fixture(t, "shopify/refunds-create.json")) // the same refund again
	o, _ := env.Commerce.OrderByExternal(it.Ctx(t), Name, "820982911946154508")
	if o.RefundedMinor != 8500 || len(o.Refunds) != 1 || o.Refunds[0].Source != "shopify" {
		t.Errorf("refunded %d in %d refunds; want 75.00 + 10.00 once", o.RefundedMinor, len(o.Refunds))
	}
}
