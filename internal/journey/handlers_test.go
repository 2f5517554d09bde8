package journey_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

// site is the journey's pages on a test server, with one customer who
// consented and one message to them.
type site struct {
	t        *testing.T
	db       *sqlx.DB
	app      *fiber.App
	signer   *journey.Links
	customer int64
	message  int64
}

func newSite(t *testing.T) *site {
	t.Helper()
	d := pgtest.DB(t)
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(d.DB, jobs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, db: d, signer: journey.NewLinks(testKeys, base)}
	e := journey.NewEngine(d, q, mail.NewOutbox(q), journey.Options{})
	s.app = server.New(server.Options{DB: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: views, BaseURL: base})
	h := journey.NewHandlers(e, s.signer)
	h.Routes(s.app)
	staffSessions := staff.NewSessions(d, false)
	s.app.Get("/test-signin/:id", func(c *fiber.Ctx) error {
		id, _ := c.ParamsInt("id")
		return staffSessions.Start(c, d, int64(id))
	})
	admin := s.app.Group("/admin", staffSessions.Load, staff.NewShell().Load)
	h.AdminRoutes(admin)
	if err := d.Get(&s.customer, `INSERT INTO customers (email, name, marketing_consent) VALUES ('ada@example.com', 'Ada', true) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&s.message, `INSERT INTO messages (kind, dedupe_key, to_address, customer_id, marketing) VALUES ('review_request', 'rr:1', 'ada@example.com', $1, true) RETURNING id`, s.customer); err != nil {
		t.Fatal(err)
	}
	return s
}

// do sends a request as a client without cookies unless given.
func (s *site) do(method, target string, form url.Values, cookies ...*http.Cookie) *http.Response {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := s.app.Test(req, -1)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp
}

func read(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (s *site) marketing() (consent bool, unsubscribed bool) {
	s.t.Helper()
	var row struct {
		Consent bool `db:"marketing_consent"`
		Unsub   bool `db:"unsub"`
	}
	if err := s.db.Get(&row, `SELECT marketing_consent, unsubscribed_at IS NOT NULL AS unsub FROM customers WHERE id = $1`, s.customer); err != nil {
		s.t.Fatal(err)
	}
	return row.Consent, row.Unsub
}

func (s *site) events(kind string) int {
	s.t.Helper()
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM message_events WHERE message_id = $1 AND kind = $2`, s.message, kind); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func path(u string) string { return strings.TrimPrefix(u, base) }

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// formCSRF opens a page as a browser would and returns its CSRF cookie and token.
func (s *site) formCSRF(page string) (*http.Cookie, string, string) {
	s.t.Helper()
	resp := s.do("GET", page, nil)
	body := read(s.t, resp)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %d\n%s", page, resp.StatusCode, body)
	}
	m := csrfField.FindStringSubmatch(body)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "aftercare_csrf" {
			cookie = c
		}
	}
	if m == nil || cookie == nil {
		s.t.Fatalf("no CSRF token on %s", page)
	}
	return cookie, m[1], body
}

func TestOneClickUnsubscribeByPostWithoutCookies(t *testing.T) {
	s := newSite(t)
	oneClick := path(s.signer.OneClickURL(s.customer, s.message))
	resp := s.do("POST", oneClick, url.Values{"List-Unsubscribe": {"One-Click"}})
	if resp.StatusCode != 200 {
		t.Fatalf("one-click POST: %d %s", resp.StatusCode, read(t, resp))
	}
	if _, unsub := s.marketing(); !unsub {
		t.Fatal("the customer is still subscribed")
	}
	if n := s.events("unsubscribe"); n != 1 {
		t.Errorf("%d unsubscribe events on the message, want 1", n)
	}
	var actor string
	if err := s.db.Get(&actor, `SELECT actor FROM audit_log WHERE action = 'customer.unsubscribed'`); err != nil || actor != audit.Shopper(s.customer) {
		t.Errorf("audit actor = %q (%v)", actor, err)
	}
	if resp := s.do("POST", oneClick, url.Values{}); resp.StatusCode != 200 {
		t.Errorf("a second one-click answers %d", resp.StatusCode)
	}
}

func TestAScannersGetNeverUnsubscribes(t *testing.T) {
	s := newSite(t)
	resp := s.do("GET", path(s.signer.OneClickURL(s.customer, s.message)), nil)
	if resp.StatusCode != fiber.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/email/unsubscribe/") {
		t.Fatalf("GET of the one-click address: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	confirm := resp.Header.Get("Location")
	resp = s.do("GET", confirm, nil)
	if body := read(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "Unsubscribe from marketing email?") {
		t.Fatalf("confirm page: %d\n%s", resp.StatusCode, body)
	}
	if _, unsub := s.marketing(); unsub {
		t.Fatal("a GET unsubscribed the customer")
	}

	cookie, token, _ := s.formCSRF(confirm)
	resp = s.do("POST", confirm, url.Values{"_csrf": {token}}, cookie)
	if body := read(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "You are unsubscribed") {
		t.Fatalf("confirm POST: %d\n%s", resp.StatusCode, body)
	}
	if _, unsub := s.marketing(); !unsub || s.events("unsubscribe") != 1 {
		t.Fatal("the confirmed unsubscribe did not take")
	}
}

func TestThePreferencesPage(t *testing.T) {
	s := newSite(t)
	page := path(s.signer.PreferencesURL(s.customer))
	if _, err := s.db.Exec(`UPDATE customers SET marketing_consent = false WHERE id = $1`, s.customer); err != nil {
		t.Fatal(err)
	}
	cookie, token, body := s.formCSRF(page)
	if !strings.Contains(body, "a•••@example.com") || strings.Contains(body, "ada@example.com") {
		t.Errorf("the page should show the address masked:\n%s", body)
	}
	tests := []struct {
		name          string
		choice        string
		consent, uns  bool
		wantStatus    int
		wantOnRedirct string
	}{
		{"choosing everything is consent", "everything", true, false, fiber.StatusSeeOther, "You will get all our emails."},
		{"choosing order updates unsubscribes", "orders", true, true, fiber.StatusSeeOther, "You will only get updates about your orders."},
		{"choosing everything again lifts the unsubscribe", "everything", true, false, fiber.StatusSeeOther, "You will get all our emails."},
		{"an unknown choice changes nothing", "some", true, false, fiber.StatusUnprocessableEntity, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.do("POST", page, url.Values{"_csrf": {token}, "email": {tt.choice}}, cookie)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, read(t, resp))
			}
			if c, u := s.marketing(); c != tt.consent || u != tt.uns {
				t.Fatalf("consent %v unsubscribed %v, want %v %v", c, u, tt.consent, tt.uns)
			}
			if tt.wantOnRedirct != "" {
				resp := s.do("GET", resp.Header.Get("Location"), nil)
				if body := read(t, resp); !strings.Contains(body, tt.wantOnRedirct) {
					t.Errorf("after saving the page lacks %q", tt.wantOnRedirct)
				}
			}
		})
	}
	t.Run("a POST without the form's token is refused", func(t *testing.T) {
		resp := s.do("POST", page, url.Values{"email": {"orders"}})
		if resp.StatusCode != fiber.StatusForbidden {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if _, u := s.marketing(); u {
			t.Fatal("unsubscribed by a forged form")
		}
	})
	t.Run("a forged link opens nothing", func(t *testing.T) {
		for _, p := range []string{"/email/preferences/1.k1.AAAAAAAAAAAAAAAAAAAAAA", "/email/unsubscribe/" + url.PathEscape("2"+strings.TrimPrefix(strings.TrimPrefix(page, "/email/preferences/"), "1"))} {
			if resp := s.do("GET", p, nil); resp.StatusCode != 404 {
				t.Errorf("GET %s: %d", p, resp.StatusCode)
			}
		}
		if resp := s.do("POST", "/api/email/unsubscribe/1.k1.AAAAAAAAAAAAAAAAAAAAAA", url.Values{}); resp.StatusCode != 404 {
			t.Errorf("forged one-click: %d", resp.StatusCode)
		}
	})
}

func TestClicksRedirectOnlyWhereTheEmailPointed(t *testing.T) {
	s := newSite(t)
	target := "https://fernfield.example/kettle?ref=email&x=1"
	good := path(s.signer.ClickURL(s.message, target))
	q, _ := url.Parse(good)
	sig := q.Query().Get("s")
	tests := []struct {
		name     string
		path     string
		status   int
		location string
	}{
		{"a signed link redirects to its target", good, fiber.StatusFound, target},
		{"an unsigned link is refused", "/t/c/" + itoa(s.message) + "?u=" + url.QueryEscape("https://evil.example/"), 404, ""},
		{"another URL with the signature is refused", "/t/c/" + itoa(s.message) + "?u=" + url.QueryEscape("https://evil.example/") + "&s=" + url.QueryEscape(sig), 404, ""},
		{"the signature on another message is refused", "/t/c/" + itoa(s.message+1) + "?u=" + url.QueryEscape(target) + "&s=" + url.QueryEscape(sig), 404, ""},
		{"a protocol-relative target is refused", "/t/c/" + itoa(s.message) + "?u=" + url.QueryEscape("//evil.example") + "&s=" + url.QueryEscape(sig), 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.do("GET", tt.path, nil)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Fatalf("%d to %q, want %d to %q", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
			}
		})
	}
	if n := s.events("click"); n != 1 {
		t.Errorf("%d clicks recorded, want 1", n)
	}
	t.Run("a signed javascript: URL would not redirect either", func(t *testing.T) {
		bad := path(s.signer.ClickURL(s.message, "javascript:alert(1)"))
		if resp := s.do("GET", bad, nil); resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
			t.Fatalf("%d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestThePixelRecordsOpens(t *testing.T) {
	s := newSite(t)
	for _, tt := range []struct {
		path  string
		opens int
	}{
		{path(s.signer.PixelURL(s.message)), 1},
		{"/t/o/" + itoa(s.message) + "/k1.forged.gif", 1},
	} {
		resp := s.do("GET", tt.path, nil)
		body := read(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.HasPrefix(body, "GIF89a") {
			t.Fatalf("%s: %d %s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if n := s.events("open"); n != tt.opens {
			t.Errorf("after %s: %d opens, want %d", tt.path, n, tt.opens)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
