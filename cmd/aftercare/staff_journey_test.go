package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/browsertest"
	"github.com/aftercare/aftercare/internal/staff"
)

var staffLinkPattern = regexp.MustCompile(`https?://[^\s"<>]+/admin/m/[A-Za-z0-9_-]{43}`)

func TestStaffSignsInToTheAdmin(t *testing.T) {
	l := startLive(t)
	_, err := staff.NewAccounts(l.DB).Create(context.Background(),
		staff.NewAccount{Email: "sam@example.com", Name: "Sam Carter", Role: staff.RoleAdmin, Password: "a long admin password"}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	shots := t.TempDir()
	if dir := os.Getenv("AFTERCARE_SCREENSHOTS"); dir != "" {
		shots = dir
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	browsertest.Step(t, ctx, "open the admin", chromedp.Navigate(l.base+"/admin"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	browsertest.Screenshot(t, ctx, shots, "staff-signin")
	browsertest.Step(t, ctx, "sign in with a password",
		chromedp.SendKeys(chromedp.CSS(`#email`), "Sam@Example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a long admin password"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.admin-nav`)))
	path := browsertest.Screenshot(t, ctx, shots, "staff-dashboard")
	nav := text("nav.admin-nav")
	for _, want := range []string{"Dashboard", "Staff", "Audit log"} {
		if !strings.Contains(nav, want) {
			t.Errorf("nav lacks %q (screenshot %s): %s", want, path, nav)
		}
	}
	if h := text("main h1"); h != "Dashboard" || !strings.Contains(text("header.admin-bar"), "Sam Carter") {
		t.Fatalf("after sign-in: %q (screenshot %s)", h, path)
	}

	browsertest.Step(t, ctx, "open the staff page", chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/staff"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.stack`)))
	browsertest.Screenshot(t, ctx, shots, "staff-list")
	if !strings.Contains(text("table.stack"), "sam@example.com") {
		t.Fatal("the staff page does not list the account")
	}

	browsertest.Step(t, ctx, "open the audit log", chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.stack`)))
	browsertest.Screenshot(t, ctx, shots, "staff-audit")
	if log := text("table.stack"); !strings.Contains(log, "staff.signed_in") || !strings.Contains(log, "staff.created") {
		t.Fatalf("the audit log lacks the sign-in or the creation:\n%s", log)
	}

	// Sign out, then in again by an emailed link: the composer is wired and the link works.
	browsertest.Step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/admin/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#link-email`)))
	browsertest.Step(t, ctx, "ask for a link",
		chromedp.SendKeys(chromedp.CSS(`#link-email`), "sam@example.com"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin/link"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#sent-h`)))
	link := staffLinkPattern.FindString(l.mailTo(t, "sam@example.com", "Sign in to the"))
	if !strings.HasPrefix(link, l.base+"/admin/m/") {
		t.Fatalf("no staff sign-in link to %s in the email", l.base)
	}
	browsertest.Step(t, ctx, "open the link and continue", chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/admin/m"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/admin/m"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.admin-nav`)))
	browsertest.Screenshot(t, ctx, shots, "staff-after-link")
	t.Logf("screenshots in %s", shots)
}
