package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/integrations"
	"github.com/aftercare/aftercare/internal/integrations/shopify"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/staff"
)

const shopifySecret = "shpss_journey_secret"

// postWebhook sends a signed Shopify delivery to the live app.
func (l *liveApp) postWebhook(t *testing.T, topic, id string, body []byte, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, l.base+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Webhook-Id", id)
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign(body, secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// waitUntil polls query (a boolean) until it is true or 30 s pass.
func (l *liveApp) waitUntil(t *testing.T, what, query string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if err := l.DB.Get(&ok, query, args...); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestShopifyWebhooksFlowThroughTheApp(t *testing.T) {
	l := startLive(t)
	ctx := context.Background()
	if err := integrations.SaveSecret(ctx, l.DB, shopify.Name, shopifySecret, audit.System); err != nil {
		t.Fatal(err)
	}
	// No quiet hours, so the reminder goes out whatever time the test runs.
	if err := mail.SavePacing(ctx, l.DB, mail.Pacing{}, audit.System); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	order := []byte(fmt.Sprintf(`{"id":7001,"name":"#W7001","email":"noor@example.com","created_at":%q,"updated_at":%q,"currency":"EUR",
		"total_price":"24.00","customer":{"first_name":"Noor","last_name":"Haddad"},
		"line_items":[{"id":1,"sku":"TEA-1","title":"Sencha","quantity":2,"price":"12.00"}]}`, now.Add(-time.Minute).Format(time.RFC3339), now.Format(time.RFC3339)))

	if status, body := l.postWebhook(t, "orders/create", "w-7001", order, "not the secret"); status != http.StatusUnauthorized {
		t.Fatalf("a wrong signature: %d %s", status, body)
	}
	if status, body := l.postWebhook(t, "orders/create", "w-7001", order, shopifySecret); status != http.StatusOK || !strings.Contains(body, "accepted") {
		t.Fatalf("delivery: %d %s", status, body)
	}
	l.waitUntil(t, "the webhook to be processed", `SELECT EXISTS (SELECT 1 FROM webhook_events WHERE event_id = 'w-7001' AND processed_at IS NOT NULL)`)
	if text := l.mailTo(t, "noor@example.com", "#W7001"); !strings.Contains(text, "Sencha") {
		t.Errorf("the confirmation lacks the line:\n%s", text)
	}
	if status, body := l.postWebhook(t, "orders/create", "w-7001", order, shopifySecret); status != http.StatusOK || !strings.Contains(body, "duplicate") {
		t.Fatalf("redelivery: %d %s", status, body)
	}

	// A customer who agreed to marketing leaves a checkout; the reminder follows.
	l.DB.MustExec(`INSERT INTO customers (email, name, marketing_consent) VALUES ('mia@example.com', 'Mia Wong', true)`)
	left := now.Add(-5 * time.Hour).Format(time.RFC3339)
	checkout := []byte(fmt.Sprintf(`{"id":81,"token":"tok-81","email":"mia@example.com","created_at":%q,"updated_at":%q,"completed_at":null,
		"currency":"EUR","total_price":"42.00","abandoned_checkout_url":"https://shop.example/cart/recover/tok-81",
		"line_items":[{"title":"Oolong","variant_title":"50 g","sku":"OOL-50","quantity":2,"price":"21.00"}]}`, left, left))
	if status, body := l.postWebhook(t, "checkouts/update", "w-81", checkout, shopifySecret); status != http.StatusOK {
		t.Fatalf("checkout: %d %s", status, body)
	}
	text := l.mailTo(t, "mia@example.com", "cart")
	for _, want := range []string{"Oolong – 50 g × 2", "https://shop.example/cart/recover/tok-81"} {
		if !strings.Contains(text, want) {
			t.Errorf("the reminder lacks %q:\n%s", want, text)
		}
	}
}

func TestStaffSeeWebhooksAndIntegrationsInTheAdmin(t *testing.T) {
	l := startLive(t)
	ctx := context.Background()
	if _, err := staff.NewAccounts(l.DB).Create(ctx, staff.NewAccount{Email: "ops@example.com", Name: "Ops", Role: staff.RoleAdmin,
		Password: "a long admin password"}, audit.System); err != nil {
		t.Fatal(err)
	}
	if err := integrations.SaveSecret(ctx, l.DB, shopify.Name, shopifySecret, audit.System); err != nil {
		t.Fatal(err)
	}
	if status, _ := l.postWebhook(t, "products/update", "w-p1", []byte(`{"id":1}`), shopifySecret); status != http.StatusOK {
		t.Fatalf("delivery: %d", status)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(l.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(raw)
	}
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(get("/admin/signin"))
	if csrf == nil {
		t.Fatal("no CSRF field on the sign-in page")
	}
	resp, err := client.PostForm(l.base+"/admin/signin", url.Values{"_csrf": {csrf[1]}, "email": {"ops@example.com"}, "password": {"a long admin password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := get("/admin/webhooks")
	for _, want := range []string{`href="/admin/webhooks" aria-current="page"`, `href="/admin/settings/integrations"`, "products/update", "ignored: topic products/update is not used"} {
		if !strings.Contains(page, want) {
			l.waitUntil(t, "the delivery to be processed", `SELECT EXISTS (SELECT 1 FROM webhook_events WHERE processed_at IS NOT NULL)`)
			if page = get("/admin/webhooks"); !strings.Contains(page, want) {
				t.Fatalf("the webhooks page lacks %q:\n%s", want, page)
			}
		}
	}
	settings := get("/admin/settings/integrations")
	for _, name := range []string{"shopify", "woocommerce", "stripe", "easypost", "aftership"} {
		if !strings.Contains(settings, l.base+"/webhooks/"+name) {
			t.Errorf("the settings page lacks the %s address", name)
		}
	}
}

func TestImportCommand(t *testing.T) {
	env := envOf(map[string]string{"AFTERCARE_DATABASE_URL": pgtest.URL(t), "AFTERCARE_SIGNING_KEYS": testKeys})
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	orders := write("orders.csv", "external_id,placed_at,email,currency,sku,title,quantity,unit_price\n"+
		"H1,2022-01-05,ann@example.com,EUR,TEA,Tea,1,9.50\nH1,2022-01-05,ann@example.com,EUR,CUP,Cup,2,4.00\nH2,2022-01-06,bob@example.com,EUR,TEA,Tea,1,9.50\n")
	bad := write("bad.csv", "external_id,placed_at,email,currency,sku,title,quantity,unit_price\nH3,2022-01-07,cy@example.com,EUR,TEA,Tea,-1,9.50\n")
	shipments := write("shipments.csv", "order_external_id,carrier,tracking_number,shipped_at,status,status_at\nH1,DHL,JD1,2022-01-06,delivered,2022-01-08\n")
	imp := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"aftercare", "import"}, args...), env, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr bool
	}{
		{"a dry run writes nothing", []string{"orders", orders, "--dry-run"}, "2 orders in 3 rows: 2 would be imported, 0 unchanged, 0 failed.", false},
		{"orders import", []string{"orders", "--source", "import", orders}, "2 orders in 3 rows: 2 imported, 0 unchanged, 0 failed.", false},
		{"a second import changes nothing", []string{"orders", orders}, "2 orders in 3 rows: 0 imported, 2 unchanged, 0 failed.", false},
		{"shipments import", []string{"shipments", shipments}, "1 shipments in 1 rows: 1 imported", false},
		{"bad rows are named by line and fail the command", []string{"orders", bad}, "line 2 (H3): items[0].quantity must be at least 1", true},
		{"a missing file is a usage error", []string{"orders"}, "the CSV file to import is missing", true},
		{"an unknown kind is a usage error", []string{"customers", orders}, "aftercare import orders|shipments", true},
		{"help explains the flags", []string{"orders", "--help"}, "-dry-run", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := imp(tt.args...)
			if (err != nil) != tt.wantErr || !strings.Contains(out, tt.want) {
				t.Fatalf("err %v, output:\n%s\nwant %q", err, out, tt.want)
			}
		})
	}
}
