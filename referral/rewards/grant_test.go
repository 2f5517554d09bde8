package rewards

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
)

// payable holds a reward and moves the clock past its return window.
func (w *world) payable(p program.Settings) Reward {
	w.t.Helper()
	r, _ := w.hold(p)
	w.clock.add(21 * 24 * time.Hour)
	return r
}

func TestACouponGrantSendsTheRequestsStripeExpects(t *testing.T) {
	w := newWorld(t)
	r := w.payable(program.Defaults())
	if res := w.sweep(); res.Granted != 1 {
		t.Fatalf("sweep: %+v", res)
	}
	r = w.reward(r.ID)
	key := "reward:" + strconv.FormatInt(r.ID, 10)

	customers := w.rec.posts("/v1/customers")
	if len(customers) != 1 || customers[0].Key != "customer:"+strconv.FormatInt(r.CustomerID, 10)+":create" ||
		customers[0].Form.Get("metadata[aftercare_customer_id]") != strconv.FormatInt(r.CustomerID, 10) || customers[0].Form.Get("email") == "" {
		t.Fatalf("customer creation: %+v", customers)
	}
	coupons := w.rec.posts("/v1/coupons")
	if len(coupons) != 1 || coupons[0].Form.Get("amount_off") != "1000" || coupons[0].Form.Get("currency") != "usd" ||
		coupons[0].Form.Get("duration") != "once" || coupons[0].Key != "coupon:amount:1000:USD" {
		t.Fatalf("coupon: %+v", coupons)
	}
	promos := w.rec.posts("/v1/promotion_codes")
	if len(promos) != 1 {
		t.Fatalf("promotion codes: %+v", promos)
	}
	f := promos[0].Form
	for field, want := range map[string]string{
		"code": r.Code(), "customer": r.StripeCustomerID, "coupon": r.StripeCouponID, "max_redemptions": "1",
		"expires_at":                      strconv.FormatInt(r.CodeExpiresAt.Unix(), 10),
		"metadata[aftercare_reward_id]":   strconv.FormatInt(r.ID, 10),
		"metadata[aftercare_referral_id]": strconv.FormatInt(*r.ReferralID, 10),
	} {
		if got := f.Get(field); got != want || want == "" {
			t.Errorf("promotion code %s = %q, want %q", field, got, want)
		}
	}
	if promos[0].Key != key+":promotion_code" {
		t.Errorf("Idempotency-Key %q", promos[0].Key)
	}
	if f.Has("restrictions[first_time_transaction]") {
		t.Error("the referrer's own code must not be limited to first-time shoppers")
	}
	if want := r.GrantedAt.Add(180 * 24 * time.Hour); r.CodeExpiresAt.Sub(want).Abs() > time.Minute {
		t.Errorf("code expires %v, want about %v", r.CodeExpiresAt, want)
	}

	// The customer is remembered: a second grant does not make another.
	second := w.payable(program.Defaults())
	w.exec(`UPDATE customers SET stripe_customer_id = 'cus_known' WHERE id = $1`, second.CustomerID)
	w.sweep()
	if second = w.reward(second.ID); second.Status != Granted || second.StripeCustomerID != "cus_known" {
		t.Fatalf("second grant: %s %q", second.Status, second.StripeCustomerID)
	}
	if n := len(w.rec.posts("/v1/coupons")); n != 1 {
		t.Errorf("the coupon of one offer shape was made %d times", n)
	}
}

func TestACreditGrantIsANegativeBalanceTransaction(t *testing.T) {
	w := newWorld(t)
	p := program.Defaults()
	p.RewardType = program.Credit
	r := w.payable(p)
	w.sweep()
	r = w.reward(r.ID)
	if r.Status != Granted || r.StripeBalanceTxnID == "" || r.Code() != "" {
		t.Fatalf("credit grant: %+v", r)
	}
	calls := w.rec.posts("/v1/customers/" + r.StripeCustomerID + "/balance_transactions")
	if len(calls) != 1 || calls[0].Form.Get("amount") != "-1000" || calls[0].Form.Get("currency") != "usd" ||
		calls[0].Key != fmt.Sprintf("reward:%d:credit", r.ID) {
		t.Fatalf("balance transaction: %+v", calls)
	}
}

func TestVoidAfterGrantClawsBack(t *testing.T) {
	cases := []struct {
		name       string
		rewardType string
		check      func(t *testing.T, w *world, r Reward)
	}{
		{"a coupon is deactivated", program.Coupon, func(t *testing.T, w *world, r Reward) {
			calls := w.rec.posts("/v1/promotion_codes/" + r.StripePromotionCodeID)
			if len(calls) != 1 || calls[0].Form.Get("active") != "false" || calls[0].Key != fmt.Sprintf("reward:%d:deactivate", r.ID) {
				t.Fatalf("deactivation: %+v", calls)
			}
		}},
		{"a credit is reversed", program.Credit, func(t *testing.T, w *world, r Reward) {
			calls := w.rec.posts("/v1/customers/" + r.StripeCustomerID + "/balance_transactions")
			if len(calls) != 2 || calls[1].Form.Get("amount") != "1000" || calls[1].Key != fmt.Sprintf("reward:%d:reverse", r.ID) {
				t.Fatalf("reversal: %+v", calls)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			p := program.Defaults()
			p.RewardType = tc.rewardType
			r := w.payable(p)
			w.sweep()
			err := db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
				_, err := w.svc.VoidOrder(context.Background(), tx, *r.OrderID, "The payment was disputed.")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if r = w.reward(r.ID); r.Status != Voided || r.Clawback != ClawbackPending {
				t.Fatalf("after void: %s %s", r.Status, r.Clawback)
			}
			if res := w.sweep(); res.Clawed != 1 {
				t.Fatalf("sweep: %+v", res)
			}
			r = w.reward(r.ID)
			if r.Clawback != ClawbackDone || r.VoidReason != "The payment was disputed." {
				t.Fatalf("after clawback: %+v", r)
			}
			tc.check(t, w, r)
			if got := w.moves(r.ID); !slices.Equal(got, []string{">held", "held>pending", "pending>granted", "granted>voided", "voided>voided"}) {
				t.Fatalf("history %v", got)
			}
			if res := w.sweep(); res.Clawed != 0 {
				t.Fatal("clawed back twice")
			}
		})
	}
}

func TestAFailedGrantIsRetriedWithBackoff(t *testing.T) {
	w := newWorld(t)
	failures := 2
	w.rec.fail = func(method, path string) bool {
		if method == http.MethodPost && path == "/v1/promotion_codes" && failures > 0 {
			failures--
			return true
		}
		return false
	}
	r := w.payable(program.Defaults())
	if res := w.sweep(); res.Failed != 1 {
		t.Fatalf("first sweep: %+v", res)
	}
	r = w.reward(r.ID)
	if r.Status != Failed || r.Attempts != 1 || r.NextAttemptAt == nil || !r.NextAttemptAt.Equal(w.clock.now().Add(time.Minute)) ||
		!strings.Contains(r.LastError, "connection reset") {
		t.Fatalf("after one failure: %+v", r)
	}
	if res := w.sweep(); res != (SweepResult{}) {
		t.Fatalf("retried before its time: %+v", res)
	}
	w.clock.add(time.Minute)
	w.sweep()
	if r = w.reward(r.ID); r.Status != Failed || r.Attempts != 2 || !r.NextAttemptAt.Equal(w.clock.now().Add(2*time.Minute)) {
		t.Fatalf("after two failures: %+v", r)
	}
	w.clock.add(2 * time.Minute)
	if res := w.sweep(); res.Granted != 1 {
		t.Fatalf("third sweep: %+v", res)
	}
	promos := w.rec.posts("/v1/promotion_codes")
	if len(promos) != 3 || promos[0].Key != promos[2].Key || promos[0].Form.Get("code") != promos[2].Form.Get("code") ||
		promos[0].Form.Get("expires_at") != promos[2].Form.Get("expires_at") {
		t.Fatalf("retries must repeat the same request under the same key: %+v", promos)
	}
	if got := w.moves(r.ID); !slices.Equal(got, []string{">held", "held>pending", "pending>failed", "failed>failed", "failed>granted"}) {
		t.Fatalf("history %v", got)
	}
}

func TestTheMilestoneBonusFollowsTheNthRewardedReferral(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p := program.Defaults()
	p.MilestoneAfter = 2
	if err := settings.SaveSection(ctx, w.db, program.Section, p, "test"); err != nil {
		t.Fatal(err)
	}
	first := w.payable(p)
	w.sweep()
	// A second referral of the same referrer.
	friend := w.customer("second-friend@example.net")
	delivered := w.clock.now().Add(-40 * 24 * time.Hour)
	order := w.order(friend, &delivered)
	ref := w.referral(first.CustomerID, friend, order)
	err := db.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		_, _, err := w.svc.Hold(ctx, tx, HoldInput{ReferralID: ref, ReferrerID: first.CustomerID, OrderID: order, Program: p})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w.sweep() // releases and grants the second; adds the bonus
	w.sweep() // grants the bonus
	all, err := w.svc.OfCustomer(ctx, first.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	var bonus []Reward
	for _, r := range all {
		if r.Kind == KindMilestone {
			bonus = append(bonus, r)
		}
	}
	if len(all) != 3 || len(bonus) != 1 || bonus[0].Status != Granted || bonus[0].AmountMinor != 2500 || *bonus[0].MilestoneNo != 1 {
		t.Fatalf("rewards after two referrals: %+v", all)
	}
}

func TestAGrantThatKeepsFailingWaitsForStaffToRetry(t *testing.T) {
	w := newWorld(t)
	down := true
	w.rec.fail = func(method, path string) bool {
		return down && method == http.MethodPost && path == "/v1/promotion_codes"
	}
	r := w.payable(program.Defaults())
	for i := 1; i <= MaxAttempts; i++ {
		if res := w.sweep(); res.Failed != 1 {
			t.Fatalf("attempt %d: %+v", i, res)
		}
		w.clock.add(6 * time.Hour)
	}
	r = w.reward(r.ID)
	if r.Status != Failed || r.Attempts != MaxAttempts || r.NextAttemptAt != nil {
		t.Fatalf("after %d failures: %+v", MaxAttempts, r)
	}
	if res := w.sweep(); res != (SweepResult{}) {
		t.Fatalf("tried again on its own: %+v", res)
	}
	if out, err := w.svc.Process(context.Background(), r.ID); err != nil || out != OutcomeNone {
		t.Fatalf("a stray job worked on it: %s %v", out, err)
	}
	down = false
	if err := w.svc.Retry(context.Background(), r.ID, "staff:1"); err != nil {
		t.Fatal(err)
	}
	if res := w.sweep(); res.Granted != 1 {
		t.Fatalf("after Retry: %+v", res)
	}
}
