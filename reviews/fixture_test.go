package reviews_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/reviews"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const base = "http://shop.test"

// emitted keeps the events the service emits.
type emitted struct {
	mu  sync.Mutex
	evs []events.Event
}

func (e *emitted) Emit(_ context.Context, _ *sqlx.Tx, ev events.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
	return nil
}

// fixture is a store with a buyer (Ada) of a kettle and a mug, another
// customer (Bob), a support member, and the review pages on a test server.
type fixture struct {
	t        *testing.T
	db       *sqlx.DB
	svc      *reviews.Service
	events   *emitted
	now      time.Time
	links    *auth.Links
	app      *fiber.App
	ada, bob int64
	order    int64
	kettle   int64 // order item ids
	mug      int64
	sue      int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d := pgtest.DB(t)
	f := &fixture{t: t, db: d, events: &emitted{}, now: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	f.svc = reviews.NewService(d, f.events, func() time.Time { return f.now })
	get := func(dst *int64, q string, args ...any) {
		t.Helper()
		if err := d.Get(dst, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	get(&f.ada, `INSERT INTO customers (email, name) VALUES ('ada@example.com', 'Ada King Lovelace') RETURNING id`)
	get(&f.bob, `INSERT INTO customers (email, name) VALUES ('bob@example.com', 'Bob') RETURNING id`)
	var kettle int64
	get(&kettle, `INSERT INTO products (sku, title, image_url) VALUES ('KETTLE-1', 'Gooseneck kettle', 'https://shop.test/k.png') RETURNING id`)
	get(&f.order, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
		VALUES ('api', 'r-1', '#3001', $1, now(), 'USD', 100, 100, '\x00') RETURNING id`, f.ada)
	get(&f.kettle, `INSERT INTO order_items (order_id, line_no, sku, product_id, title, quantity, unit_price_minor)
		VALUES ($1, 1, 'KETTLE-1', $2, 'Gooseneck kettle', 1, 50) RETURNING id`, f.order, kettle)
	get(&f.mug, `INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor)
		VALUES ($1, 2, 'MUG-1', 'Stoneware mug', 1, 50) RETURNING id`, f.order)
	acc, err := staff.NewAccounts(d).Create(context.Background(), staff.NewAccount{Email: "sue@example.com", Name: "Sue", Role: staff.RoleSupport}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	f.sue = acc.ID

	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.links = auth.NewLinks(d, []config.SigningKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}, base)
	sessions, staffSessions := auth.NewSessions(d, false), staff.NewSessions(d, false)
	h := reviews.NewHandlers(f.svc, d, f.links, sessions)
	f.app = server.New(server.Options{DB: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: views, BaseURL: base})
	reviews.NewAPI(f.svc, d, views).Routes(f.app)
	f.app.Get("/test/staff/:id", func(c *fiber.Ctx) error {
		id, _ := c.ParamsInt("id")
		return staffSessions.Start(c, d, int64(id))
	})
	h.AdminRoutes(f.app.Group("/admin", staffSessions.Load, staff.NewShell().Load))
	f.app.Use(sessions.Load)
	f.app.Get("/test/shopper/:id", func(c *fiber.Ctx) error {
		id, _ := c.ParamsInt("id")
		return sessions.Start(c, d, int64(id))
	})
	h.Routes(f.app)
	return f
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) settings(json string) {
	f.t.Helper()
	f.exec(`INSERT INTO store_settings (section, value) VALUES ('reviews', $1)
		ON CONFLICT (section) DO UPDATE SET value = EXCLUDED.value`, json)
}

// browser is a cookie jar over the test server.
type browser struct {
	f       *fixture
	cookies map[string]*http.Cookie
}

func (f *fixture) browser() *browser { return &browser{f: f, cookies: map[string]*http.Cookie{}} }

func (b *browser) signIn(kind string, id int64) *browser {
	b.do("GET", "/test/"+kind+"/"+strconv.FormatInt(id, 10), nil, nil)
	return b
}

func (b *browser) do(method, target string, form url.Values, header http.Header) (*http.Response, string) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.f.app.Test(req, -1)
	if err != nil {
		b.f.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		b.cookies[c.Name] = c
	}
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// submit opens page for its form and posts fields to it.
func (b *browser) submit(page string, fields url.Values) (*http.Response, string) {
	b.f.t.Helper()
	resp, body := b.do("GET", page, nil, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.f.t.Fatalf("no form on %s (%d):\n%s", page, resp.StatusCode, body)
	}
	action := regexp.MustCompile(`<form method="post" action="(/reviews/[^"]+)"`).FindStringSubmatch(body)
	target := page
	if action != nil {
		target = strings.ReplaceAll(action[1], "&amp;", "&")
	}
	fields.Set("_csrf", m[1])
	return b.do("POST", target, fields, nil)
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, q, args...); err != nil {
		f.t.Fatal(err)
	}
	return n
}
