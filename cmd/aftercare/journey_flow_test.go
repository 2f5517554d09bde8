package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare/internal/browsertest"
)

// journeyShots is where the journey flow's screenshots go.
func journeyShots(t *testing.T) string {
	if dir := os.Getenv("AFTERCARE_SCREENSHOTS"); dir != "" {
		return dir
	}
	return t.TempDir()
}

func TestShopperReadsAGuideFromTheOrderPage(t *testing.T) {
	l := startLive(t)
	orderID := l.placeDemoOrder(t, "gwen@example.com", "#2101")
	link := linkPattern.FindString(l.mailTo(t, "gwen@example.com", "#2101"))
	if link == "" {
		t.Fatal("no magic link in the confirmation")
	}
	ctx := browsertest.New(t)
	shots := journeyShots(t)
	browsertest.Step(t, ctx, "open the confirmation link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`form[action="/m"] button`)))
	browsertest.Step(t, ctx, "continue to the order", chromedp.Click(chromedp.CSS(`form[action="/m"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#guides`)))
	browsertest.Screenshot(t, ctx, shots, "journey-order-guides")
	panel, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#guides")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(panel, "How-to guides") || !strings.Contains(panel, "Gooseneck kettle") {
		t.Fatalf("the guides section says:\n%s", panel)
	}
	browsertest.Step(t, ctx, "open the kettle's guide", chromedp.Click(chromedp.CSS(`#guides a[href="/guides/KETTLE-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`article.guide`)))
	path := browsertest.Screenshot(t, ctx, shots, "journey-guide")
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.guide-body h1`)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.guide-body`)))
	if err != nil {
		t.Fatal(err)
	}
	if heading != "Brewing" || !strings.Contains(body, "Fill to the line.") {
		t.Fatalf("the guide page shows %q / %q (screenshot %s)", heading, body, path)
	}
	var views int
	if err := l.DB.Get(&views, `SELECT count(*) FROM guide_views v JOIN products p ON p.id = v.product_id
		JOIN orders o ON o.customer_id = v.customer_id WHERE p.sku = 'KETTLE-1' AND o.id = $1`, orderID); err != nil || views != 1 {
		t.Errorf("%d guide views recorded (%v)", views, err)
	}
}

var starLink = regexp.MustCompile(`https?://[^\s"<>]+/reviews/m/[A-Za-z0-9._\-]+\?rating=4`)

func TestShopperReviewsFromTheEmailsStarLink(t *testing.T) {
	l := startLive(t)
	// Ask at delivery, and let marketing mail go whatever the hour.
	for _, q := range []string{
		`INSERT INTO store_settings (section, value) VALUES ('reviews', '{"request_after_days": 0}')`,
		`INSERT INTO store_settings (section, value) VALUES ('mail', '{"frequency_cap_hours": 0, "quiet_start": "", "quiet_end": ""}')`,
	} {
		if _, err := l.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	orderID := l.placeDemoOrder(t, "rhea@example.com", "#2202")
	if _, err := l.DB.Exec(`UPDATE customers SET marketing_consent = true WHERE email = 'rhea@example.com'`); err != nil {
		t.Fatal(err)
	}
	var shipmentID int64
	if err := l.DB.Get(&shipmentID, `SELECT id FROM shipments WHERE order_id = $1`, orderID); err != nil {
		t.Fatal(err)
	}
	l.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", shipmentID), map[string]any{
		"status": "delivered", "detail": "Left at the door", "location": "Brooklyn, NY",
		"occurred_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "provider_event_id": "ev-delivered",
	}, 201)

	text := l.mailTo(t, "rhea@example.com", "Review your order #2202")
	link := starLink.FindString(text)
	if link == "" || !strings.HasPrefix(link, l.base) {
		t.Fatalf("no four-star link in the review request:\n%s", text)
	}
	for _, m := range l.smtp.Messages() {
		if subject, _ := m.Subject(); strings.Contains(subject, "Review your order") {
			h, _ := m.Header()
			if !strings.HasPrefix(h.Get("List-Unsubscribe"), "<"+l.base+"/api/email/unsubscribe/") || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("the review request lacks one-click unsubscribe headers: %v", h)
			}
		}
	}

	ctx := browsertest.New(t)
	shots := journeyShots(t)
	browsertest.Step(t, ctx, "open the four-star link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`form.reviews-form`)))
	browsertest.Screenshot(t, ctx, shots, "journey-review-form")
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name=rating]:checked')?.value ?? ''`))
	if err != nil {
		t.Fatal(err)
	}
	if checked != "4" {
		t.Fatalf("the form opened with rating %q, want 4", checked)
	}
	var reviews int
	if err := l.DB.Get(&reviews, `SELECT count(*) FROM reviews`); err != nil || reviews != 0 {
		t.Fatalf("opening the link recorded %d reviews (%v)", reviews, err)
	}
	browsertest.Step(t, ctx, "write and send the review",
		chromedp.SendKeys(chromedp.CSS(`#review-title`), "Pours like a dream"),
		chromedp.SendKeys(chromedp.CSS(`#review-body`), "Steady stream, heats fast."),
		chromedp.Click(chromedp.CSS(`form.reviews-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#thanks-h`)))
	browsertest.Screenshot(t, ctx, shots, "journey-review-thanks")
	browsertest.Step(t, ctx, "back to the order", chromedp.Click(chromedp.CSS(`a[href$="#reviews"]`)), chromedp.WaitVisible(chromedp.CSS(`#reviews`)))
	path := browsertest.Screenshot(t, ctx, shots, "journey-order-reviews")
	panel, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#reviews")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(panel, "★★★★☆") || !strings.Contains(panel, "Published") {
		t.Fatalf("the order page's reviews say (screenshot %s):\n%s", path, panel)
	}
	var got struct {
		Rating int    `db:"rating"`
		Title  string `db:"title"`
		Status string `db:"status"`
	}
	if err := l.DB.Get(&got, `SELECT rating, title, status FROM reviews`); err != nil {
		t.Fatal(err)
	}
	if got.Rating != 4 || got.Title != "Pours like a dream" || got.Status != "published" {
		t.Errorf("stored review %+v", got)
	}

	t.Run("the storefront reads it without an API key", func(t *testing.T) {
		resp, err := http.Get(l.base + "/api/v1/products/KETTLE-1/reviews")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"count":1`) || !strings.Contains(string(body), "Pours like a dream") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("the mailbox provider's one-click POST unsubscribes without cookies", func(t *testing.T) {
		var unsubscribe string
		for _, m := range l.smtp.Messages() {
			if subject, _ := m.Subject(); strings.Contains(subject, "Review your order") {
				h, _ := m.Header()
				unsubscribe = strings.Trim(h.Get("List-Unsubscribe"), "<>")
			}
		}
		resp, err := http.Post(unsubscribe, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var unsubscribed bool
		if err := l.DB.Get(&unsubscribed, `SELECT unsubscribed_at IS NOT NULL FROM customers WHERE email = 'rhea@example.com'`); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !unsubscribed {
			t.Fatalf("one-click POST: %d, unsubscribed %v", resp.StatusCode, unsubscribed)
		}
	})
}
