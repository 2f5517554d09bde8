package commerce

import (
	"testing"

	"github.com/aftercare/aftercare/internal/fault"
)

func TestLookUpsByOutsideKeys(t *testing.T) {
	svc, _ := newService(t)
	o := placedOrder(t, svc)
	sh, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "UPS", TrackingNumber: "1z 999 aa1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(InTransit, anHourAgo(), "e1")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 100, "re_1")); err != nil {
		t.Fatal(err)
	}

	t.Run("an order is found by its source and external id, with everything Order reads", func(t *testing.T) {
		got, err := svc.OrderByExternal(ctxT(t), "api", "1001")
		if err != nil || got.ID != o.ID || got.Customer.Email != "ada@example.com" || len(got.Items) != 2 ||
			len(got.Shipments) != 1 || len(got.Shipments[0].Events) != 1 || len(got.Refunds) != 1 {
			t.Errorf("OrderByExternal = %+v, %v", got, err)
		}
		for _, key := range [][2]string{{"shopify", "1001"}, {"api", "1002"}, {"", ""}} {
			if _, err := svc.OrderByExternal(ctxT(t), key[0], key[1]); !fault.Is(err, fault.NotFound) {
				t.Errorf("OrderByExternal(%q, %q) = %v; want not found", key[0], key[1], err)
			}
		}
	})

	t.Run("a shipment is found by its tracking number spelled as AddShipment accepts it", func(t *testing.T) {
		for _, key := range [][2]string{{"ups", "1Z999AA1"}, {" UPS ", "1z 999 aa1"}} {
			got, err := svc.ShipmentByTracking(ctxT(t), key[0], key[1])
			if err != nil || got.ID != sh.ID || got.OrderID != o.ID || len(got.Items) != 2 || len(got.Events) != 1 {
				t.Errorf("ShipmentByTracking(%q, %q) = %+v, %v", key[0], key[1], got, err)
			}
		}
		if _, err := svc.ShipmentByTracking(ctxT(t), "dhl", "1Z999AA1"); !fault.Is(err, fault.NotFound) {
			t.Errorf("another carrier: err = %v; want not found", err)
		}
	})

	t.Run("a customer is found by email in any case", func(t *testing.T) {
		got, err := svc.CustomerByEmail(ctxT(t), "  ADA@example.COM ")
		if err != nil || got.ID != o.Customer.ID || got.Name != "Ada Lovelace" {
			t.Errorf("CustomerByEmail = %+v, %v", got, err)
		}
		for _, e := range []string{"bob@example.com", ""} {
			if _, err := svc.CustomerByEmail(ctxT(t), e); !fault.Is(err, fault.NotFound) {
				t.Errorf("CustomerByEmail(%q) = %v; want not found", e, err)
			}
		}
	})
}
