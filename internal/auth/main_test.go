package auth

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testBaseURL = "http://shop.example"

// The first key signs; the second is an older key that still verifies.
var testKeys = []config.SigningKey{
	{ID: "2025-02", Secret: bytes.Repeat([]byte{0x42}, 32)},
	{ID: "2024-11", Secret: bytes.Repeat([]byte{0x17}, 32)},
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a migrated database with the auth package wired into a server
// the way cmd wires it, plus stand-in order pages behind RequireCustomer.
type fixture struct {
	db       *sqlx.DB
	links    *Links
	sessions *Sessions
	limiter  *RateLimiter
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
	f := &fixture{db: d, links: NewLinks(d, testKeys, testBaseURL), sessions: NewSessions(d, true), limiter: NewRateLimiter(d)}
	f.app = server.New(server.Options{DB: d, Logger: quiet, Views: engine})
	f.app.Use(f.sessions.Load)
	NewHandlers(d, f.links, f.sessions, f.limiter, mail.NewOutbox(queue), quiet).Routes(f.app)
	f.app.Get("/orders", RequireCustomer, func(c *fiber.Ctx) error {
		return c.SendString(fmt.Sprintf("orders of customer %d", CustomerID(c)))
	})
	f.app.Get("/orders/:id", RequireCustomer, func(c *fiber.Ctx) error {
		return c.SendString(fmt.Sprintf("order %s of customer %d", c.Params("id"), CustomerID(c)))
	})
	f.app.Post("/orders/:id/notes", RequireCustomer, func(c *fiber.Ctx) error { return c.SendString("noted") })
	return f
}

func (f *fixture) customer(t *testing.T, email string) int64 {
	t.Helper()
	var id int64
	if err := f.db.Get(&id, `INSERT INTO customers (email, name) VALUES ($1, 'Test Shopper') RETURNING id`, email); err != nil {
		t.Fatalf("insert customer: %v", err)
	}
	return id
}

// issue returns a fresh token (without the base URL) and its code.
func (f *fixture) issue(t *testing.T, customerID int64, purpose string, ttl time.Duration) (string, string) {
	t.Helper()
	link, err := f.links.Issue(context.Background(), f.db, customerID, purpose, ttl)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	token, ok := strings.CutPrefix(link.URL, testBaseURL+"/m/")
	if !ok {
		t.Fatalf("link %q does not start with the base URL", link.URL)
	}
	return token, link.Code
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, query, args...); err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

// browser keeps cookies between requests like a real one, and fills in the
// CSRF field of every POST from the CSRF cookie (fetching a page first).
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
	set    map[string]*http.Cookie // cookies set by this response
}

func (b *browser) do(method, path string, form url.Values, header http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
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

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if b.cookies["aftercare_csrf"] == nil {
		b.get("/signin")
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.cookies["aftercare_csrf"].Value)
	return b.do(http.MethodPost, path, form, nil)
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
