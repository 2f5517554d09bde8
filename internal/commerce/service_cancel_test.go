package commerce

import (
	"slices"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

func TestCancelOrder(t *testing.T) {
	t.Run("cancelling is recorded once, with the first reason and time", func(t *testing.T) {
		svc, d := newEventService(t)
		o := placedOrder(t, svc)
		c, out, err := svc.CancelOrder(ctxT(t), o.ID, "  changed their mind ")
		if err != nil || out != Updated {
			t.Fatalf("CancelOrder = %v, %v; want updated", out, err)
		}
		if c.Status != "cancelled" || c.CancelledAt == nil || c.CancelReason != "changed their mind" || len(c.Items) != 2 || c.Customer.ID != o.Customer.ID {
			t.Errorf("cancelled order = %+v", c)
		}
		again, out, err := svc.CancelOrder(ctxT(t), o.ID, "a second reason")
		if err != nil || out != Unchanged || !again.CancelledAt.Equal(*c.CancelledAt) || again.CancelReason != "changed their mind" {
			t.Errorf("second cancel = %v, %v, %+v; want unchanged with the first reason", out, err, again)
		}
		evs := emitted(t, d, events.OrderCancelled)
		if len(evs) != 1 || evs[0].OrderID != o.ID || evs[0].CustomerID != o.Customer.ID || evs[0].Status != "cancelled" {
			t.Errorf("order.cancelled events = %+v; want one for the order", evs)
		}
	})

	t.Run("a cancelled order stays cancelled when refunded, and a resent order keeps it cancelled", func(t *testing.T) {
		svc, _ := newEventService(t)
		o := placedOrder(t, svc)
		if _, _, err := svc.CancelOrder(ctxT(t), o.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 5017, "re_1")); err != nil {
			t.Fatal(err)
		}
		resent := anOrder("1001")
		resent.Number = "#A-1001"
		if _, out, err := svc.UpsertOrder(ctxT(t), resent); err != nil || out != Updated {
			t.Fatalf("resend = %v, %v", out, err)
		}
		got, _ := svc.Order(ctxT(t), o.ID)
		if got.Status != "cancelled" || got.CancelledAt == nil || got.RefundedMinor != 5017 {
			t.Errorf("status %s, cancelled_at %v, refunded %d; want cancelled with 5017 refunded", got.Status, got.CancelledAt, got.RefundedMinor)
		}
	})

	t.Run("an unknown order is not found and a long reason is refused", func(t *testing.T) {
		svc, _ := newEventService(t)
		o := placedOrder(t, svc)
		if _, _, err := svc.CancelOrder(ctxT(t), 999, ""); !fault.Is(err, fault.NotFound) {
			t.Errorf("unknown order: err = %v", err)
		}
		if _, _, err := svc.CancelOrder(ctxT(t), o.ID, strings.Repeat("x", 1001)); !slices.Contains(fieldsOf(err), "reason") {
			t.Errorf("long reason: err = %v", err)
		}
		if got, _ := svc.Order(ctxT(t), o.ID); got.Status != "open" || got.CancelledAt != nil {
			t.Errorf("order = %s %v; a refused cancel must change nothing", got.Status, got.CancelledAt)
		}
	})
}

func TestOrderUpdatesKeepRefundsWithinTheTotal(t *testing.T) {
	svc, _ := newEventService(t)
	o := placedOrder(t, svc)
	if _, _, err := svc.RefundOrder(ctxT(t), refund(o.ID, 4000, "re_1")); err != nil {
		t.Fatal(err)
	}
	smaller := anOrder("1001")
	smaller.Items = smaller.Items[:1] // 2 × 1250: total 2500 - 500 + 495 + 722 = 3217
	smaller.Subtotal, smaller.Total = 2500, 3217
	usd := anOrder("1001")
	usd.Currency = "USD"
	for name, c := range map[string]struct {
		in    OrderInput
		field string
	}{
		"a total below what was refunded": {smaller, "total"},
		"another currency":                {usd, "currency"},
	} {
		if _, _, err := svc.UpsertOrder(ctxT(t), c.in); !slices.Contains(fieldsOf(err), c.field) {
			t.Errorf("%s: err = %v; want %s named", name, err, c.field)
		}
	}
	// The store drops the discount: the total grows and the refund no longer covers it.
	bigger := anOrder("1001")
	bigger.Discount, bigger.Total = 0, 5517
	got, out, err := svc.UpsertOrder(ctxT(t), bigger)
	if err != nil || out != Updated || got.Status != "partially_refunded" || got.RefundedMinor != 4000 {
		t.Errorf("bigger total = %v, %v, status %s, refunded %d", out, err, got.Status, got.RefundedMinor)
	}
	exact := anOrder("1001")
	exact.Shipping, exact.Tax, exact.Discount, exact.Total = 0, 200, 500, 4000
	if got, _, err := svc.UpsertOrder(ctxT(t), exact); err != nil || got.Status != "refunded" {
		t.Errorf("a total equal to the refunds = %v, status %s; want refunded", err, got.Status)
	}
}
