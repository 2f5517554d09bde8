package rewards

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
)

// returnsStub answers OpenReturns from a map the test changes.
type returnsStub map[int64]bool

func (r returnsStub) OpenReturns(_ context.Context, orderID int64) (bool, error) {
	return r[orderID], nil
}

func TestHeldRewardWaitsForDeliveryThenTheReturnWindowThenPays(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	referrer := w.customer("jane@example.com")
	friend := w.customer("sam@example.net")
	order := w.order(friend, nil) // in transit
	ref := w.referral(referrer, friend, order)
	var r Reward
	err := db.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		var err error
		r, _, err = w.svc.Hold(ctx, tx, HoldInput{ReferralID: ref, ReferrerID: referrer, OrderID: order, Program: program.Defaults()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Held || r.AmountMinor != 1000 || r.RewardType != program.Coupon {
		t.Fatalf("new reward: %+v", r)
	}

	w.sweep()
	if r = w.reward(r.ID); r.Status != Held || r.HoldNote != "waiting for delivery" || r.PayableAt != nil {
		t.Fatalf("before delivery: status %s, note %q, payable %v", r.Status, r.HoldNote, r.PayableAt)
	}

	delivered := w.clock.now().Add(-5 * 24 * time.Hour)
	w.exec(`UPDATE shipments SET status = 'delivered', delivered_at = $2 WHERE order_id = $1`, order, delivered)
	if err := settings.SaveSection(ctx, w.db, "returns", map[string]int{"window_days": 14}, "test"); err != nil {
		t.Fatal(err)
	}
	w.sweep()
	r = w.reward(r.ID)
	want := delivered.Add(14 * 24 * time.Hour)
	if r.Status != Held || r.PayableAt == nil || !r.PayableAt.Equal(want) {
		t.Fatalf("inside the window: status %s, payable %v, want %v", r.Status, r.PayableAt, want)
	}

	w.clock.add(9*24*time.Hour + time.Minute)
	if res := w.sweep(); res.Released != 1 || res.Granted != 1 {
		t.Fatalf("after the window: %+v", res)
	}
	r = w.reward(r.ID)
	if r.Status != Granted || r.Code() == "" || r.StripePromotionCodeID == "" || r.StripeCustomerID == "" {
		t.Fatalf("after the window: %+v", r)
	}
	if got := w.moves(r.ID); !slices.Equal(got, []string{">held", "held>pending", "pending>granted"}) {
		t.Fatalf("history %v", got)
	}
}

func TestAnOpenReturnKeepsTheRewardOnHold(t *testing.T) {
	w := newWorld(t)
	open := returnsStub{}
	w.svc = w.service(w.db, open)
	r, order := w.hold(program.Defaults())
	open[order] = true
	w.clock.add(30 * 24 * time.Hour)
	w.sweep()
	if r = w.reward(r.ID); r.Status != Held || r.HoldNote != "a return is open" {
		t.Fatalf("with an open return: %s %q", r.Status, r.HoldNote)
	}
	open[order] = false
	err := db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error { return w.svc.Evaluate(context.Background(), tx, order) })
	if err != nil {
		t.Fatal(err)
	}
	if r = w.reward(r.ID); r.Status != Pending || r.Code() == "" || r.CodeExpiresAt == nil {
		t.Fatalf("after the return closed: %+v", r)
	}
}

func TestARefundInsideTheHoldVoidsWithoutClawback(t *testing.T) {
	w := newWorld(t)
	r, order := w.hold(program.Defaults())
	err := db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
		n, err := w.svc.VoidOrder(context.Background(), tx, order, "Your friend's order was refunded.")
		if n != 1 {
			t.Errorf("voided %d rewards", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r = w.reward(r.ID)
	if r.Status != Voided || r.Clawback != ClawbackNone || r.VoidReason != "Your friend's order was refunded." {
		t.Fatalf("after refund: %+v", r)
	}
	w.clock.add(60 * 24 * time.Hour)
	if res := w.sweep(); res != (SweepResult{}) {
		t.Fatalf("a voided reward was worked on: %+v", res)
	}
	if calls := w.rec.posts("/v1/"); len(calls) != 0 {
		t.Fatalf("Stripe was called for a voided reward: %+v", calls)
	}
}

func TestACancelledOrderFoundOnTheSweepVoidsTheHold(t *testing.T) {
	w := newWorld(t)
	r, order := w.hold(program.Defaults())
	w.exec(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, order)
	w.sweep()
	if r = w.reward(r.ID); r.Status != Voided || !strings.Contains(r.VoidReason, "cancelled") {
		t.Fatalf("after cancellation: %s %q", r.Status, r.VoidReason)
	}
}

func TestFlaggedRewardsWaitForStaff(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r, _ := w.hold(program.Defaults(), "same_address")
	if r.Status != Flagged || !slices.Equal([]string(r.Signals), []string{"same_address"}) {
		t.Fatalf("flagged: %+v", r)
	}
	w.clock.add(60 * 24 * time.Hour)
	w.sweep()
	if r = w.reward(r.ID); r.Status != Flagged {
		t.Fatalf("the sweep moved a flagged reward to %s", r.Status)
	}
	if err := w.svc.Reject(ctx, r.ID, " ", "staff:1"); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("reject without a reason: %v", err)
	}
	if err := w.svc.Approve(ctx, r.ID, "staff:1"); err != nil {
		t.Fatal(err)
	}
	// Approved after its hold is over: payable at once.
	if r = w.reward(r.ID); r.Status != Pending {
		t.Fatalf("after approval: %s", r.Status)
	}
	if err := w.svc.Approve(ctx, r.ID, "staff:1"); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("second approval: %v", err)
	}

	other, _ := w.hold(program.Defaults(), "velocity")
	if err := w.svc.Reject(ctx, other.ID, "Too many referrals from one household", "staff:1"); err != nil {
		t.Fatal(err)
	}
	if other = w.reward(other.ID); other.Status != Voided || other.VoidReason != "Too many referrals from one household" {
		t.Fatalf("after rejection: %+v", other)
	}
	var audits int
	if err := w.db.GetContext(ctx, &audits, `SELECT count(*) FROM audit_log WHERE action LIKE 'referral.reward_%'`); err != nil || audits != 2 {
		t.Fatalf("audit entries: %d %v", audits, err)
	}
}

func TestHoldIsOncePerReferral(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r, order := w.hold(program.Defaults())
	err := db.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		again, created, err := w.svc.Hold(ctx, tx, HoldInput{ReferralID: *r.ReferralID, ReferrerID: r.CustomerID, OrderID: order, Program: program.Defaults()})
		if created || again.ID != r.ID {
			t.Errorf("second hold: created %v, id %d, want %d", created, again.ID, r.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
