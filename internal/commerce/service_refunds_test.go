package commerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// newEventService is newService with a bus whose probe subscribes to the
// order's refund and cancellation, so that each emit leaves a River job.
func newEventService(t *testing.T) (*Service, *sqlx.DB) {
	return newProbedService(t, map[string][]string{events.OrderRefunded: {"probe"}, events.OrderCancelled: {"probe"}})
}

// newProbedService is newService with a bus on which the named probes
// subscribe to the kinds given, doing nothing: each emit leaves one River
// job per probe to look at.
func newProbedService(t *testing.T, probes map[string][]string) (*Service, *sqlx.DB) {
	t.Helper()
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.New(d, q)
	for kind, names := range probes {
		for _, name := range names {
			bus.Subscribe(kind, name, func(context.Context, *sqlx.Tx, events.Event) error { return nil })
		}
	}
	return NewService(d, mail.NewOutbox(q)).WithEvents(bus), d
}

// emitted returns the events of kind waiting for the probe, oldest first.
func emitted(t *testing.T, d *sqlx.DB, kind string) []events.Event {
	t.Helper()
	var raw [][]byte
	if err := d.Select(&raw, `SELECT args->'event' FROM river_job WHERE kind = 'event.react'
		AND args->'event'->>'kind' = $1 ORDER BY id`, kind); err != nil {
		t.Fatal(err)
	}
	evs := make([]events.Event, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

func refund(orderID, amount int64, ref string) RefundInput {
	return RefundInput{OrderID: orderID, Amount: amount, Currency: "EUR", Reference: ref, Reason: "broken cup", Source: RefundFromStripe}
}

func TestRefundOrder(t *testing.T) {
	t.Run("a partial then a full refund move the order and emit one event each", func(t *testing.T) {
		svc, d := newEventService(t)
		o := placedOrder(t, svc)
		r, out, err := svc.RefundOrder(ctxT(t), refund(o.ID, 1800, "re_1"))
		if err != nil || out != Created {
			t.Fatalf("first refund = %v, %v; want created", out, err)
		}
		if r.ID == 0 || r.OrderID != o.ID || r.Amount != 1800 || r.Currency != "EUR" || r.Reference != "re_1" || r.Source != "stripe" || r.Reason != "broken cup" || r.CreatedAt.IsZero() {
			t.Errorf("refund = %+v", r)
		}
		got, _ := svc.Order(ctxT(t), o.ID)
		if got.Status != "partially_refunded" || got.RefundedMinor != 1800 || len(got.Refunds) != 1 || got.Refunds[0] != r {
			t.Errorf("after a partial refund: status %s, refunded %d, refunds %+v", got.Status, got.RefundedMinor, got.Refunds)
		}
		if _, out, err := svc.RefundOrder(ctxT(t), refund(o.ID, 5017-1800, "re_2")); err != nil || out != Created {
			t.Fatalf("second refund = %v, %v", out, err)
		}
		got, _ = svc.Order(ctxT(t), o.ID)
		if got.Status != "refunded" || got.RefundedMinor != 5017 || len(got.Refunds) != 2 {
			t.Errorf("after the rest: status %s, refunded %d, %d refunds; want refunded 5017", got.Status, got.RefundedMinor, len(got.Refunds))
		}
		evs := emitted(t, d, events.OrderRefunded)
		if len(evs) != 2 {
			t.Fatalf("order.refunded emitted %d times; want 2", len(evs))
		}
		want := []events.Event{
			{Kind: events.OrderRefunded, OrderID: o.ID, CustomerID: o.Customer.ID, Amount: 1800, Currency: "EUR"},
			{Kind: events.OrderRefunded, OrderID: o.ID, CustomerID: o.Customer.ID, Amount: 3217, Currency: "EUR", Full: true},
		}
		for i, ev := range evs {
			ev.ID, ev.At = "", want[i].At
			if ev != want[i] {
				t.Errorf("event %d = %+v; want %+v", i, ev, want[i])
			}
		}
	})

	t.Run("a retry returns the stored refund unchanged and emits nothing", func(t *testing.T) {
		svc, d := newEventService(t)
		o := placedOrder(t, svc)
		first, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 5017, "re_1"))
		if err != nil {
			t.Fatal(err)
		}
		retry := refund(o.ID, 5017, "re_1")
		retry.Currency, retry.Source, retry.Reason = "eur", RefundFromReturn, "another system saw it too"
		again, out, err := svc.RefundOrder(ctxT(t), retry)
		if err != nil || out != Unchanged || again != first {
			t.Fatalf("retry of a full refund = %+v, %v, %v; want the stored refund unchanged", again, out, err)
		}
		if got, _ := svc.Order(ctxT(t), o.ID); got.RefundedMinor != 5017 || len(got.Refunds) != 1 {
			t.Errorf("refunded %d with %d refunds; want one refund counted once", got.RefundedMinor, len(got.Refunds))
		}
		if n := len(emitted(t, d, events.OrderRefunded)); n != 1 {
			t.Errorf("order.refunded emitted %d times; want 1", n)
		}
	})

	t.Run("a reference recorded with another amount is a conflict", func(t *testing.T) {
		svc, _ := newEventService(t)
		o := placedOrder(t, svc)
		if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 100, "re_1")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 200, "re_1")); !fault.Is(err, fault.Conflict) {
			t.Errorf("err = %v; want a conflict", err)
		}
	})

	t.Run("more than is left, another currency or bad input is refused and changes nothing", func(t *testing.T) {
		svc, d := newEventService(t)
		o := placedOrder(t, svc)
		if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 5000, "re_1")); err != nil {
			t.Fatal(err)
		}
		usd := refund(o.ID, 1, "re_usd")
		usd.Currency = "USD"
		cases := []struct {
			name  string
			in    RefundInput
			field string
		}{
			{"one unit more than is left", refund(o.ID, 18, "re_2"), "amount"},
			{"a refund in another currency", usd, "currency"},
			{"a zero amount", refund(o.ID, 0, "re_3"), "amount"},
			{"a negative amount", refund(o.ID, -5, "re_4"), "amount"},
			{"no reference", refund(o.ID, 1, " "), "reference"},
			{"no currency", RefundInput{OrderID: o.ID, Amount: 1, Reference: "re_5"}, "currency"},
			{"an unknown source", RefundInput{OrderID: o.ID, Amount: 1, Currency: "EUR", Reference: "re_6", Source: "paypal"}, "source"},
		}
		for _, c := range cases {
			_, _, err := svc.RefundOrder(ctxT(t), c.in)
			if fault.KindOf(err) != fault.Invalid || !slices.Contains(fieldsOf(err), c.field) {
				t.Errorf("%s: err = %v; want invalid %s", c.name, err, c.field)
			}
		}
		if got, _ := svc.Order(ctxT(t), o.ID); got.RefundedMinor != 5000 || len(got.Refunds) != 1 {
			t.Errorf("refunded %d with %d refunds; refused refunds must change nothing", got.RefundedMinor, len(got.Refunds))
		}
		if n := len(emitted(t, d, events.OrderRefunded)); n != 1 {
			t.Errorf("order.refunded emitted %d times; want 1", n)
		}
		if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 17, "re_7")); err != nil {
			t.Errorf("the exact rest was refused: %v", err)
		}
	})

	t.Run("an unknown order is not found", func(t *testing.T) {
		svc, _ := newEventService(t)
		for _, id := range []int64{0, 999} {
			if _, _, err := svc.RefundOrder(ctxT(t), refund(id, 1, "re_1")); !fault.Is(err, fault.NotFound) {
				t.Errorf("order %d: err = %v; want not found", id, err)
			}
		}
	})

	t.Run("concurrent refunds never exceed the total", func(t *testing.T) {
		svc, d := newEventService(t)
		o := placedOrder(t, svc)
		const n = 8 // 8 × 1000 asked of 5017: five fit
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = svc.RefundOrder(ctxT(t), refund(o.ID, 1000, fmt.Sprintf("re_%d", i)))
			}()
		}
		wg.Wait()
		var ok, refused int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case slices.Contains(fieldsOf(err), "amount"):
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		got, _ := svc.Order(ctxT(t), o.ID)
		if ok != 5 || refused != 3 || got.RefundedMinor != 5000 || len(got.Refunds) != 5 {
			t.Errorf("%d recorded, %d refused, refunded %d; want 5, 3 and 5000", ok, refused, got.RefundedMinor)
		}
		if m := len(emitted(t, d, events.OrderRefunded)); m != 5 {
			t.Errorf("order.refunded emitted %d times; want 5", m)
		}
	})

	t.Run("concurrent retries of one refund record it once", func(t *testing.T) {
		svc, _ := newEventService(t)
		o := placedOrder(t, svc)
		outs := make([]Outcome, 6)
		var wg sync.WaitGroup
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if _, outs[i], err = svc.RefundOrder(ctxT(t), refund(o.ID, 700, "re_same")); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		slices.Sort(outs)
		if want := []Outcome{Created, Unchanged, Unchanged, Unchanged, Unchanged, Unchanged}; !slices.Equal(outs, want) {
			t.Errorf("outcomes = %v; want one created", outs)
		}
		if got, _ := svc.Order(ctxT(t), o.ID); got.RefundedMinor != 700 {
			t.Errorf("refunded = %d; want 700", got.RefundedMinor)
		}
	})
}

func TestRecordRefundIsPartOfTheCallersTransaction(t *testing.T) {
	svc, d := newEventService(t)
	o := placedOrder(t, svc)
	rollback := errors.New("the caller's own change failed")
	err := db.InTx(ctxT(t), d, func(tx *sqlx.Tx) error {
		if _, out, err := svc.RecordRefund(ctxT(t), tx, refund(o.ID, 1000, "return:1")); err != nil || out != Created {
			t.Fatalf("RecordRefund = %v, %v", out, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v", err)
	}
	got, _ := svc.Order(ctxT(t), o.ID)
	if got.RefundedMinor != 0 || got.Status != "open" || len(got.Refunds) != 0 || len(emitted(t, d, events.OrderRefunded)) != 0 {
		t.Fatalf("after rollback: refunded %d, status %s, %d refunds; want nothing", got.RefundedMinor, got.Status, len(got.Refunds))
	}
	err = db.InTx(ctxT(t), d, func(tx *sqlx.Tx) error {
		_, _, err := svc.RecordRefund(ctxT(t), tx, refund(o.ID, 1000, "return:1"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = svc.Order(ctxT(t), o.ID)
	if got.RefundedMinor != 1000 || len(emitted(t, d, events.OrderRefunded)) != 1 {
		t.Errorf("after commit: refunded %d; want 1000 and one event", got.RefundedMinor)
	}
}
