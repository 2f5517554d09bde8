package staff

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testBaseURL = "http://shop.example"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// cheapParams keep handler tests fast; the store tests use the real costs.
var cheapParams = hashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// fixture is a migrated database with the staff package wired into a server
// the way cmd wires it, plus stand-in feature pages under /admin.
type fixture struct {
	db       *sqlx.DB
	accounts *Accounts
	links    *Links
	sessions *Sessions
	app      *fiber.App
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d := pgtest.DB(t)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	queue, err := jobs.New(d.DB, jobs.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	f := &fixture{db: d, accounts: NewAccounts(d), links: NewLinks(d, testBaseURL), sessions: NewSessions(d, true)}
	f.accounts.params = cheapParams
	shell := NewShell()
	f.app = server.New(server.Options{DB: d, Logger: quiet, Views: engine, SecureCookies: true})
	admin := f.app.Group("/admin", f.sessions.Load, shell.Load)
	NewHandlers(Options{DB: d, Accounts: f.accounts, Links: f.links, Sessions: f.sessions, Shell: shell,
		Limiter: auth.NewRateLimiter(d), Outbox: mail.NewOutbox(queue), Logger: quiet}).Routes(admin)
	// Stand-ins for feature pages, registered the way features will.
	admin.Get("/returns", Require(RoleSupport), func(c *fiber.Ctx) error { return c.SendString("returns queue") })
	admin.Post("/returns/:id/approve", Require(RoleSupport), func(c *fiber.Ctx) error { return c.SendString("approved") })
	admin.Get("/settings", Require(RoleAdmin), func(c *fiber.Ctx) error { return c.SendString("settings") })
	shell.AddNav("Audit log", "/admin/audit", RoleSupport)
	shell.AddNav("Staff", "/admin/staff", RoleAdmin)
	shell.AddNav("Settings", "/admin/settings", RoleAdmin)
	shell.AddNav("Returns", "/admin/returns", RoleSupport)
	return f
}

// member creates an account with a password (empty: link only).
func (f *fixture) member(t *testing.T, email string, role Role, password string) Account {
	t.Helper()
	acc, err := f.accounts.Create(context.Background(), NewAccount{Email: email, Name: "Test " + string(role), Role: role, Password: password}, "system")
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return acc
}

// token issues a sign-in link for id and returns its token.
func (f *fixture) token(t *testing.T, id int64, ttl time.Duration) string {
	t.Helper()
	link, err := f.links.Issue(context.Background(), f.db, id, ttl)
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(link.URL, testBaseURL+"/admin/m/")
	if !ok {
		t.Fatalf("link %q", link.URL)
	}
	return token
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, query, args...); err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

// browser keeps cookies between requests like a real one (honouring their
// paths), and fills in the CSRF field of every POST from the CSRF cookie.
type browser struct {
	t       *testing.T
	app     *fiber.App
	cookies map[string]*http.Cookie
}

func (f *fixture) browser(t *testing.T) *browser {
	return &browser{t: t, app: f.app, cookies: map[string]*http.Cookie{}}
}

type page struct {
	status int
	header http.Header
	body   string
	set    map[string]*http.Cookie
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
	for _, c := range b.cookies {
		if c.Path == "" || path == c.Path || strings.HasPrefix(path, strings.TrimSuffix(c.Path, "/")+"/") || strings.HasPrefix(path, c.Path+"?") {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	resp, err := b.app.Test(req, -1)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw), set: map[string]*http.Cookie{}}
	for _, c := range resp.Cookies() {
		p.set[c.Name] = c
		if c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return p
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if b.cookies["aftercare_csrf"] == nil {
		b.get("/admin/signin")
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.cookies["aftercare_csrf"].Value)
	return b.do(http.MethodPost, path, form)
}

// signIn signs b in with a password and fails the test otherwise.
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	p := b.post("/admin/signin", url.Values{"email": {email}, "password": {password}})
	wantStatus(b.t, p, http.StatusSeeOther)
	if b.cookies[SessionCookie] == nil {
		b.t.Fatal("no staff session cookie after sign-in")
	}
}

func wantStatus(t *testing.T, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status = %d, want %d; body:\n%s", p.status, status, p.body)
	}
}

func wantText(t *testing.T, p page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q; body:\n%s", s, p.body)
		}
	}
}

func wantNoText(t *testing.T, p page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.body, s) {
			t.Fatalf("page has %q; body:\n%s", s, p.body)
		}
	}
}

func wantLocation(t *testing.T, p page, want string) {
	t.Helper()
	if loc := p.header.Get("Location"); loc != want {
		t.Fatalf("Location = %q, want %q", loc, want)
	}
}

// random strips what differs per visitor and per request (CSRF token, CSP nonce).
var random = regexp.MustCompile(`name="_csrf" value="[^"]*"|nonce="[^"]*"`)
