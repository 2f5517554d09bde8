package commerce

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestChangesEmitDomainEventsInTheirTransaction(t *testing.T) {
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.New(d, q)
	for _, kind := range []string{events.OrderCreated, events.ShipmentCreated, events.ShipmentStatusChanged} {
		bus.Subscribe(kind, "probe", func(context.Context, *sqlx.Tx, events.Event) error { return nil })
	}
	svc := NewService(d, mail.NewOutbox(q)).WithEvents(bus)
	ctx := ctxT(t)
	count := func(kind string) int {
		var n int
		if err := d.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'event.react' AND args->'event'->>'kind' = $1`, kind); err != nil {
			t.Fatal(err)
		}
		return n
	}
	o, _, err := svc.UpsertOrder(ctx, anOrder("ev-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.UpsertOrder(ctx, anOrder("ev-1")); err != nil {
		t.Fatal(err)
	}
	if n := count(events.OrderCreated); n != 1 {
		t.Fatalf("order.created emitted %d times for one order sent twice", n)
	}
	sh, _, err := svc.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1ZEV1"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for i := 0; i < 2; i++ { // the retry of the same scan changes nothing
		if _, _, _, err := svc.AddTrackingEvent(ctx, sh.ID, TrackingEventInput{Status: "delivered", OccurredAt: at, ProviderEventID: "p1"}); err != nil {
			t.Fatal(err)
		}
	}
	if count(events.ShipmentCreated) != 1 || count(events.ShipmentStatusChanged) != 1 {
		t.Fatalf("shipment events: created %d, status changed %d", count(events.ShipmentCreated), count(events.ShipmentStatusChanged))
	}
	if _, _, err := svc.UpsertOrder(ctx, OrderInput{ExternalID: "bad"}); err == nil {
		t.Fatal("an invalid order was accepted")
	}
	if n := count(events.OrderCreated); n != 1 {
		t.Fatalf("a refused order emitted an event (%d)", n)
	}
}
