package referral

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

func TestTheReferPageShowsCodeLinkQRTermsAndLedger(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-48*time.Hour))
	w.place(order{email: "sam@example.net", codes: []string{claim.Code()}})
	w.claim(jane, "kim@example.org", "", w.now.Add(-time.Hour))
	app := testApp(t, w)

	resp, _ := get(t, app, "/refer", nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin?next=%2Frefer" {
		t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	me := map[string]string{"X-Customer": strconv.FormatInt(jane.CustomerID, 10)}
	resp, body := get(t, app, "/refer", me)
	page := string(body)
	link := "https://care.example.test/r/" + jane.Code
	for _, want := range []string{
		"Give 10% off, get $10.00 off your next order", jane.Code, `value="` + link + `"`, `data-copy="` + link + `"`,
		`src="/r/` + jane.Code + `/qr.png?v=` + QRVersion(link) + `"`, "Download SVG", "k•••@example.org", "s•••@example.net",
		"Waiting for their order to be delivered", "30-day return window", "Invited",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the Refer page lacks %q", want)
		}
	}
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, cache %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// The device the referrer looks from is theirs from now on.
	if n := w.count(`SELECT count(*) FROM referral_identities WHERE customer_id = $1 AND kind = 'device'`, jane.CustomerID); n != 1 {
		t.Fatalf("%d devices remembered", n)
	}
}

func TestTheOrderPagePanelPointsToTheReferPage(t *testing.T) {
	w := newWorld(t, false)
	views := testViews(t)
	html, err := w.svc.Panel(context.Background(), views.Partial)
	if err != nil || !strings.Contains(string(html), `href="/refer"`) || !strings.Contains(string(html), "10% off") {
		t.Fatalf("panel %q %v", html, err)
	}
	w.program(func(p *program.Settings) { p.Enabled = false })
	if html, err = w.svc.Panel(context.Background(), views.Partial); err != nil || html != "" {
		t.Fatalf("panel of a paused program: %q %v", html, err)
	}
}

func TestStaffWorkAFlaggedConversion(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{address: "1 Main St"})
	claim := w.claim(jane, "sam@example.net", "", w.now.Add(-time.Hour))
	w.place(order{email: "sam@example.net", codes: []string{claim.Code()}, address: "1 main st."})
	rw := w.rewardOf(claim.ID)
	app := testApp(t, w)
	support := map[string]string{"X-Staff-Role": "support"}

	resp, body := get(t, app, "/admin/referrals", support)
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "sam@example.net") || !strings.Contains(page, "same_address") ||
		!strings.Contains(page, "The order ships to an address the referrer has used.") {
		t.Fatalf("queue: %d\n%s", resp.StatusCode, page)
	}
	path := "/admin/referrals/rewards/" + strconv.FormatInt(rw.ID, 10)
	resp, body = post(t, app, path+"/reject", url.Values{"reason": {""}, "back": {"flagged"}}, support)
	if resp.StatusCode != 422 || !strings.Contains(string(body), "must say why") {
		t.Fatalf("reject without reason: %d", resp.StatusCode)
	}
	resp, _ = post(t, app, path+"/approve", url.Values{"back": {"flagged"}}, support)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/referrals?state=flagged&done=approve" {
		t.Fatalf("approve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r, _ := w.rewards.Reward(context.Background(), rw.ID); r.Status != rewards.Held {
		t.Fatalf("after approval: %s", r.Status)
	}
	resp, _ = post(t, app, path+"/approve", url.Values{"back": {"flagged"}}, support)
	if resp.StatusCode != 409 {
		t.Fatalf("second approval: %d", resp.StatusCode)
	}
	resp, _ = post(t, app, path+"/void", url.Values{"reason": {"Same household"}, "referrer": {strconv.FormatInt(jane.CustomerID, 10)}}, support)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/referrals/referrers/") {
		t.Fatalf("void: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get(t, app, "/admin/referrals/find?q="+url.QueryEscape(strings.ToLower(jane.Code)), support)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/referrals/referrers/"+strconv.FormatInt(jane.CustomerID, 10) {
		t.Fatalf("find by code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body = get(t, app, "/admin/referrals/find?q=nobody%40example.com", support); resp.StatusCode != 404 || !strings.Contains(string(body), "No customer has") {
		t.Fatalf("find nobody: %d", resp.StatusCode)
	}
	resp, body = get(t, app, "/admin/referrals/referrers/"+strconv.FormatInt(jane.CustomerID, 10), support)
	page = string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "Same household") || !strings.Contains(page, "flagged → held") || !strings.Contains(page, jane.Code) {
		t.Fatalf("referrer history: %d\n%s", resp.StatusCode, page)
	}
	if n := w.count(`SELECT count(*) FROM audit_log WHERE actor = 'staff:7' AND action IN ('referral.reward_approved', 'referral.reward_voided')`); n != 2 {
		t.Fatalf("%d audit entries", n)
	}
}

func TestTheInsertCardHasTheQRCodeAndCode(t *testing.T) {
	w := newWorld(t, false)
	o := w.place(order{email: "jane@example.com", name: "Jane Doe"})
	app := testApp(t, w)
	resp, body := get(t, app, "/admin/referrals/insert/"+strconv.FormatInt(o.ID, 10), map[string]string{"X-Staff-Role": "support"})
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "<svg") || !strings.Contains(page, "Jane, give your friends 10% off") ||
		!strings.Contains(page, "https://care.example.test/r/JANE-") {
		t.Fatalf("card: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := get(t, app, "/admin/referrals/insert/999999", map[string]string{"X-Staff-Role": "support"}); resp.StatusCode != 404 {
		t.Fatalf("unknown order: %d", resp.StatusCode)
	}
}

func TestProgramSettingsAreForAdminsAndValidated(t *testing.T) {
	w := newWorld(t, false)
	app := testApp(t, w)
	if resp, _ := get(t, app, "/admin/referrals/settings", map[string]string{"X-Staff-Role": "support"}); resp.StatusCode != 403 {
		t.Fatalf("support opened the settings: %d", resp.StatusCode)
	}
	admin := map[string]string{"X-Staff-Role": "admin"}
	resp, body := get(t, app, "/admin/referrals/settings", admin)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Stripe applies customer balance to invoices only") {
		t.Fatalf("settings page: %d", resp.StatusCode)
	}
	form := url.Values{
		"enabled": {"on"}, "currency": {"eur"}, "reward_type": {"credit"},
		"friend.kind": {"amount"}, "friend.amount": {"7.5"}, "friend.minimum": {"30"}, "friend.expiry_days": {"14"},
		"referrer.kind": {"percent"}, "referrer.percent": {"15"}, "referrer.expiry_days": {"90"},
		"milestone_after": {"3"}, "milestone.kind": {"amount"}, "milestone.amount": {"20"}, "milestone.expiry_days": {"90"},
		"monthly_cap": {"5"}, "lifetime_cap": {"20"}, "velocity_limit": {"4"}, "store_param": {"coupon"}, "attribution_days": {"60"},
	}
	resp, body = post(t, app, "/admin/referrals/settings", form, admin)
	if resp.StatusCode != 422 || !strings.Contains(string(body), "must be an amount when rewards are paid as credit") || !strings.Contains(string(body), `value="7.5"`) {
		t.Fatalf("credit with a percent: %d\n%s", resp.StatusCode, body)
	}
	form.Set("referrer.kind", "amount")
	form.Set("referrer.amount", "12.50")
	resp, _ = post(t, app, "/admin/referrals/settings", form, admin)
	if resp.StatusCode != 303 {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	p, err := program.Load(context.Background(), w.db)
	if err != nil {
		t.Fatal(err)
	}
	if p.Currency != "EUR" || p.Friend.AmountMinor != 750 || p.Friend.MinimumMinor != 3000 || p.Referrer.AmountMinor != 1250 ||
		p.RewardType != program.Credit || p.MilestoneAfter != 3 || p.StoreParam != "coupon" || p.AskAfterDelivery || p.AttributionDays != 60 {
		t.Fatalf("saved %+v", p)
	}
}

func TestAttrEscapeIsHTMLTemplates(t *testing.T) {
	// Every character of base64 (both alphabets), alone and in runs, and
	// some that only html/template itself escapes.
	for _, s := range []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_",
		"+", "++a+", "a+b/c", "Ur2XV9bJmOA0ftNDfIYLJw", "x+y=", `a"b`, "<&>'", "é+",
	} {
		if got, want := attrEscape(s), attrEscapeTemplate(s); got != want {
			t.Errorf("attrEscape(%q) = %q, html/template writes %q", s, got, want)
		}
	}
}
