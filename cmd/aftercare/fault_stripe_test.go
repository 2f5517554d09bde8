package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/internal/stripemock"
	"github.com/aftercare/aftercare/referral/rewards"
	"github.com/aftercare/aftercare/returns"
)

// TestFaultStripeFailsThenRecovers makes Stripe answer 500, lose answers
// and hang (cut after 1 s) for a return's refund and a referral reward; the
// soak variant hangs past the client's own timeout.
func TestFaultStripeFailsThenRecovers(t *testing.T) { faultStripe(t, time.Second, false) }

// faultStripe proves, for a refund resolved by staff and for a reward
// granted by the worker, that a failing Stripe leaves the record failed
// with the error on the staff page, that the retry (stripe-go's own, and
// staff's Retry) repeats the write under the same Idempotency-Key, that
// only one success comes back per write, and that the staff page then
// shows it refunded or granted. With autoRetry the reward is left to the
// worker's own retry (a minute later) instead of staff's Retry now.
func faultStripe(t *testing.T, hangFor time.Duration, autoRetry bool) {
	mock, err := stripemock.Start(context.Background())
	if err != nil {
		t.Skipf("stripe-mock: %v", err)
	}
	t.Cleanup(mock.Stop)
	proxy := newStripeProxy(t, mock.URL(), hangFor)
	l := startLiveWith(t, map[string]string{"AFTERCARE_STRIPE_SECRET_KEY": "sk_test_123", "AFTERCARE_STRIPE_API_BASE": proxy.URL})
	ctx := context.Background()
	b := l.agent(t)
	b.signInStaff("sam@example.com", staff.RoleSupport)

	// (a) A received return, refunded by staff.
	orderID, itemID := l.returnsDeliveredOrder(t, "jane@example.com", "#2001")
	setup := returns.NewService(returns.Options{DB: l.DB, Commerce: l.Commerce, Bus: l.Events, Outbox: mail.NewOutbox(l.Queue)})
	r, _, err := setup.Request(ctx, l.customerID(t, "jane@example.com"), returns.RequestInput{
		OrderID: orderID, IdempotencyKey: "fault-1", Resolution: returns.Refund,
		Items: []returns.RequestItem{{OrderItemID: itemID, Quantity: 1, Reason: "wrong_size"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != returns.Approved {
		if r, err = setup.Approve(ctx, r.ID, audit.System); err != nil {
			t.Fatal(err)
		}
	}
	if _, err = setup.Receive(ctx, r.ID, audit.System, returns.Receipt{Received: map[int64]int{r.Items[0].ID: 1}}); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/admin/returns/%d", r.ID)
	resolve := func() {
		t.Helper()
		start := time.Now()
		status := patientPost(t, b, page+"/resolve", url.Values{"method": {"refund"}})
		t.Logf("resolve answered %d in %s", status, time.Since(start).Round(time.Millisecond))
		if status != http.StatusSeeOther {
			t.Fatalf("resolve: %d", status)
		}
	}

	// Stripe fails: the return is left resolution_failed, with the error and a Retry.
	proxy.spoil("/v1/refunds", answer500)
	resolve()
	if body := b.get(page).body; !strings.Contains(body, "The last attempt failed") || !strings.Contains(body, "injected by the test") || !strings.Contains(body, ">Retry<") {
		t.Fatalf("the staff page does not show the failure and a Retry:\n%s", body)
	}
	// Staff press Retry while Stripe is still in trouble: the answer is
	// lost once, then nothing comes back at all; stripe-go tries again
	// under the same key and the third try goes through.
	proxy.spoil("/v1/refunds", lost, hang)
	resolve()
	body := b.get(page).body
	if !strings.Contains(body, "Refunded $18.00") || !strings.Contains(body, "re_") || strings.Contains(body, "The last attempt failed") {
		t.Fatalf("after the retry the staff page does not show the refund:\n%s", body)
	}
	var refunded int64
	if err := l.DB.Get(&refunded, `SELECT refunded_minor FROM orders WHERE id = $1`, orderID); err != nil || refunded != 1800 {
		t.Errorf("order refunded %d, want 1800 (%v)", refunded, err)
	}
	checkOneWrite(t, "refund", fmt.Sprintf("return-%d-refund", r.ID), proxy.log("POST", "/v1/refunds"))

	// (b) A reward due to jane, paid as Stripe credit by the worker.
	if _, err := l.DB.Exec(`UPDATE customers SET stripe_customer_id = 'cus_fault' WHERE email = 'jane@example.com'`); err != nil {
		t.Fatal(err)
	}
	var rewardID int64
	if err := l.DB.Get(&rewardID, `INSERT INTO rewards (customer_id, kind, milestone_no, reward_type, offer_kind, amount_minor, currency, status)
		SELECT id, 'milestone', 1, 'credit', 'amount', 500, 'USD', 'pending' FROM customers WHERE email = 'jane@example.com' RETURNING id`); err != nil {
		t.Fatal(err)
	}
	proxy.spoil("/balance_transactions", answer500)
	if err := l.Queue.Insert(ctx, rewards.ProcessArgs{RewardID: rewardID}, nil); err != nil {
		t.Fatal(err)
	}
	waitLong(t, l, time.Minute, "the failed grant", `SELECT status = 'failed' AND last_error <> '' FROM rewards WHERE id = $1`, rewardID)
	if body := b.get("/admin/referrals?state=failed").body; !strings.Contains(body, "jane@example.com") || !strings.Contains(body, "injected by the test") || !strings.Contains(body, "Retry now") {
		t.Fatalf("the failed tab does not show the reward, its error and Retry now:\n%s", body)
	}
	proxy.spoil("/balance_transactions", hang, lost)
	failedAt := time.Now()
	if !autoRetry {
		if status := patientPost(t, b, fmt.Sprintf("/admin/referrals/rewards/%d/retry", rewardID), url.Values{"back": {"failed"}}); status != http.StatusSeeOther {
			t.Fatalf("retry now: %d", status)
		}
	}
	waitLong(t, l, 5*time.Minute, "the grant", `SELECT status = 'granted' FROM rewards WHERE id = $1`, rewardID)
	t.Logf("reward granted %s after its failure", time.Since(failedAt).Round(time.Millisecond))
	if body := b.get("/admin/referrals?state=granted").body; !strings.Contains(body, "jane@example.com") || strings.Contains(body, "injected by the test") {
		t.Fatalf("the granted tab does not show the reward:\n%s", body)
	}
	checkOneWrite(t, "reward", fmt.Sprintf("reward:%d:credit", rewardID), proxy.log("POST", "/balance_transactions"))
	if n := proxy.pending(); n != 0 {
		t.Errorf("%d faults were never met", n)
	}
}

// patientPost is the agent's post with a client that waits as long as a
// Stripe hang may take (the agent's own gives up after 20 s).
func patientPost(t *testing.T, b *secAgent, path string, v url.Values) int {
	t.Helper()
	v.Set("_csrf", b.csrf())
	c := *b.c
	c.Timeout = 5 * time.Minute
	resp, err := c.PostForm(b.l.base+path, v)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitLong is l.waitFor with a deadline of the caller's.
func waitLong(t *testing.T, l *liveApp, limit time.Duration, what, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		if err := l.DB.Get(&ok, query, args...); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
