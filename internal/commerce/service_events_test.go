package commerce

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

// shipped stores anOrder and one shipment of it; it returns the shipment and
// a base time an hour ago for events.
func shipped(t *testing.T, svc *Service) (Shipment, time.Time) {
	t.Helper()
	o := placedOrder(t, svc)
	sh, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "dhl", TrackingNumber: "JD1"})
	if err != nil {
		t.Fatal(err)
	}
	return sh, time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
}

func event(status ShipmentStatus, at time.Time, id string) TrackingEventInput {
	return TrackingEventInput{Status: string(status), OccurredAt: at.Format(time.RFC3339), ProviderEventID: id, Location: "Leipzig"}
}

func TestAddTrackingEvent(t *testing.T) {
	t.Run("the newest event decides and a late older one only joins the timeline", func(t *testing.T) {
		svc, db := newService(t)
		sh, t0 := shipped(t, svc)
		steps := []struct {
			in         TrackingEventInput
			wantStatus ShipmentStatus
		}{
			{event(InTransit, t0, "e1"), InTransit},
			{event(Delivered, t0.Add(30*time.Minute), "e3"), Delivered},
			{event(OutForDelivery, t0.Add(10*time.Minute), "e2"), Delivered},
			{event(LabelCreated, t0.Add(-time.Hour), "e0"), Delivered},
		}
		var got Shipment
		for _, s := range steps {
			var out Outcome
			var err error
			_, got, out, err = svc.AddTrackingEvent(ctxT(t), sh.ID, s.in)
			if err != nil || out != Created {
				t.Fatalf("%s: %v, %v", s.in.ProviderEventID, out, err)
			}
			if got.Status != s.wantStatus {
				t.Errorf("after %s: status = %s; want %s", s.in.ProviderEventID, got.Status, s.wantStatus)
			}
		}
		if got.DeliveredAt == nil || !got.DeliveredAt.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("delivered_at = %v; want the delivered event's time", got.DeliveredAt)
		}
		if got.ShippedAt == nil || !got.ShippedAt.Equal(t0) {
			t.Errorf("shipped_at = %v; want the first in-transit event, not the label", got.ShippedAt)
		}
		full, err := svc.Shipment(ctxT(t), sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		var timeline []string
		for _, e := range full.Events {
			timeline = append(timeline, e.ProviderEventID)
		}
		if !slices.Equal(timeline, []string{"e0", "e1", "e2", "e3"}) {
			t.Errorf("timeline = %v; want every event by time", timeline)
		}
		want := []string{fmt.Sprintf("order_confirmation:%d", sh.OrderID), fmt.Sprintf("shipment_shipped:%d", sh.ID),
			fmt.Sprintf("shipment_delivered:%d", sh.ID)}
		if got := dedupeKeys(t, db); !slices.Equal(got, want) {
			t.Errorf("messages = %v; want %v (the late out-for-delivery scan sends nothing)", got, want)
		}
	})

	t.Run("a duplicate provider event id returns the stored event and changes nothing", func(t *testing.T) {
		svc, db := newService(t)
		sh, t0 := shipped(t, svc)
		first, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(OutForDelivery, t0, "e1"))
		if err != nil {
			t.Fatal(err)
		}
		dup, after, out, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(Delivered, t0.Add(time.Hour), "e1"))
		if err != nil || out != Unchanged || dup.ID != first.ID || dup.Status != OutForDelivery {
			t.Fatalf("duplicate = %+v, %v, %v; want the stored event", dup, out, err)
		}
		if after.Status != OutForDelivery || after.DeliveredAt != nil || count(t, db, "tracking_events") != 1 {
			t.Errorf("shipment = %+v; want it untouched", after)
		}
		if got := dedupeKeys(t, db); got[len(got)-1] != fmt.Sprintf("shipment_out_for_delivery:%d", sh.ID) || len(got) != 3 {
			t.Errorf("messages = %v; want one out-for-delivery email", got)
		}
	})

	t.Run("an event without a provider id is deduplicated by its content", func(t *testing.T) {
		svc, db := newService(t)
		sh, t0 := shipped(t, svc)
		for range 2 {
			if _, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(InTransit, t0, "")); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, db, "tracking_events"); n != 1 {
			t.Errorf("events = %d; want 1", n)
		}
	})

	t.Run("the ETA follows the newest event and a later scan after delivery clears delivered_at", func(t *testing.T) {
		svc, _ := newService(t)
		sh, t0 := shipped(t, svc)
		steps := []TrackingEventInput{
			{Status: "in_transit", OccurredAt: t0.Format(time.RFC3339), ProviderEventID: "a", EstimatedDelivery: "2030-01-05"},
			{Status: "in_transit", OccurredAt: t0.Add(-time.Minute).Format(time.RFC3339), ProviderEventID: "b", EstimatedDelivery: "2030-01-09"},
			{Status: "delivered", OccurredAt: t0.Add(time.Minute).Format(time.RFC3339), ProviderEventID: "c"},
			{Status: "delivered", OccurredAt: t0.Add(2 * time.Minute).Format(time.RFC3339), ProviderEventID: "d"},
		}
		var got Shipment
		for _, in := range steps {
			var err error
			if _, got, _, err = svc.AddTrackingEvent(ctxT(t), sh.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		if got.EstimatedDelivery == nil || *got.EstimatedDelivery != "2030-01-05" {
			t.Errorf("eta = %v; want the newest event's 2030-01-05", got.EstimatedDelivery)
		}
		if got.DeliveredAt == nil || !got.DeliveredAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("delivered_at = %v; want the first delivered scan", got.DeliveredAt)
		}
		_, got, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(ReturnedToSender, t0.Add(3*time.Minute), "e"))
		if err != nil || got.Status != ReturnedToSender || got.DeliveredAt != nil {
			t.Errorf("after return = %+v, %v; want returned_to_sender without delivered_at", got, err)
		}
	})

	t.Run("two events at the same instant never move the parcel back", func(t *testing.T) {
		svc, _ := newService(t)
		sh, t0 := shipped(t, svc)
		if _, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(Delivered, t0, "a")); err != nil {
			t.Fatal(err)
		}
		_, got, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(InTransit, t0, "b"))
		if err != nil || got.Status != Delivered {
			t.Errorf("status = %s, %v; want delivered", got.Status, err)
		}
	})

	t.Run("problems email once per event, and old events email nothing", func(t *testing.T) {
		svc, db := newService(t)
		sh, t0 := shipped(t, svc)
		old := time.Now().Add(-100 * time.Hour)
		ins := []TrackingEventInput{
			event(OutForDelivery, old, "old"), // history: it may move the parcel, but mails nothing
			event(AttemptedDelivery, t0, "p1"),
			event(OutForDelivery, t0.Add(time.Minute), "o1"),
			event(AttemptedDelivery, t0.Add(2*time.Minute), "p2"),
			event(AvailableForPickup, t0.Add(3*time.Minute), "p3"),
		}
		var ids []int64
		for _, in := range ins {
			ev, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ev.ID)
		}
		want := []string{
			fmt.Sprintf("order_confirmation:%d", sh.OrderID), fmt.Sprintf("shipment_shipped:%d", sh.ID),
			fmt.Sprintf("shipment_exception:%d:attempted_delivery:%d", sh.ID, ids[1]),
			fmt.Sprintf("shipment_out_for_delivery:%d", sh.ID),
			fmt.Sprintf("shipment_exception:%d:attempted_delivery:%d", sh.ID, ids[3]),
			fmt.Sprintf("shipment_exception:%d:available_for_pickup:%d", sh.ID, ids[4]),
		}
		if got := dedupeKeys(t, db); !slices.Equal(got, want) {
			t.Errorf("messages =\n%v\nwant\n%v", got, want)
		}
		if ms := messages(t, db); ms[2].Kind != "shipment_exception" || ms[2].ShipmentID.Int64 != sh.ID {
			t.Errorf("exception message = %+v", ms[2])
		}
	})

	t.Run("an old out-for-delivery event still moves a parcel that had no newer news", func(t *testing.T) {
		svc, db := newService(t)
		sh, _ := shipped(t, svc)
		_, got, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(OutForDelivery, time.Now().Add(-100*time.Hour), "x"))
		if err != nil || got.Status != OutForDelivery {
			t.Fatalf("status = %s, %v", got.Status, err)
		}
		if n := len(messages(t, db)); n != 2 {
			t.Errorf("messages = %d; want no email for a 100-hour-old event", n)
		}
	})

	t.Run("bad events and unknown shipments are refused without writing", func(t *testing.T) {
		svc, db := newService(t)
		sh, t0 := shipped(t, svc)
		cases := map[string]TrackingEventInput{
			"status":             {Status: "lost", OccurredAt: t0.Format(time.RFC3339)},
			"occurred_at":        {Status: "in_transit", OccurredAt: time.Now().Add(48 * time.Hour).Format(time.RFC3339)},
			"estimated_delivery": {Status: "in_transit", OccurredAt: t0.Format(time.RFC3339), EstimatedDelivery: "05/01/2030"},
			"location":           {Status: "in_transit", OccurredAt: t0.Format(time.RFC3339), Location: "a\x00b"},
		}
		for field, in := range cases {
			if _, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, in); !slices.Equal(fieldsOf(err), []string{field}) {
				t.Errorf("err = %v; want a problem on %s", err, field)
			}
		}
		if _, _, _, err := svc.AddTrackingEvent(ctxT(t), 999, event(InTransit, t0, "x")); !fault.Is(err, fault.NotFound) {
			t.Errorf("err = %v; want not found", err)
		}
		if n := count(t, db, "tracking_events"); n != 0 {
			t.Errorf("events = %d; want none", n)
		}
	})

	t.Run("concurrent events end on the newest one", func(t *testing.T) {
		svc, _ := newService(t)
		sh, t0 := shipped(t, svc)
		statuses := []ShipmentStatus{InTransit, InTransit, OutForDelivery, InTransit, Delivered, InTransit, InTransit, InTransit}
		var wg sync.WaitGroup
		for i, st := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Delivered is the newest (index 4 gets the latest time).
				at := t0.Add(time.Duration(i) * time.Minute)
				if st == Delivered {
					at = t0.Add(time.Hour)
				}
				if _, _, _, err := svc.AddTrackingEvent(ctxT(t), sh.ID, event(st, at, fmt.Sprint("c", i))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := svc.Shipment(ctxT(t), sh.ID)
		if err != nil || got.Status != Delivered || len(got.Events) != len(statuses) || !got.ShippedAt.Equal(t0) {
			t.Errorf("shipment = %s, %d events, shipped %v, %v; want delivered, all events, shipped at t0", got.Status, len(got.Events), got.ShippedAt, err)
		}
	})
}
