package referral

import (
	"context"
	"slices"
	"testing"

	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

func TestNormalizeEmailFoldsOneMailboxSpelledTwoWays(t *testing.T) {
	for in, want := range map[string]string{
		"Jane.Doe+shop@Gmail.com":    "janedoe@gmail.com",
		"j.a.n.e.doe@googlemail.com": "janedoe@gmail.com",
		"jane.doe+x@example.com":     "jane.doe@example.com",
		" sam@Example.NET ":          "sam@example.net",
		"+x@example.com":             "+x@example.com",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisposableDomainsAreKnownWithTheirSubdomains(t *testing.T) {
	d := NewDisposable()
	for email, want := range map[string]bool{
		"x@mailinator.com": true, "x@eu.mailinator.com": true, "x@YOPMAIL.com": true,
		"x@gmail.com": false, "x@notmailinator.org": false, "broken": false,
	} {
		if got := d.Has(email); got != want {
			t.Errorf("Has(%q) = %v, want %v", email, got, want)
		}
	}
}

// Every signal, on its own, through the checks.
func TestCheckNamesEachSignal(t *testing.T) {
	p := program.Defaults()
	p.VelocityLimit, p.MonthlyCap, p.LifetimeCap = 3, 4, 6
	ids := func(kind, value string) Identities { i := Identities{}; i.Add(kind, value); return i }
	clean := Evidence{ReferrerID: 1, FriendID: 2, Referrer: ids(IdentityEmail, "jane@example.com"), Friend: ids(IdentityEmail, "sam@example.net"),
		FriendEmails: []string{"sam@example.net"}, Recent: 1, ThisMonth: 1, Lifetime: 1}
	cases := []struct {
		name   string
		change func(e *Evidence)
		want   []Signal
	}{
		{"a clean conversion has none", func(e *Evidence) {}, nil},
		{"the same customer", func(e *Evidence) { e.FriendID = 1 }, []Signal{SameCustomer}},
		{"the same mailbox", func(e *Evidence) { e.Friend.Add(IdentityEmail, NormalizeEmail("Jane+2@example.com")) }, []Signal{SameEmail}},
		{"the same address", func(e *Evidence) {
			e.Referrer.Add(IdentityAddress, "1 main st")
			e.Friend.Add(IdentityAddress, "1 main st")
		}, []Signal{SameAddress}},
		{"the same card", func(e *Evidence) {
			e.Referrer.Add(IdentityPayment, "fp_1")
			e.Friend.Add(IdentityPayment, "fp_1")
		}, []Signal{SamePayment}},
		{"the same device", func(e *Evidence) {
			e.Referrer.Add(IdentityDevice, "dev")
			e.Friend.Add(IdentityDevice, "dev")
		}, []Signal{SameDevice}},
		{"a disposable address", func(e *Evidence) { e.FriendEmails = append(e.FriendEmails, "sam@sharklasers.com") }, []Signal{DisposableEmail}},
		{"too many in 30 days", func(e *Evidence) { e.Recent = 4 }, []Signal{Velocity}},
		{"over the monthly cap", func(e *Evidence) { e.ThisMonth = 5 }, []Signal{MonthlyCap}},
		{"over the lifetime cap", func(e *Evidence) { e.Lifetime = 7 }, []Signal{LifetimeCap}},
		{"at the limits is fine", func(e *Evidence) { e.Recent, e.ThisMonth, e.Lifetime = 3, 4, 6 }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := clean
			e.Referrer, e.Friend = Identities{}, Identities{}
			for k, v := range clean.Referrer {
				for d := range v {
					e.Referrer[k] = map[string]bool{d: true}
				}
			}
			for k, v := range clean.Friend {
				for d := range v {
					e.Friend[k] = map[string]bool{d: true}
				}
			}
			e.FriendEmails = slices.Clone(clean.FriendEmails)
			tc.change(&e)
			if got := Check(e, p, NewDisposable()); !slices.Equal(got, tc.want) {
				t.Fatalf("signals %v, want %v", got, tc.want)
			}
		})
	}
}

// The signals come from real orders: what the referrer was seen with is
// remembered from their own orders and Refer page.
func TestSelfReferralsAreFlaggedFromWhatTheReferrerWasSeenWith(t *testing.T) {
	cases := []struct {
		name   string
		friend order
		claim  string // the claiming address (default: the friend's)
		device string // the claim's device
		want   Signal
	}{
		{name: "an order to the referrer's address", friend: order{email: "sam@example.net", address: "1 Main St."}, want: SameAddress},
		{name: "an order paid with the referrer's card", friend: order{email: "sam@example.net", card: "fp_jane"}, want: SamePayment},
		{name: "an order from the referrer's device", friend: order{email: "sam@example.net", device: "janes-phone-000001"}, want: SameDevice},
		{name: "a claim from the device of the Refer page", friend: order{email: "sam@example.net"}, device: "janes-laptop-00001", want: SameDevice},
		{name: "the referrer's own mailbox", friend: order{email: "jane.doe+deal@gmail.com"}, want: SameEmail},
		{name: "a disposable address", friend: order{email: "sam@mailinator.com"}, want: DisposableEmail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, false)
			jane := w.referrer("janedoe@gmail.com", "Jane Doe", order{address: "1 main st", card: "fp_jane", device: "janes-phone-000001"})
			if _, err := w.svc.ReferPage(context.Background(), jane.CustomerID, "janes-laptop-00001"); err != nil {
				t.Fatal(err)
			}
			claim := w.claim(jane, tc.friend.email, tc.device, w.now.Add(-day))
			tc.friend.codes = []string{claim.Code()}
			w.place(tc.friend)
			rw := w.rewardOf(claim.ID)
			if rw.Status != rewards.Flagged || !slices.Contains([]string(rw.Signals), string(tc.want)) {
				t.Fatalf("reward %s with %v, want flagged with %s", rw.Status, rw.Signals, tc.want)
			}
		})
	}
}

func TestVelocityAndCapsFlagTheReferrersLaterConversions(t *testing.T) {
	w := newWorld(t, false)
	w.program(func(p *program.Settings) { p.VelocityLimit, p.MonthlyCap, p.LifetimeCap = 2, 100, 100 })
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	var got [][]string
	for _, friend := range []string{"a@example.net", "b@example.net", "c@example.net"} {
		claim := w.claim(jane, friend, "", w.now.Add(-day))
		w.place(order{email: friend, codes: []string{claim.Code()}})
		got = append(got, w.rewardOf(claim.ID).Signals)
	}
	if len(got[0]) != 0 || len(got[1]) != 0 || !slices.Equal(got[2], []string{string(Velocity)}) {
		t.Fatalf("signals per conversion: %v", got)
	}

	w.program(func(p *program.Settings) { p.VelocityLimit, p.MonthlyCap, p.LifetimeCap = 0, 3, 100 })
	claim := w.claim(jane, "d@example.net", "", w.now.Add(-day))
	w.place(order{email: "d@example.net", codes: []string{claim.Code()}})
	if s := w.rewardOf(claim.ID).Signals; !slices.Equal(s, []string{string(MonthlyCap)}) {
		t.Fatalf("fourth this month: %v", s)
	}
	w.program(func(p *program.Settings) { p.VelocityLimit, p.MonthlyCap, p.LifetimeCap = 0, 0, 4 })
	claim = w.claim(jane, "e@example.net", "", w.now.Add(-day))
	w.place(order{email: "e@example.net", codes: []string{claim.Code()}})
	if s := w.rewardOf(claim.ID).Signals; !slices.Equal(s, []string{string(LifetimeCap)}) {
		t.Fatalf("fifth in all: %v", s)
	}
}
