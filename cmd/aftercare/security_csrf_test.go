package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// csrfFree lists the unsafe routes outside /api/ and /webhooks/ that are
// meant to work without a CSRF token, each with its reason. It is empty: the
// RFC 8058 one-click unsubscribe, which mail clients POST without cookies,
// lives under /api/email/ for that reason and is checked below.
var csrfFree = map[string]string{}

// unsafeRoutes lists every POST, PUT, PATCH and DELETE route of the app,
// so a route added later is covered without editing this test.
func unsafeRoutes(app *fiber.App) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		switch r.Method {
		case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		default:
			continue
		}
		if k := r.Method + " " + r.Path; !seen[k] {
			seen[k] = true
			out = append(out, [2]string{r.Method, r.Path})
		}
	}
	return out
}

var routeParam = regexp.MustCompile(`:([a-zA-Z]+)(<[a-z]+>)?`)

// fill puts the id of a real object of Bob's (or of the shop) in each
// parameter of a route, so that without the check the request would act.
func (w *secWorld) fill(path string) string {
	return routeParam.ReplaceAllStringFunc(path, func(p string) string {
		name := routeParam.FindStringSubmatch(p)[1]
		switch {
		case name == "id" && strings.HasPrefix(path, "/admin/returns/"):
			return fmt.Sprint(w.bobReturn)
		case name == "id" && strings.HasPrefix(path, "/admin/reviews/"):
			return fmt.Sprint(w.bobReview)
		case name == "id" && strings.HasPrefix(path, "/admin/customers/"):
			return fmt.Sprint(w.bobID)
		case name == "id" && strings.HasPrefix(path, "/admin/staff/"):
			return fmt.Sprint(w.staffID)
		case name == "id":
			return fmt.Sprint(w.bobOrder)
		case name == "rma":
			return w.bobRMA
		case name == "item":
			return fmt.Sprint(w.bobItem)
		case name == "sku":
			return "MUG-1"
		case name == "provider":
			return "shopify"
		case name == "action":
			return "approve"
		}
		return "1"
	})
}

// formFor is a plausible body for any form, so a refused request is refused
// for its token alone.
func formFor(token string) url.Values {
	v := url.Values{"email": {"bob@example.com"}, "password": {"a long staff password"}, "rating": {"5"}, "title": {"t"},
		"body": {"b"}, "reply": {"r"}, "reason": {"r"}, "note": {"n"}, "name": {"N"}, "role": {"support"}}
	if token != "" {
		v.Set("_csrf", token)
	}
	return v
}

func TestSecurityCSRFOnEveryUnsafeRoute(t *testing.T) {
	w := newSecWorld(t)
	routes := unsafeRoutes(w.l.HTTP)
	checked := 0
	forged := strings.Repeat("A", 43) // the cookie's shape, not its value
	for _, r := range routes {
		method, path := r[0], r[1]
		if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/webhooks/") {
			continue // keys and signatures: TestSecurityAPIAndWebhooksRefuseUnsigned
		}
		if reason, ok := csrfFree[path]; ok {
			t.Logf("%s %s: no token by design (%s)", method, path, reason)
			continue
		}
		v := w.bob
		if strings.HasPrefix(path, "/admin") {
			v = w.admin
		}
		target := w.fill(path)
		before := w.l.fingerprint(t)
		attempts := map[string]secPage{
			"no token":      v.postRaw(target, formFor("")),
			"forged field":  v.do(method, target, "application/x-www-form-urlencoded", strings.NewReader(formFor(forged).Encode()), nil),
			"forged header": v.do(method, target, "application/x-www-form-urlencoded", strings.NewReader(formFor("").Encode()), map[string]string{"X-CSRF-Token": forged}),
			"right token, other origin": v.do(method, target, "application/x-www-form-urlencoded", strings.NewReader(formFor(v.csrf()).Encode()),
				map[string]string{"Origin": "https://evil.example"}),
		}
		for what, p := range attempts {
			if p.status != http.StatusForbidden {
				t.Errorf("%s %s (%s) with %s: status %d, want 403", method, path, target, what, p.status)
			}
		}
		if after := w.l.fingerprint(t); after != before {
			t.Errorf("%s %s: refused requests changed the database", method, path)
		}
		checked++
	}
	if checked < 30 {
		t.Fatalf("only %d unsafe routes checked: is the route list right?", checked)
	}
	for path := range csrfFree {
		if !hasRoute(routes, path) {
			t.Errorf("csrfFree names %s, which is no longer a route", path)
		}
	}
	// The same requests with the right token get past the check: the 403s
	// above come from the token, not from the test's requests.
	if p := w.bob.post(fmt.Sprintf("/reviews/items/%d", w.bobItem), url.Values{"rating": {"5"}, "title": {"Edited"}, "body": {"Edited body text"}}); p.status == http.StatusForbidden {
		t.Fatalf("the review form with its token: %d", p.status)
	}
	if p := w.bob.post("/signout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("sign out with the token: %d", p.status)
	}
}

func hasRoute(routes [][2]string, path string) bool {
	for _, r := range routes {
		if r[1] == path {
			return true
		}
	}
	return false
}

// webhookProviders are the integrations that post to /webhooks/:provider.
var webhookProviders = []string{"shopify", "woocommerce", "stripe", "easypost", "aftership"}

func TestSecurityAPIAndWebhooksRefuseUnsigned(t *testing.T) {
	l := startLive(t)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	l.placeDemoOrder(t, "jane@example.com", "#9301")
	a := l.agent(t)
	before := l.fingerprint(t)
	checked := 0
	for _, r := range unsafeRoutes(l.HTTP) {
		method, path := r[0], r[1]
		switch {
		case strings.HasPrefix(path, "/api/v1/"):
			target := strings.NewReplacer(":id", "1", ":sku", "KETTLE-1").Replace(path)
			for what, h := range map[string]map[string]string{
				"no key":             nil,
				"wrong key":          {"Authorization": "Bearer " + strings.Repeat("x", len(l.key))},
				"key in cookie only": {"Cookie": "aftercare_api_key=" + l.key},
			} {
				if p := a.do(method, target, "application/json", strings.NewReader(`{}`), h); p.status != http.StatusUnauthorized {
					t.Errorf("%s %s with %s: %d, want 401", method, target, what, p.status)
				}
			}
			checked++
		case strings.HasPrefix(path, "/webhooks/"):
			for _, provider := range webhookProviders {
				target := "/webhooks/" + provider
				for what, h := range map[string]map[string]string{
					"no signature": nil,
					"bad signature": {"X-Shopify-Hmac-Sha256": "AAAA", "X-WC-Webhook-Signature": "AAAA", "Stripe-Signature": "t=1,v1=00",
						"X-Hmac-Signature": "AAAA", "Aftership-Hmac-Sha256": "AAAA", "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w1"},
				} {
					if p := a.do(method, target, "application/json", strings.NewReader(`{"id":1}`), h); p.status != http.StatusUnauthorized {
						t.Errorf("%s %s with %s: %d, want 401", method, target, what, p.status)
					}
				}
			}
			checked++
		case strings.HasPrefix(path, "/api/email/unsubscribe/"):
			// RFC 8058 one-click: no cookie, no CSRF; the signed token in the
			// path is the authority. A forged one changes nothing.
			if p := a.do(method, "/api/email/unsubscribe/forged-token", "application/x-www-form-urlencoded",
				strings.NewReader("List-Unsubscribe=One-Click"), nil); p.status < 400 || p.status >= 500 {
				t.Errorf("one-click unsubscribe with a forged token: %d, want 4xx", p.status)
			}
			checked++
		case strings.HasPrefix(path, "/api/"):
			t.Errorf("%s %s: an unsafe /api/ route this test does not know; add how it is authenticated", method, path)
		}
	}
	if checked < 8 {
		t.Fatalf("only %d API and webhook routes checked", checked)
	}
	if l.fingerprint(t) != before {
		t.Fatal("unsigned requests changed the database")
	}
}
