package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare/internal/browsertest"
)

// referralShots is where the journey's screenshots go: AFTERCARE_SCREENSHOTS
// to keep them, else the test's temporary directory.
func referralShots(t *testing.T) string {
	if dir := os.Getenv("AFTERCARE_SCREENSHOTS"); dir != "" {
		return dir
	}
	return t.TempDir()
}

// waitFor polls the database until query returns true or 30 s pass.
func (l *liveApp) waitFor(t *testing.T, what, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		if err := l.DB.Get(&ok, query, args...); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestReferrerSharesTheirLinkAndAFriendGetsACode(t *testing.T) {
	l := startLiveWithStripe(t)
	l.placeDemoOrder(t, "jane@example.com", "#3001")
	link := linkPattern.FindString(l.mailTo(t, "jane@example.com", "#3001"))
	shots := referralShots(t)

	// The referrer: from the order page to the Refer page.
	ctx := browsertest.New(t)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: l.base})
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	browsertest.Step(t, ctx, "open the link and continue", chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/m"] button`)), chromedp.Click(chromedp.CSS(`form[action="/m"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)))
	browsertest.Step(t, ctx, "follow the order page's referral section", chromedp.Click(chromedp.CSS(`.referral-panel a[href="/refer"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#qr-image`)))
	code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#my-code`)))
	if err != nil || !strings.HasPrefix(code, "JANE-") {
		t.Fatalf("code on the Refer page: %q %v", code, err)
	}
	share := l.base + "/r/" + code
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const i = document.getElementById("qr-image"); return i.complete && i.naturalWidth >= 240 })()`)); err != nil {
		t.Fatalf("the QR code did not load: %v", err)
	}
	refer := browsertest.Screenshot(t, ctx, shots, "referral-refer")
	browsertest.Step(t, ctx, "copy the link", chromedp.Click(chromedp.CSS(`button.referral-copy`)))
	status, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const s = document.getElementById("copy-status").textContent; return s.startsWith("Copied") ? s : false })()`))
	if err != nil || status != "Copied: "+share {
		t.Fatalf("after Copy: %q %v (screenshot %s)", status, err, refer)
	}
	if clip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); err != nil || clip != share {
		t.Fatalf("the clipboard holds %q (%v), want %q", clip, err, share)
	}
	browsertest.Screenshot(t, ctx, shots, "referral-copied")

	// The friend, in a browser of their own: the landing, an email, the code.
	friend := browsertest.New(t)
	browsertest.Step(t, friend, "open the share link", chromedp.Navigate(share), chromedp.WaitVisible(chromedp.CSS(`#friend-email`)))
	if text, _ := chromedp.Run(friend, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(text, "A gift from Jane") || !strings.Contains(text, "10% off") {
		t.Fatalf("landing:\n%s", text)
	}
	browsertest.Screenshot(t, friend, shots, "referral-landing")
	browsertest.Step(t, friend, "ask for the code", chromedp.SendKeys(chromedp.CSS(`#friend-email`), "sam@example.net"),
		chromedp.Click(chromedp.CSS(`form.referral-form button`)), chromedp.WaitVisible(chromedp.CSS(`#friend-code`)))
	friendCode, err := chromedp.Run(friend, chromedp.Text(chromedp.CSS(`#friend-code`)))
	if err != nil || !strings.HasPrefix(friendCode, "JANE") || len(friendCode) != len("JANE")+8 {
		t.Fatalf("friend's code %q %v", friendCode, err)
	}
	browsertest.Screenshot(t, friend, shots, "referral-friend-code")
	if mailed := l.mailTo(t, "sam@example.net", "code for"); !strings.Contains(mailed, friendCode) {
		t.Fatalf("the emailed offer lacks the code %s:\n%s", friendCode, mailed)
	}

	// The friend orders with it; the referrer's ledger shows the friend.
	l.api(t, "POST", "/api/v1/orders", map[string]any{
		"external_id": "ext-3002", "number": "#3002", "placed_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"customer": map[string]any{"email": "sam@example.net", "name": "Sam Friend"}, "currency": "USD",
		"items":    []map[string]any{{"sku": "KETTLE-1", "title": "Gooseneck kettle", "quantity": 1, "unit_price": 4900}},
		"subtotal": 4900, "discount": 490, "shipping": 0, "tax": 0, "total": 4410, "discount_codes": []string{friendCode},
	}, 201)
	l.waitFor(t, "the conversion", `SELECT EXISTS (SELECT 1 FROM rewards r JOIN referrals f ON f.id = r.referral_id WHERE f.promotion_code = $1 AND r.status = 'held')`, friendCode)
	browsertest.Step(t, ctx, "open the Refer page again", chromedp.Navigate(l.base+"/refer"), chromedp.WaitVisible(chromedp.CSS(`.referral-entries`)))
	ledger, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.referral-ledger`)))
	if err != nil || !strings.Contains(ledger, "s•••@example.net") || !strings.Contains(ledger, "Waiting for their order to be delivered") {
		t.Fatalf("ledger:\n%s", ledger)
	}
	browsertest.Screenshot(t, ctx, shots, "referral-ledger")
	t.Logf("screenshots in %s", shots)
}
