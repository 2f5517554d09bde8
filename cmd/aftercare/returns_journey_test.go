package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/browsertest"
	"github.com/aftercare/aftercare/internal/staff"
)

// returnsDeliveredOrder sends, through the API, an order paid by a Stripe
// PaymentIntent with one parcel that was delivered yesterday.
func (l *liveApp) returnsDeliveredOrder(t *testing.T, email, number string) (orderID, itemID int64) {
	t.Helper()
	now := time.Now().UTC()
	l.api(t, "PUT", "/api/v1/products/MUG-1", map[string]any{"title": "Stoneware mug", "returnable": true}, 201)
	order := l.api(t, "POST", "/api/v1/orders", map[string]any{
		"external_id": "ext-" + number, "number": number, "placed_at": now.Add(-30 * time.Hour).Format(time.RFC3339),
		"customer": map[string]any{"email": email, "name": "Jane Doe"}, "currency": "USD",
		"items":    []map[string]any{{"sku": "MUG-1", "title": "Stoneware mug", "quantity": 2, "unit_price": 1800}},
		"subtotal": 3600, "discount": 0, "shipping": 500, "tax": 0, "total": 4100, "payment_reference": "pi_3Mtw" + strings.TrimPrefix(number, "#"),
	}, 201)
	orderID = idOf(t, order)
	items, _ := order["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("order items %v", order["items"])
	}
	itemID = int64(items[0].(map[string]any)["id"].(float64))
	ship := l.api(t, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", orderID), map[string]any{
		"carrier": "UPS", "tracking_number": "1ZRET" + strings.TrimPrefix(number, "#"),
	}, 201)
	l.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", idOf(t, ship)), map[string]any{
		"status": "delivered", "detail": "Left at front door", "occurred_at": now.Add(-24 * time.Hour).Format(time.RFC3339), "provider_event_id": "del-1",
	}, 201)
	return orderID, itemID
}

func screenshotsDir(t *testing.T) string {
	if dir := os.Getenv("AFTERCARE_SCREENSHOTS"); dir != "" {
		return dir
	}
	return t.TempDir()
}

func TestShopperReturnsAnItemAndStaffRefundsIt(t *testing.T) {
	l := startLiveWithStripe(t)
	orderID, itemID := l.returnsDeliveredOrder(t, "jane@example.com", "#2001")
	link := linkPattern.FindString(l.mailTo(t, "jane@example.com", "#2001"))
	if !strings.HasPrefix(link, l.base) {
		t.Fatal("no magic link in the order confirmation")
	}
	ctx := browsertest.New(t)
	shots := screenshotsDir(t)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The shopper: order page -> Return items -> form -> label with QR.
	browsertest.Step(t, ctx, "sign in from the email", chromedp.Navigate(link),
		chromedp.Click(chromedp.CSS(`form[action="/m"] button`)), chromedp.WaitVisible(chromedp.CSS(`section.returns-panel`)))
	browsertest.Screenshot(t, ctx, shots, "returns-order-panel")
	browsertest.Step(t, ctx, "open the return form", chromedp.Click(chromedp.CSS(`a[href="/orders/`+fmt.Sprint(orderID)+`/return"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#qty-%d`, itemID))))
	browsertest.Step(t, ctx, "choose one mug, wrong size, a refund",
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`#qty-%d`, itemID)), "1"),
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`#reason-%d`, itemID)), "wrong_size"),
		chromedp.Click(chromedp.CSS(`input[name="resolution"][value="refund"]`)))
	browsertest.Screenshot(t, ctx, shots, "returns-form")
	browsertest.Step(t, ctx, "request the return", chromedp.Click(chromedp.CSS(`form.returns-form p.actions button`)),
		chromedp.WaitVisible(chromedp.CSS(`img.returns-qr`)))
	// The image may still be loading on a busy machine: wait for it.
	browsertest.Step(t, ctx, "see the QR code load", chromedp.Poll[chromedp.Void](
		`(() => { const i = document.querySelector('img.returns-qr'); return i && i.complete && i.naturalWidth > 100; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	label := browsertest.Screenshot(t, ctx, shots, "returns-label")
	rma := strings.TrimSpace(text(`.returns-label-rma`))
	if !strings.HasPrefix(rma, "R-") || !strings.Contains(text("main"), "How to send it back") {
		t.Fatalf("label page (screenshot %s):\n%s", label, text("main"))
	}
	if mail := l.mailTo(t, "jane@example.com", "Your return "+rma+" is approved"); !strings.Contains(mail, "/returns/"+rma) {
		t.Fatalf("the approval email lacks the label link:\n%s", mail)
	}

	// The staff: queue -> the return -> receive -> refund.
	if _, err := staff.NewAccounts(l.DB).Create(context.Background(),
		staff.NewAccount{Email: "sam@example.com", Name: "Sam Carter", Role: staff.RoleSupport, Password: "a long support password"}, audit.System); err != nil {
		t.Fatal(err)
	}
	browsertest.Step(t, ctx, "sign in as staff", chromedp.Navigate(l.base+"/admin/returns"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "sam@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a long support password"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.returns-queue`)))
	queue := browsertest.Screenshot(t, ctx, shots, "returns-queue")
	if q := text(`table.returns-queue`); !strings.Contains(q, rma) || !strings.Contains(q, "Wrong size") || !strings.Contains(q, "$18.00") {
		t.Fatalf("queue (screenshot %s):\n%s", queue, q)
	}
	browsertest.Step(t, ctx, "open the return", chromedp.Click(chromedp.CSS(`table.returns-queue a`)),
		chromedp.WaitVisible(chromedp.CSS(`form.returns-receive`)))
	browsertest.Step(t, ctx, "mark it received",
		chromedp.SendKeys(chromedp.CSS(`#condition-note`), "Unused, in its box."),
		chromedp.Click(chromedp.CSS(`form.returns-receive button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.returns-resolve`)))
	browsertest.Screenshot(t, ctx, shots, "returns-received")
	browsertest.Step(t, ctx, "refund through Stripe",
		chromedp.Click(chromedp.CSS(`form.returns-resolve input[value="refund"]`)),
		chromedp.Click(chromedp.CSS(`form.returns-resolve button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.returns-refunded`)))
	done := browsertest.Screenshot(t, ctx, shots, "returns-refunded")
	if page := text("main"); !strings.Contains(page, "Refunded $18.00 to the original payment") || !strings.Contains(page, "re_") {
		t.Fatalf("after the refund (screenshot %s):\n%s", done, page)
	}
	var refunded int64
	if err := l.DB.Get(&refunded, `SELECT refunded_minor FROM orders WHERE id = $1`, orderID); err != nil || refunded != 1800 {
		t.Fatalf("order refunded %d (%v)", refunded, err)
	}
	if mail := l.mailTo(t, "jane@example.com", "Your refund of $18.00"); !strings.Contains(mail, rma) {
		t.Fatalf("refund email:\n%s", mail)
	}
	t.Logf("screenshots in %s", shots)
}
