package referral

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

const day = 24 * time.Hour

func TestAnOrderWithTheFriendsPromotionCodeConvertsAndHoldsTheReward(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-2*day))
	o := w.place(order{email: "sam@example.net", codes: []string{claim.Code()}})

	r := w.referral(claim.ID)
	if r.Status != Converted || r.OrderID == nil || *r.OrderID != o.ID || r.FriendCustomerID == nil || *r.FriendCustomerID != o.CustomerID {
		t.Fatalf("after the order: %+v", r)
	}
	rw := w.rewardOf(claim.ID)
	if rw.Status != rewards.Held || rw.CustomerID != jane.CustomerID || rw.AmountMinor != 1000 || len(rw.Signals) != 0 {
		t.Fatalf("reward: %+v", rw)
	}
	// The friend, now a customer with an order, has a code of their own.
	if _, found, _ := codeOfCustomer(context.Background(), w.db, o.CustomerID); !found {
		t.Fatal("the friend got no code of their own")
	}
}

func TestAttributionRules(t *testing.T) {
	cases := []struct {
		name      string
		claimAgo  time.Duration // before now; the order is placed an hour ago
		second    bool          // the friend ordered before
		historic  bool
		exchange  bool
		converts  bool
		withCode  bool // the order used the promotion code (else the referral field)
		fromEmail bool // the claim is by another address of the friend
	}{
		{name: "a code used inside the window converts", claimAgo: 89 * day, withCode: true, converts: true},
		{name: "a code used after the window does not", claimAgo: 91 * day, withCode: true},
		{name: "the referral field with the friend's claim converts", claimAgo: 10 * day, converts: true},
		{name: "the referral field after the window does not", claimAgo: 95 * day},
		{name: "a friend's second order does not", claimAgo: 5 * day, withCode: true, second: true},
		{name: "history being loaded does not", claimAgo: 5 * day, withCode: true, historic: true},
		{name: "a return's replacement order does not", claimAgo: 5 * day, withCode: true, exchange: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, false)
			jane := w.referrer("jane@example.com", "Jane Doe", order{})
			if tc.second {
				w.place(order{email: "sam@example.net", placed: w.now.Add(-30 * day)})
			}
			claim := w.claim(jane, "sam@example.net", "", w.now.Add(-tc.claimAgo))
			o := order{email: "sam@example.net", historic: tc.historic}
			if tc.exchange {
				o.source = "exchange"
			}
			if tc.withCode {
				o.codes = []string{"  " + claim.Code() + " "}
			} else {
				o.referral = "jane-" + jane.Code[len("JANE-"):] // any case
			}
			w.place(o)
			if got := w.referral(claim.ID).Status == Converted; got != tc.converts {
				t.Fatalf("converted = %v, want %v", got, tc.converts)
			}
			if n := w.count(`SELECT count(*) FROM rewards`); (n == 1) != tc.converts {
				t.Fatalf("%d rewards", n)
			}
		})
	}
}

func TestTheFirstReferrerWins(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	bob := w.referrer("bob@example.com", "Bob Roe", order{})
	first := w.claim(jane, "sam@example.net", "", w.now.Add(-20*day))
	later := w.claim(bob, "sam@example.net", "", w.now.Add(-3*day))
	// The friend checks out with the later referrer's code: the first still wins.
	w.place(order{email: "sam@example.net", codes: []string{later.Code()}})
	if w.referral(first.ID).Status != Converted || w.referral(later.ID).Status != Invited {
		t.Fatalf("first %s, later %s", w.referral(first.ID).Status, w.referral(later.ID).Status)
	}
	if rw := w.rewardOf(first.ID); rw.CustomerID != jane.CustomerID {
		t.Fatalf("the reward went to customer %d", rw.CustomerID)
	}
	// A friend converts once, whatever comes later.
	w.place(order{email: "sam@example.net", codes: []string{later.Code()}})
	if n := w.count(`SELECT count(*) FROM referrals WHERE status = 'converted'`); n != 1 {
		t.Fatalf("%d conversions", n)
	}
}

func TestAVisitFromTheOrderingDeviceAttributesTheReferralField(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	w.now = w.now.Add(-4 * day)
	if _, err := w.svc.Visit(context.Background(), jane.Code, "device-of-sam-0001"); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(4 * day)
	o := w.place(order{email: "sam@example.net", referral: jane.Code, device: "device-of-sam-0001"})
	var ref Referral
	if err := w.db.Get(&ref, `SELECT `+referralColumns+` FROM referrals WHERE order_id = $1`, o.ID); err != nil {
		t.Fatalf("no referral for the order: %v", err)
	}
	if ref.Source != "attribution" || ref.ReferrerID != jane.CustomerID || ref.Status != Converted {
		t.Fatalf("referral %+v", ref)
	}
	// Without a visit from that device, the field alone is not enough.
	w.place(order{email: "kim@example.net", referral: jane.Code, device: "another-device-0002"})
	if n := w.count(`SELECT count(*) FROM referrals`); n != 1 {
		t.Fatalf("%d referrals", n)
	}
}

func TestAnOrderUnderTheMinimumVoidsItsReward(t *testing.T) {
	w := newWorld(t, false)
	w.program(func(p *program.Settings) { p.Friend.MinimumMinor = 6000 })
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-day))
	w.place(order{email: "sam@example.net", codes: []string{claim.Code()}, subtotal: 4000})
	if rw := w.rewardOf(claim.ID); rw.Status != rewards.Voided || rw.VoidReason != "Your friend's order was under the minimum of $60.00." {
		t.Fatalf("reward %s %q", rw.Status, rw.VoidReason)
	}
}

func TestAProgramSwitchedOffConvertsNothing(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-day))
	w.program(func(p *program.Settings) { p.Enabled = false })
	w.place(order{email: "sam@example.net", codes: []string{claim.Code()}})
	if w.referral(claim.ID).Status != Invited {
		t.Fatal("converted while the program was off")
	}
}

func TestTheLedgerShowsAConvertedReferralAsPending(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-day))
	w.place(order{email: "sam@example.net", codes: []string{claim.Code()}})
	ledger, err := w.svc.Ledger(context.Background(), jane.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 1 || ledger[0].State != StatePending || ledger[0].Friend != "s•••@example.net" || ledger[0].OrderedAt == nil ||
		!slices.Contains([]string{"Waiting for their order to be delivered; then the return window runs."}, ledger[0].Detail) {
		t.Fatalf("ledger %+v", ledger)
	}
}
