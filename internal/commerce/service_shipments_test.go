package commerce

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

// placedOrder stores anOrder (2 × TEA-001 on line 1, 1 × CUP-002 on line 2).
func placedOrder(t *testing.T, svc *Service) Order {
	t.Helper()
	o, _, err := svc.UpsertOrder(ctxT(t), anOrder("1001"))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func fieldsOf(err error) []string {
	de, ok := fault.As(err)
	if !ok {
		return nil
	}
	var fs []string
	for _, f := range de.Fields {
		fs = append(fs, f.Field)
	}
	return fs
}

func TestAddShipment(t *testing.T) {
	t.Run("a shipment names lines by number or sku and queues the shipped email", func(t *testing.T) {
		svc, db := newService(t)
		o := placedOrder(t, svc)
		sh, out, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{
			Carrier: " DHL ", TrackingNumber: "jd01 4600", EstimatedDelivery: "2030-01-02",
			Items: []ShipmentItemInput{{LineNo: 1, Quantity: 1}, {SKU: "CUP-002", Quantity: 1}},
		})
		if err != nil || out != Created {
			t.Fatalf("AddShipment = %v, %v", out, err)
		}
		if sh.Carrier != "dhl" || sh.TrackingNumber != "JD014600" || sh.Status != LabelCreated ||
			sh.EstimatedDelivery == nil || *sh.EstimatedDelivery != "2030-01-02" || sh.ShippedAt != nil {
			t.Errorf("shipment = %+v", sh)
		}
		if len(sh.Items) != 2 || sh.Items[0].LineNo != 1 || sh.Items[0].Quantity != 1 || sh.Items[1].SKU != "CUP-002" {
			t.Errorf("items = %+v", sh.Items)
		}
		want := []string{fmt.Sprintf("order_confirmation:%d", o.ID), fmt.Sprintf("shipment_shipped:%d", sh.ID)}
		if got := dedupeKeys(t, db); !slices.Equal(got, want) {
			t.Errorf("messages = %v; want %v", got, want)
		}
		if ms := messages(t, db); ms[1].ShipmentID.Int64 != sh.ID || ms[1].OrderID.Int64 != o.ID || ms[1].To != "ada@example.com" {
			t.Errorf("shipped message = %+v", ms[1])
		}

		retry, out, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "dhl", TrackingNumber: "JD014600",
			Items: []ShipmentItemInput{{LineNo: 1, Quantity: 1}, {SKU: "CUP-002", Quantity: 1}}})
		if err != nil || out != Unchanged || retry.ID != sh.ID || len(retry.Items) != 2 {
			t.Errorf("retry = %+v, %v, %v; want the same shipment", retry, out, err)
		}
		if n := len(messages(t, db)); n != 2 {
			t.Errorf("messages = %d after a retry; want 2", n)
		}
	})

	t.Run("quantities cannot exceed what is left to ship", func(t *testing.T) {
		svc, db := newService(t)
		o := placedOrder(t, svc)
		if _, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1",
			Items: []ShipmentItemInput{{LineNo: 1, Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			items []ShipmentItemInput
			field string
		}{
			{"more than ordered minus shipped", []ShipmentItemInput{{LineNo: 1, Quantity: 2}}, "items[0].quantity"},
			{"a line the order does not have", []ShipmentItemInput{{LineNo: 9, Quantity: 1}}, "items[0].line_no"},
			{"a sku the order does not have", []ShipmentItemInput{{SKU: "NOPE", Quantity: 1}}, "items[0].sku"},
			{"the same line twice", []ShipmentItemInput{{LineNo: 2, Quantity: 1}, {SKU: "CUP-002", Quantity: 1}}, "items[1]"},
			{"no quantity", []ShipmentItemInput{{LineNo: 2}}, "items[0].quantity"},
			{"neither line nor sku", []ShipmentItemInput{{Quantity: 1}}, "items[0]"},
		}
		for _, c := range cases {
			_, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "2", Items: c.items})
			if fs := fieldsOf(err); !slices.Equal(fs, []string{c.field}) {
				t.Errorf("%s: fields = %v (%v); want %s", c.name, fs, err, c.field)
			}
		}
		if n := count(t, db, "shipments"); n != 1 {
			t.Errorf("shipments = %d; refused ones must write nothing", n)
		}
		rest, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "2"})
		if err != nil || len(rest.Items) != 2 || rest.Items[0].Quantity != 1 || rest.Items[1].Quantity != 1 {
			t.Errorf("a shipment without items = %+v, %v; want the remaining 1 + 1", rest.Items, err)
		}
	})

	t.Run("a tracking number of another order is a conflict and an unknown order is not found", func(t *testing.T) {
		svc, _ := newService(t)
		a := placedOrder(t, svc)
		b, _, err := svc.UpsertOrder(ctxT(t), anOrder("other"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.AddShipment(ctxT(t), a.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1Z"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.AddShipment(ctxT(t), b.ID, ShipmentInput{Carrier: "UPS", TrackingNumber: "1z"}); !fault.Is(err, fault.Conflict) {
			t.Errorf("err = %v; want a conflict", err)
		}
		if _, _, err := svc.AddShipment(ctxT(t), 999, ShipmentInput{Carrier: "ups", TrackingNumber: "2"}); !fault.Is(err, fault.NotFound) {
			t.Errorf("err = %v; want not found", err)
		}
	})

	t.Run("a parcel that left more than 72 hours ago is recorded without an email", func(t *testing.T) {
		svc, db := newService(t)
		o := placedOrder(t, svc)
		left := time.Now().Add(-80 * time.Hour).UTC()
		sh, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1", ShippedAt: left.Format(time.RFC3339)})
		if err != nil || sh.ShippedAt == nil || !sh.ShippedAt.Equal(left.Truncate(time.Second)) {
			t.Fatalf("shipment = %+v, %v", sh, err)
		}
		if n := len(messages(t, db)); n != 1 {
			t.Errorf("messages = %d; want only the confirmation", n)
		}
	})

	t.Run("concurrent shipments of one order never ship more than was ordered", func(t *testing.T) {
		svc, db := newService(t)
		o := placedOrder(t, svc)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: fmt.Sprint("T", i),
					Items: []ShipmentItemInput{{LineNo: 1, Quantity: 2}}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !fault.Is(err, fault.Invalid) {
				t.Fatal(err)
			}
		}
		var shipped int
		if err := db.Get(&shipped, `SELECT sum(quantity) FROM shipment_items`); err != nil {
			t.Fatal(err)
		}
		if ok != 1 || shipped != 2 {
			t.Errorf("%d shipments succeeded shipping %d units; want 1 and 2", ok, shipped)
		}
	})
}
