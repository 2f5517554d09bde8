package integrations_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/integrations/shopify"
	"github.com/aftercare/aftercare/internal/integrations/woocommerce"
	"github.com/aftercare/aftercare/internal/staff"
)

const baseURL = "https://shop.example"

// adminEnv is an Env whose app also has the admin pages, wired as cmd does.
func adminEnv(t *testing.T) *it.Env {
	t.Helper()
	env := it.New(t, func(d integrations.Deps) integrations.Provider { return shopify.New(d) },
		func(d integrations.Deps) integrations.Provider { return woocommerce.New(d) })
	shell := staff.NewShell()
	admin := env.App.Group("/admin", staff.NewSessions(env.DB, false).Load, shell.Load)
	integrations.NewAdmin(env.DB, env.Inbox, baseURL).Routes(admin)
	return env
}

// browser is a signed-in staff member's browser: it keeps cookies and
// fills in the CSRF field of its POSTs.
type browser struct {
	t       *testing.T
	app     *fiber.App
	staffID int64
	cookies map[string]string
}

type page struct {
	status int
	header http.Header
	body   string
}

// signedIn makes a staff member of role with a live session.
func signedIn(t *testing.T, env *it.Env, role staff.Role) *browser {
	t.Helper()
	b := &browser{t: t, app: env.App, cookies: map[string]string{}}
	if err := env.DB.Get(&b.staffID, `INSERT INTO staff (email, name, role) VALUES ($1, $2, $3) RETURNING id`,
		string(role)+"@example.com", "Sam "+string(role), role); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	rand.Read(raw) //nolint:errcheck
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	env.DB.MustExec(`INSERT INTO staff_sessions (id_hash, staff_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`, sum[:], b.staffID)
	b.cookies[staff.SessionCookie] = token
	return b
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.app.Test(req, -1)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		b.cookies[c.Name] = c.Value
	}
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if b.cookies["aftercare_csrf"] == "" {
		b.get("/admin/webhooks")
	}
	form.Set("_csrf", b.cookies["aftercare_csrf"])
	return b.do("POST", path, form)
}

func want(t *testing.T, p page, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d:\n%s", p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.body)
		}
	}
}

func deliverShopify(t *testing.T, env *it.Env, topic, id string, body []byte) integrations.Event {
	t.Helper()
	r := env.Post(t, shopify.Name, body, map[string]string{"X-Shopify-Hmac-Sha256": shopify.Sign(body, "s3cret-value"),
		"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": id})
	if r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	ev, _ := env.Process(t, shopify.Name, id)
	return ev
}

var orderBody = []byte(`{"id":31,"name":"#31","email":"kim@example.com","created_at":"2024-01-01T00:00:00Z","currency":"USD",
	"total_price":"9.00","line_items":[{"id":1,"sku":"A","title":"A <b>tag</b>","quantity":1,"price":"9.00"}]}`)

var refundBody = []byte(`{"id":77,"order_id":31,"note":"Things were <damaged>","transactions":[{"id":1,"kind":"refund","status":"success","amount":"4.00"}]}`)

func TestTheWebhooksPageListsFiltersShowsAndReplays(t *testing.T) {
	env := adminEnv(t)
	env.SetSecret(t, shopify.Name, "s3cret-value")
	// The refund arrives before its order and fails; the order then arrives.
	failed := deliverShopify(t, env, "refunds/create", "w-refund", refundBody)
	ok := deliverShopify(t, env, "orders/create", "w-order", orderBody)
	if failed.Status() != "retrying" || ok.Status() != "processed" {
		t.Fatalf("statuses %s, %s", failed.Status(), ok.Status())
	}
	support := signedIn(t, env, staff.RoleSupport)

	t.Run("support staff see every delivery with its status", func(t *testing.T) {
		want(t, support.get("/admin/webhooks"), 200, "refunds/create", "orders/create", "Failing, retrying", "Processed", "order 1 created")
	})
	t.Run("the failed filter shows only failures", func(t *testing.T) {
		p := support.get("/admin/webhooks?status=failed")
		want(t, p, 200, "refunds/create")
		if strings.Contains(p.body, "orders/create</code>") {
			t.Fatal("a processed delivery under the failed filter")
		}
	})
	t.Run("the provider and processed filters combine", func(t *testing.T) {
		p := support.get("/admin/webhooks?provider=shopify&status=processed")
		want(t, p, 200, "orders/create", `<option value="shopify" selected>`)
		if strings.Contains(p.body, "refunds/create</code>") {
			t.Fatal("a failed delivery under the processed filter")
		}
	})
	path := "/admin/webhooks/" + strconv.FormatInt(failed.ID, 10)
	t.Run("a delivery's page shows its error, headers and raw body, escaped", func(t *testing.T) {
		p := support.get(path)
		want(t, p, 200, "There is no order", "X-Shopify-Topic", "Things were &lt;damaged&gt;", "Replay this delivery")
		if strings.Contains(p.body, "<damaged>") {
			t.Fatal("the raw body was not escaped")
		}
	})
	t.Run("a replay without the CSRF field is refused", func(t *testing.T) {
		p := support.do("POST", path+"/replay", url.Values{})
		want(t, p, http.StatusForbidden)
		if n := env.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'webhook.replayed'`); n != 0 {
			t.Fatal("replayed without CSRF")
		}
	})
	t.Run("a replay queues the delivery again and is audited", func(t *testing.T) {
		p := support.post(path+"/replay", url.Values{})
		want(t, p, http.StatusSeeOther)
		if loc := p.header.Get("Location"); loc != path+"?replayed=1" {
			t.Fatalf("Location %q", loc)
		}
		var actor, subject string
		row := env.DB.QueryRow(`SELECT actor, subject FROM audit_log WHERE action = 'webhook.replayed'`)
		if err := row.Scan(&actor, &subject); err != nil || actor != "staff:"+strconv.FormatInt(support.staffID, 10) || subject != "webhook:"+strconv.FormatInt(failed.ID, 10) {
			t.Fatalf("audit %q %q %v", actor, subject, err)
		}
		if n := env.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.process' AND args->>'event_id' = $1`, strconv.FormatInt(failed.ID, 10)); n != 2 {
			t.Fatalf("%d jobs for the event; want the first and the replay", n)
		}
		want(t, support.get(path+"?replayed=1"), 200, "Queued again")
		if ev, err := env.Process(t, shopify.Name, "w-refund"); err != nil || ev.Status() != "processed" {
			t.Fatalf("the replayed refund: %v %s", err, ev.Status())
		}
	})
	t.Run("without a session the page asks for sign-in", func(t *testing.T) {
		anon := &browser{t: t, app: env.App, cookies: map[string]string{}}
		if p := anon.get("/admin/webhooks"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/signin") {
			t.Fatalf("status %d Location %q", p.status, p.header.Get("Location"))
		}
	})
}

func TestIntegrationSettingsAreForAdmins(t *testing.T) {
	env := adminEnv(t)
	support, admin := signedIn(t, env, staff.RoleSupport), signedIn(t, env, staff.RoleAdmin)
	const page = "/admin/settings/integrations"
	want(t, support.get(page), http.StatusForbidden)
	want(t, support.post(page+"/woocommerce/secret", url.Values{"action": {"generate"}}), http.StatusForbidden)
	want(t, admin.get(page), 200, baseURL+"/webhooks/shopify", "Not set", "orders/create", "Abandoned checkout reminders")

	t.Run("a pasted secret is saved, shown masked and audited without itself", func(t *testing.T) {
		p := admin.post(page+"/shopify/secret", url.Values{"action": {"set"}, "secret": {" shpss_abcdef123456 "}})
		want(t, p, http.StatusSeeOther)
		p = admin.get(page + "?saved=shopify")
		want(t, p, 200, "Shopify secret saved", "••••••••3456")
		if strings.Contains(p.body, "shpss_abcdef123456") {
			t.Fatal("the page shows the whole secret")
		}
		if s, _ := integrations.LoadSecret(it.Ctx(t), env.DB, "shopify"); s != "shpss_abcdef123456" {
			t.Fatalf("stored %q", s)
		}
		var detail string
		env.DB.Get(&detail, `SELECT detail::text FROM audit_log WHERE action = 'integration.secret_set'`) //nolint:errcheck
		if detail == "" || strings.Contains(detail, "abcdef") {
			t.Fatalf("audit detail %q", detail)
		}
	})
	t.Run("a secret with a space is refused", func(t *testing.T) {
		want(t, admin.post(page+"/shopify/secret", url.Values{"action": {"set"}, "secret": {"two words"}}), http.StatusUnprocessableEntity,
			"Secret must not contain spaces", `aria-invalid="true"`)
	})
	t.Run("a secret Shopify issues is not generated here", func(t *testing.T) {
		want(t, admin.post(page+"/shopify/secret", url.Values{"action": {"generate"}}), http.StatusUnprocessableEntity, "Shopify issues its own")
	})
	t.Run("a generated secret is shown once", func(t *testing.T) {
		p := admin.post(page+"/woocommerce/secret", url.Values{"action": {"generate"}})
		want(t, p, 200, "shown once")
		shown := regexp.MustCompile(`<code class="detail secret">([A-Za-z0-9_-]{43})</code>`).FindStringSubmatch(p.body)
		if shown == nil {
			t.Fatalf("no secret on the page:\n%s", p.body)
		}
		if s, _ := integrations.LoadSecret(it.Ctx(t), env.DB, "woocommerce"); s != shown[1] {
			t.Fatal("the stored secret is not the one shown")
		}
		if p.header.Get("Cache-Control") != "no-store" {
			t.Error("the page with a secret may be cached")
		}
		if strings.Contains(admin.get(page).body, shown[1]) {
			t.Fatal("the secret is shown again")
		}
	})
	t.Run("the reminder settings are validated and saved", func(t *testing.T) {
		want(t, admin.post(page+"/checkouts", url.Values{"delay_hours": {"0"}}), http.StatusUnprocessableEntity, "Delay must be between 1 and 168 hours")
		want(t, admin.post(page+"/checkouts", url.Values{"delay_hours": {"soon"}}), http.StatusUnprocessableEntity, "Delay must be a whole number")
		want(t, admin.post(page+"/checkouts", url.Values{"enabled": {"on"}, "delay_hours": {"2"}}), http.StatusSeeOther)
		s, _ := integrations.LoadCheckoutSettings(it.Ctx(t), env.DB)
		if !s.Enabled || s.DelayHours != 2 {
			t.Fatalf("settings %+v", s)
		}
		want(t, admin.get(page+"?saved=checkouts"), 200, "reminders saved", `value="2"`)
	})
}
