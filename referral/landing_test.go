package referral

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/referral/program"
)

func TestTheFriendLandingGivesASingleUseCode(t *testing.T) {
	w := newWorld(t, true)
	w.exec(`UPDATE settings SET store_name = 'Kettle Co', store_url = 'https://shop.example/'`)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	app := testApp(t, w)

	resp, body := get(t, app, "/r/"+strings.ToLower(jane.Code), nil)
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "A gift from Jane") || !strings.Contains(page, "10% off your first order at Kettle Co") ||
		!strings.Contains(page, `action="/r/`+jane.Code+`"`) {
		t.Fatalf("landing: %d\n%s", resp.StatusCode, page)
	}
	// Nothing to copy yet, so no copy script: the page and its headers fit
	// in one write of the server's 4 KB buffer.
	if strings.Contains(page, "<script") {
		t.Errorf("the plain landing carries a script:\n%s", page)
	}
	device := cookie(resp, deviceCookie)
	if device == "" || w.count(`SELECT count(*) FROM referral_visits WHERE device_id = $1`, device) != 1 {
		t.Fatalf("visit not recorded with a device cookie (%q)", device)
	}
	dev := map[string]string{"Cookie": deviceCookie + "=" + device}

	resp, body = post(t, app, "/r/"+jane.Code, url.Values{"email": {" Sam@Example.NET "}}, dev)
	page = string(body)
	var ref Referral
	if err := w.db.Get(&ref, `SELECT `+referralColumns+` FROM referrals`); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.Contains(page, ref.Code()) || !strings.HasPrefix(ref.Code(), "JANE") ||
		!strings.Contains(page, "https://shop.example/?discount="+ref.Code()) {
		t.Fatalf("after the claim: %d (code %q)\n%s", resp.StatusCode, ref.Code(), page)
	}
	if !strings.Contains(page, `data-copy="`+ref.Code()+`"`) || !strings.Contains(page, `<script nonce="`) {
		t.Errorf("the claimed code has no copy button and script:\n%s", page)
	}
	if ref.FriendEmail != "sam@example.net" || ref.DeviceID != device || ref.StripePromotionCodeID == "" || ref.Status != Invited {
		t.Fatalf("referral %+v", ref)
	}

	// What Stripe was asked for: the friend offer's coupon, once, and a
	// single-use, first-time-only code keyed by the referral.
	coupons := w.rec.posts("/v1/coupons")
	if pct, _ := strconv.ParseFloat(coupons[0].Form.Get("percent_off"), 64); len(coupons) != 1 || pct != 10 || coupons[0].Form.Get("duration") != "once" || coupons[0].Key != "coupon:percent:10" {
		t.Fatalf("coupons %+v", coupons)
	}
	promos := w.rec.posts("/v1/promotion_codes")
	if len(promos) != 1 {
		t.Fatalf("promotion codes %+v", promos)
	}
	f := promos[0].Form
	want := map[string]string{
		"code": ref.Code(), "max_redemptions": "1", "restrictions[first_time_transaction]": "true",
		"expires_at": strconv.FormatInt(ref.OfferExpiresAt.Unix(), 10), "metadata[aftercare_referral_id]": strconv.FormatInt(ref.ID, 10),
	}
	for k, v := range want {
		if f.Get(k) != v {
			t.Errorf("promotion code %s = %q, want %q", k, f.Get(k), v)
		}
	}
	if f.Get("coupon") == "" || f.Has("customer") || promos[0].Key != "referral:"+strconv.FormatInt(ref.ID, 10)+":promotion_code" {
		t.Errorf("promotion code coupon %q, customer %q, key %q", f.Get("coupon"), f.Get("customer"), promos[0].Key)
	}
	if d := ref.OfferExpiresAt.Sub(w.now); d != 30*24*time.Hour {
		t.Errorf("offer valid for %v", d)
	}
	if n := w.count(`SELECT count(*) FROM messages WHERE kind = 'referral_friend_offer' AND to_address = 'sam@example.net' AND NOT marketing`); n != 1 {
		t.Errorf("%d offer emails queued", n)
	}

	// The same friend again: the same code, nothing new in Stripe; and the
	// landing remembers this device's code.
	_, body = post(t, app, "/r/"+jane.Code, url.Values{"email": {"sam@example.net"}}, dev)
	if !strings.Contains(string(body), ref.Code()) || len(w.rec.posts("/v1/promotion_codes")) != 1 {
		t.Fatal("a second claim made a second code")
	}
	_, body = get(t, app, "/r/"+jane.Code, dev)
	if !strings.Contains(string(body), ref.Code()) {
		t.Fatal("the landing forgot this device's code")
	}
}

func TestUnknownAndSwitchedOffCodesGetAFriendlyPage(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	app := testApp(t, w)
	cases := []struct {
		name   string
		setup  func()
		path   string
		status int
		want   string
	}{
		{"an unknown code", func() {}, "/r/NOBODY-2222", 404, "We could not find this offer"},
		{"a code that is not a code", func() {}, "/r/%3Cscript%3E", 404, "We could not find this offer"},
		{"a disabled code", func() {
			if err := w.svc.SetCodeDisabled(context.Background(), jane.CustomerID, true, "staff:1"); err != nil {
				t.Fatal(err)
			}
		}, "/r/" + jane.Code, 200, "This offer is not active any more"},
		{"a program switched off", func() {
			if err := w.svc.SetCodeDisabled(context.Background(), jane.CustomerID, false, "staff:1"); err != nil {
				t.Fatal(err)
			}
			w.program(func(p *program.Settings) { p.Enabled = false })
		}, "/r/" + jane.Code, 200, "This offer is not active any more"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			resp, body := get(t, app, tc.path, nil)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) || strings.Contains(string(body), "Something went wrong") {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
			resp, body = post(t, app, tc.path, url.Values{"email": {"sam@example.net"}}, nil)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("claim: %d\n%s", resp.StatusCode, body)
			}
		})
	}
}

func TestClaimProblemsShowOnTheForm(t *testing.T) {
	w := newWorld(t, true)
	jane := w.referrer("jane.doe@gmail.com", "Jane Doe", order{})
	app := testApp(t, w)
	cases := []struct {
		name, email string
		want        string
	}{
		{"not an address", "sam at example", "Please enter your email address"},
		{"a throwaway address", "sam@guerrillamail.com", "throwaway addresses cannot get this offer"},
		{"the referrer's own mailbox", "JaneDoe+1@googlemail.com", "This is your own referral link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, app, "/r/"+jane.Code, url.Values{"email": {tc.email}}, nil)
			page := string(body)
			if resp.StatusCode != 422 || !strings.Contains(page, tc.want) || !strings.Contains(page, `aria-invalid="true"`) {
				t.Fatalf("%d\n%s", resp.StatusCode, page)
			}
		})
	}
	if n := w.count(`SELECT count(*) FROM referrals`); n != 0 || len(w.rec.posts("/v1/promotion_codes")) != 0 {
		t.Fatalf("%d referrals recorded from refused claims", n)
	}
}

func TestWithoutStripeTheLandingSaysTheOfferCannotBeIssued(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	app := testApp(t, w)
	_, body := get(t, app, "/r/"+jane.Code, nil)
	if !strings.Contains(string(body), "This offer cannot be issued right now") || strings.Contains(string(body), `name="email"`) {
		t.Fatalf("landing without Stripe:\n%s", body)
	}
	resp, body := post(t, app, "/r/"+jane.Code, url.Values{"email": {"kim@example.net"}}, nil)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "This offer cannot be issued right now") {
		t.Fatalf("claim without Stripe: %d\n%s", resp.StatusCode, body)
	}
}

func TestClaimsAreRateLimitedPerAddress(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	app := testApp(t, w)
	for i := 1; i <= claimsPerEmail+1; i++ {
		resp, body := post(t, app, "/r/"+jane.Code, url.Values{"email": {"sam+" + strconv.Itoa(i) + "@example.net"}}, nil)
		if i <= claimsPerEmail && resp.StatusCode == 429 {
			t.Fatalf("claim %d was limited", i)
		}
		if i > claimsPerEmail && (resp.StatusCode != 429 || !strings.Contains(string(body), "Too many tries")) {
			t.Fatalf("claim %d: %d\n%s", i, resp.StatusCode, body)
		}
	}
}
