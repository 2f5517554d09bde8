package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/browsertest"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/stripemock"
)

// liveApp is the whole product on a real port, a real database and a real
// SMTP conversation.
type liveApp struct {
	*App
	base string
	key  string
	smtp *mailtest.Server
}

func startLive(t *testing.T) *liveApp {
	t.Helper()
	return startLiveWith(t, nil)
}

// startLiveWithStripe is startLive with Stripe configured against a
// stripe-mock of this test, for refunds, friend codes and rewards.
func startLiveWithStripe(t *testing.T) *liveApp {
	t.Helper()
	mock, err := stripemock.Start(context.Background())
	if err != nil {
		t.Fatalf("stripe-mock: %v", err)
	}
	t.Cleanup(mock.Stop)
	return startLiveWith(t, map[string]string{"AFTERCARE_STRIPE_SECRET_KEY": "sk_test_123", "AFTERCARE_STRIPE_API_BASE": mock.URL()})
}

// startLiveWith starts the product with extra environment variables.
func startLiveWith(t *testing.T, extra map[string]string) *liveApp {
	t.Helper()
	return startLiveOpts(t, extra, appOptions{PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond})
}

// startLiveOpts is startLiveWith with the queue's knobs of the caller, for
// tests that depend on the retry backoff.
func startLiveOpts(t *testing.T, extra map[string]string, opts appOptions) *liveApp {
	t.Helper()
	smtp := mailtest.NewServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"AFTERCARE_DATABASE_URL": pgtest.URL(t), "AFTERCARE_SIGNING_KEYS": testKeys, "AFTERCARE_BASE_URL": base,
		"AFTERCARE_SMTP_URL": smtp.URL(), "AFTERCARE_MAIL_FROM": "Demo Store <care@example.test>",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(envOf(env), false)
	if err != nil {
		t.Fatal(err)
	}
	app := serveApp(t, cfg, opts, ln)
	key, err := auth.NewAPIKeys(app.DB).Create(context.Background(), "journey test")
	if err != nil {
		t.Fatal(err)
	}
	return &liveApp{App: app, base: base, key: key, smtp: smtp}
}

// serveApp builds the product from cfg and serves it on ln until the test
// ends.
func serveApp(t *testing.T, cfg config.Config, opts appOptions, ln net.Listener) *App {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	app, err := buildApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		app.Close()
	})
	return app
}

// api sends a JSON request with the API key and decodes the JSON answer.
func (l *liveApp) api(t *testing.T, method, path string, body any, wantStatus int) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, l.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+l.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out) //nolint:errcheck // some answers are not objects
	return out
}

func idOf(t *testing.T, m map[string]any) int64 {
	t.Helper()
	if id, ok := m["id"].(float64); ok {
		return int64(id)
	}
	t.Fatalf("no id in %v", m)
	return 0
}

// placeDemoOrder sends an order with one shipment and its events through the API.
func (l *liveApp) placeDemoOrder(t *testing.T, email, number string) int64 {
	t.Helper()
	now := time.Now().UTC()
	l.api(t, "PUT", "/api/v1/products/KETTLE-1", map[string]any{"title": "Gooseneck kettle", "returnable": true, "guide_md": "# Brewing\nFill to the line."}, 201)
	order := l.api(t, "POST", "/api/v1/orders", map[string]any{
		"external_id": "ext-" + number, "number": number, "placed_at": now.Add(-2 * time.Hour).Format(time.RFC3339),
		"customer": map[string]any{"email": email, "name": "Jane Doe"}, "currency": "USD",
		"items":    []map[string]any{{"sku": "KETTLE-1", "title": "Gooseneck kettle", "quantity": 1, "unit_price": 4900}},
		"subtotal": 4900, "discount": 0, "shipping": 500, "tax": 0, "total": 5400,
	}, 201)
	orderID := idOf(t, order)
	ship := l.api(t, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", orderID), map[string]any{
		"carrier": "UPS", "tracking_number": "1Z999AA1" + strings.TrimPrefix(number, "#"), "estimated_delivery": now.Add(48 * time.Hour).Format("2006-01-02"),
	}, 201)
	shipID := idOf(t, ship)
	for i, ev := range []struct{ status, detail, location string }{
		{"in_transit", "Departed facility", "Louisville, KY"},
		{"out_for_delivery", "Out for delivery", "Brooklyn, NY"},
	} {
		l.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", shipID), map[string]any{
			"status": ev.status, "detail": ev.detail, "location": ev.location,
			"occurred_at": now.Add(time.Duration(i-2) * time.Hour).Format(time.RFC3339), "provider_event_id": fmt.Sprintf("ev-%d", i),
		}, 201)
	}
	return orderID
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+/m/[A-Za-z0-9._\-]+`)

// mailTo waits for the email to addr whose subject contains want and returns its text part.
func (l *liveApp) mailTo(t *testing.T, addr, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range l.smtp.Messages() {
			subject, _ := m.Subject()
			if strings.Contains(strings.Join(m.To, ","), addr) && strings.Contains(subject, want) {
				parts, err := m.Parts()
				if err != nil {
					t.Fatal(err)
				}
				if parts["text/html"] == "" || parts["text/plain"] == "" {
					t.Fatalf("email %q lacks a part: %v", subject, parts)
				}
				return parts["text/plain"]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no email to %s with %q in its subject; got %d messages", addr, want, len(l.smtp.Messages()))
	return ""
}

func TestShopperOpensConfirmationLinkAndSeesTimeline(t *testing.T) {
	l := startLive(t)
	l.placeDemoOrder(t, "jane@example.com", "#1001")
	text := l.mailTo(t, "jane@example.com", "#1001")
	link := linkPattern.FindString(text)
	if link == "" || !strings.HasPrefix(link, l.base) {
		t.Fatalf("no magic link to %s in the confirmation:\n%s", l.base, text)
	}

	ctx := browsertest.New(t)
	shots := t.TempDir()
	if dir := os.Getenv("AFTERCARE_SCREENSHOTS"); dir != "" {
		shots = dir // keep them to look at
	}
	continueButton := chromedp.CSS(`form[action="/m"] button`)
	browsertest.Step(t, ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(continueButton))
	browsertest.Screenshot(t, ctx, shots, "continue")
	browsertest.Step(t, ctx, "press Continue", chromedp.Click(continueButton), chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	path := browsertest.Screenshot(t, ctx, shots, "order")
	for _, want := range []string{"#1001", "Gooseneck kettle", "Out for delivery", "Departed facility", "Louisville, KY", "1Z999AA11001"} {
		if !strings.Contains(page, want) {
			t.Errorf("order page lacks %q (screenshot %s):\n%s", want, path, page)
		}
	}
	t.Logf("screenshots in %s", shots)

	// The link was spent: opening it again offers a fresh one, never a session.
	browsertest.Step(t, ctx, "open the spent link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("main")))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `action="/m/fresh"`) {
		browsertest.Step(t, ctx, "press Continue on the spent link", chromedp.Click(continueButton), chromedp.WaitVisible(chromedp.CSS(`form[action="/m/fresh"]`)))
	}
}
