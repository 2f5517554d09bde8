package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/browsertest"
	"github.com/aftercare/aftercare/internal/staff"
)

func TestSupportOpensTheDashboardAndACustomer(t *testing.T) {
	l := startLive(t)
	l.placeDemoOrder(t, "jane@example.com", "#5001")
	_, err := staff.NewAccounts(l.DB).Create(context.Background(),
		staff.NewAccount{Email: "sue@example.com", Name: "Sue Support", Role: staff.RoleSupport, Password: "a long support password"}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	browsertest.Step(t, ctx, "sign in and land on the dashboard", chromedp.Navigate(l.base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "sue@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a long support password"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`figure.dash-chart svg[role="img"]`)))
	main, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Dashboard", "Orders per day", "$54.00", "Review conversion", "Referral funnel", "Download"} {
		if !strings.Contains(main, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, main)
		}
	}
	browsertest.Step(t, ctx, "choose a period", chromedp.Navigate(l.base+"/admin?from=2026-01-01&to=2026-01-07"),
		chromedp.WaitVisible(chromedp.CSS(`#t-daily`)))
	daily, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#t-daily")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(daily, "2026-01-01") || !strings.Contains(daily, "2026-01-07") {
		t.Fatalf("the daily table does not cover the period:\n%s", daily)
	}

	browsertest.Step(t, ctx, "find the customer by order number", chromedp.Click(chromedp.CSS(`nav.admin-nav a[href="/admin/customers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#q`)),
		chromedp.SendKeys(chromedp.CSS(`#q`), "#5001"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-hits a`)),
		chromedp.Click(chromedp.CSS(`#customer-hits a`)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-email`)))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Jane Doe", "jane@example.com", "#5001", "1Z999AA15001", "order_confirmation"} {
		if !strings.Contains(page, want) {
			t.Errorf("customer page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "Data rights") {
		t.Error("support is offered the admin's data rights")
	}
	browsertest.Step(t, ctx, "email the customer a sign-in link",
		chromedp.Click(chromedp.CSS(`form[action$="/login-link"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if text := l.mailTo(t, "jane@example.com", "Your sign-in link"); !linkPattern.MatchString(text) {
		t.Fatalf("the sign-in email has no link:\n%s", text)
	}
}
