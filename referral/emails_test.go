package referral

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/referral/rewards"
	"github.com/aftercare/aftercare/web"
)

func testViews(t *testing.T) *web.Engine {
	t.Helper()
	v, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Each email the program sends renders both parts with what it is about.
func TestEveryReferralEmailRenders(t *testing.T) {
	w := newWorld(t, false)
	w.exec(`UPDATE settings SET store_name = 'Kettle Co', store_url = 'https://shop.example'`)
	renderer, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	composers := w.svc.Composers(renderer)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-time.Hour))
	w.place(order{email: "sam@example.net", codes: []string{claim.Code()}})
	rw := w.rewardOf(claim.ID)
	code, exp := "THANKS22222222", w.now.Add(90*24*time.Hour)
	w.exec(`UPDATE rewards SET status = 'granted', granted_at = now(), promotion_code = $2, code_expires_at = $3 WHERE id = $1`, rw.ID, code, exp)

	cases := []struct {
		kind string
		msg  mail.Message
		want []string
	}{
		{MailInvite, mail.Message{Kind: MailInvite, CustomerID: jane.CustomerID}, []string{"Give your friends 10% off at Kettle Co", jane.Code, "https://care.example.test/r/" + jane.Code}},
		{MailFriendOffer, mail.Message{Kind: MailFriendOffer, DedupeKey: "referral_friend_offer:" + itoa(claim.ID)}, []string{"Your 10% off code for Kettle Co", claim.Code(), "https://shop.example?discount=" + claim.Code(), "Jane"}},
		{rewards.MailGranted, mail.Message{Kind: rewards.MailGranted, DedupeKey: "referral_reward:" + itoa(rw.ID)}, []string{"You earned $10.00 off your next order", code}},
		{rewards.MailClawback, mail.Message{Kind: rewards.MailClawback, DedupeKey: "referral_clawback:" + itoa(rw.ID)}, []string{"About your referral reward", code}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			c, err := composers[tc.kind].Compose(context.Background(), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			all := c.Subject + "\n" + c.Text
			for _, want := range tc.want {
				if !strings.Contains(all, want) {
					t.Errorf("%s lacks %q:\n%s", tc.kind, want, all)
				}
			}
			if !strings.Contains(c.HTML, "<html") {
				t.Errorf("%s has no HTML part", tc.kind)
			}
		})
	}
	if _, err := composers[MailFriendOffer].Compose(context.Background(), mail.Message{Kind: MailFriendOffer, DedupeKey: "referral_friend_offer:999999"}); !mail.IsSkip(err) {
		t.Fatalf("an offer whose referral is gone: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
