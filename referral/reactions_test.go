package referral

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/referral/rewards"
)

// react runs one of the service's reactions in a transaction, as the bus would.
func (w *world) react(h events.Handler, ev events.Event) {
	w.t.Helper()
	if err := db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error { return h(context.Background(), tx, ev) }); err != nil {
		w.t.Fatalf("%s: %v", ev.Kind, err)
	}
}

func TestRefundsCancellationsAndDisputesVoidTheHeldReward(t *testing.T) {
	cases := []struct {
		name   string
		act    func(w *world, o commerce.Order)
		status string
		reason string
	}{
		{"a full refund", func(w *world, o commerce.Order) {
			if _, _, err := w.commerce.RefundOrder(context.Background(), commerce.RefundInput{OrderID: o.ID, Amount: o.TotalMinor, Currency: "USD", Reference: "re_1"}); err != nil {
				w.t.Fatal(err)
			}
			w.react(w.svc.OrderRefunded, events.Event{Kind: events.OrderRefunded, OrderID: o.ID, Full: true, Amount: o.TotalMinor})
		}, rewards.Voided, "Your friend's order was refunded."},
		{"a small partial refund keeps it", func(w *world, o commerce.Order) {
			if _, _, err := w.commerce.RefundOrder(context.Background(), commerce.RefundInput{OrderID: o.ID, Amount: 500, Currency: "USD", Reference: "re_2"}); err != nil {
				w.t.Fatal(err)
			}
			w.react(w.svc.OrderRefunded, events.Event{Kind: events.OrderRefunded, OrderID: o.ID, Amount: 500})
		}, rewards.Held, ""},
		{"a dispute", func(w *world, o commerce.Order) {
			if _, _, err := w.commerce.RefundOrder(context.Background(), commerce.RefundInput{OrderID: o.ID, Amount: 500, Currency: "USD", Reference: "dp_1", Source: commerce.RefundFromDispute}); err != nil {
				w.t.Fatal(err)
			}
			w.react(w.svc.OrderRefunded, events.Event{Kind: events.OrderRefunded, OrderID: o.ID, Amount: 500})
		}, rewards.Voided, "Your friend's payment was disputed."},
		{"a cancellation", func(w *world, o commerce.Order) {
			if _, _, err := w.commerce.CancelOrder(context.Background(), o.ID, "customer asked"); err != nil {
				w.t.Fatal(err)
			}
			w.react(w.svc.OrderCancelled, events.Event{Kind: events.OrderCancelled, OrderID: o.ID})
		}, rewards.Voided, "Your friend's order was cancelled."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, false)
			jane := w.referrer("jane@example.com", "Jane Doe", order{})
			claim := w.claim(jane, "sam@example.net", "", w.now.Add(-24*time.Hour))
			o := w.place(order{email: "sam@example.net", codes: []string{claim.Code()}})
			tc.act(w, o)
			if rw := w.rewardOf(claim.ID); rw.Status != tc.status || rw.VoidReason != tc.reason || rw.Clawback != rewards.ClawbackNone {
				t.Fatalf("reward %s %q %s", rw.Status, rw.VoidReason, rw.Clawback)
			}
		})
	}
}

func TestInvitesGoOutAfterDeliveryAndGoodReviewsOncePerOrder(t *testing.T) {
	w := newWorld(t, false)
	o := w.place(order{email: "jane@example.com", name: "Jane Doe"})
	invites := func() int {
		return w.count(`SELECT count(*) FROM messages WHERE kind = 'referral_invite' AND marketing AND customer_id = $1`, o.CustomerID)
	}
	w.react(w.svc.ReviewSubmitted, events.Event{Kind: events.ReviewSubmitted, CustomerID: o.CustomerID, OrderID: o.ID, Rating: 3})
	w.react(w.svc.ShipmentChanged, events.Event{Kind: events.ShipmentStatusChanged, OrderID: o.ID, Status: "in_transit"})
	w.react(w.svc.ShipmentChanged, events.Event{Kind: events.ShipmentStatusChanged, OrderID: o.ID, Status: "delivered", Historic: true})
	if n := invites(); n != 0 {
		t.Fatalf("%d invites before a good moment", n)
	}
	w.react(w.svc.ShipmentChanged, events.Event{Kind: events.ShipmentStatusChanged, OrderID: o.ID, Status: "delivered"})
	w.react(w.svc.ReviewSubmitted, events.Event{Kind: events.ReviewSubmitted, CustomerID: o.CustomerID, OrderID: o.ID, Rating: 5})
	if n := invites(); n != 1 {
		t.Fatalf("%d invites for one order", n)
	}
	second := w.place(order{email: "jane@example.com", name: "Jane Doe"})
	w.react(w.svc.ReviewSubmitted, events.Event{Kind: events.ReviewSubmitted, CustomerID: o.CustomerID, OrderID: second.ID, Rating: 4})
	if n := invites(); n != 2 {
		t.Fatalf("%d invites after a 4-star review of another order", n)
	}
}
