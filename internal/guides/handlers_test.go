package guides_test

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
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/guides"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type site struct {
	t      *testing.T
	db     *sqlx.DB
	app    *fiber.App
	h      *guides.Handlers
	buyer  int64
	other  int64
	order  int64
	editor int64
}

func newSite(t *testing.T) *site {
	t.Helper()
	d := pgtest.DB(t)
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, db: d}
	s.h = guides.NewHandlers(guides.NewService(d, nil), views)
	s.app = server.New(server.Options{DB: d, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: views, BaseURL: "http://example.com"})
	sessions, staffSessions := auth.NewSessions(d, false), staff.NewSessions(d, false)
	s.app.Get("/test/shopper/:id", func(c *fiber.Ctx) error {
		id, _ := c.ParamsInt("id")
		return sessions.Start(c, d, int64(id))
	})
	s.app.Get("/test/staff/:id", func(c *fiber.Ctx) error {
		id, _ := c.ParamsInt("id")
		return staffSessions.Start(c, d, int64(id))
	})
	s.app.Put("/api/v1/products/:sku/pairings", func(c *fiber.Ctx) error { return c.Next() })
	s.h.APIRoutes(s.app.Group("/api/v1"))
	s.h.AdminRoutes(s.app.Group("/admin", staffSessions.Load, staff.NewShell().Load))
	s.app.Use(sessions.Load)
	s.h.Routes(s.app)

	get := func(dst *int64, q string, args ...any) {
		t.Helper()
		if err := d.Get(dst, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	get(&s.buyer, `INSERT INTO customers (email, name) VALUES ('ada@example.com', 'Ada') RETURNING id`)
	get(&s.other, `INSERT INTO customers (email, name) VALUES ('bob@example.com', 'Bob') RETURNING id`)
	var kettle, mug int64
	get(&kettle, `INSERT INTO products (sku, title, guide_md, guide_video_url) VALUES ('KETTLE-1', 'Gooseneck kettle', '# Brewing

Fill to the line. <script>alert(1)</script>', 'https://video.example/kettle') RETURNING id`)
	get(&mug, `INSERT INTO products (sku, title) VALUES ('MUG-1', 'Stoneware mug') RETURNING id`)
	get(&s.order, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
		VALUES ('api', 'g-1', '#2001', $1, now(), 'USD', 100, 100, '\x00') RETURNING id`, s.buyer)
	if _, err := d.Exec(`INSERT INTO order_items (order_id, line_no, sku, product_id, title, quantity, unit_price_minor)
		VALUES ($1, 1, 'MUG-1', $3, 'Stoneware mug', 1, 50), ($1, 2, 'KETTLE-1', $2, 'Gooseneck kettle', 1, 50)`, s.order, kettle, mug); err != nil {
		t.Fatal(err)
	}
	acc, err := staff.NewAccounts(d).Create(context.Background(), staff.NewAccount{Email: "sue@example.com", Name: "Sue", Role: staff.RoleSupport}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	s.editor = acc.ID
	return s
}

// browser is a cookie jar over the test app.
type browser struct {
	s       *site
	cookies map[string]*http.Cookie
}

func (s *site) as(kind string, id int64) *browser {
	b := &browser{s: s, cookies: map[string]*http.Cookie{}}
	if kind != "" {
		b.do("GET", "/test/"+kind+"/"+strconv.FormatInt(id, 10), nil, "")
	}
	return b
}

func (b *browser) do(method, target string, body io.Reader, contentType string) (*http.Response, string) {
	b.s.t.Helper()
	req := httptest.NewRequest(method, target, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.s.app.Test(req, -1)
	if err != nil {
		b.s.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		b.cookies[c.Name] = c
	}
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) post(target string, form url.Values, from string) (*http.Response, string) {
	b.s.t.Helper()
	_, page := b.do("GET", from, nil, "")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.s.t.Fatalf("no form on %s:\n%s", from, page)
	}
	form.Set("_csrf", m[1])
	return b.do("POST", target, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

func TestABuyerReadsTheGuide(t *testing.T) {
	s := newSite(t)
	ada := s.as("shopper", s.buyer)
	resp, body := ada.do("GET", "/guides/KETTLE-1", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `<h1 id="brewing">Brewing</h1>`) || !strings.Contains(body, "https://video.example/kettle") {
		t.Fatalf("%d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "<script>alert") {
		t.Fatal("the guide's script reached the page")
	}
	var views int
	if err := s.db.Get(&views, `SELECT count(*) FROM guide_views WHERE customer_id = $1`, s.buyer); err != nil || views != 1 {
		t.Errorf("%d views recorded (%v)", views, err)
	}
	tests := []struct {
		name   string
		who    *browser
		path   string
		status int
	}{
		{"someone who did not buy it gets nothing", s.as("shopper", s.other), "/guides/KETTLE-1", 404},
		{"a product without a guide has no page", ada, "/guides/MUG-1", 404},
		{"an unknown product has no page", ada, "/guides/NOPE", 404},
		{"a stranger is sent to sign in", s.as("", 0), "/guides/KETTLE-1", 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, _ := tt.who.do("GET", tt.path, nil, ""); resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	t.Run("the order page lists the guides of what was bought", func(t *testing.T) {
		html, err := s.h.OrderPanel(context.Background(), s.buyer, s.order)
		if err != nil || !strings.Contains(string(html), `href="/guides/KETTLE-1"`) || strings.Contains(string(html), "MUG-1") {
			t.Fatalf("%v\n%s", err, html)
		}
		if html, _ := s.h.OrderPanel(context.Background(), s.other, s.order); html != "" {
			t.Fatalf("another customer's panel: %s", html)
		}
	})
}

func TestStaffEditGuidesWithAPreview(t *testing.T) {
	s := newSite(t)
	sue := s.as("staff", s.editor)
	if resp, body := sue.do("GET", "/admin/guides?q=mug", nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "Stoneware mug") || strings.Contains(body, "Gooseneck") {
		t.Fatalf("list: %d\n%s", resp.StatusCode, body)
	}
	md := "## Care\n\nHand wash. <img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |"
	resp, body := sue.post("/admin/guides/MUG-1", url.Values{"guide_md": {md}, "action": {"preview"}, "pairings": {"KETTLE-1"}}, "/admin/guides/MUG-1")
	if resp.StatusCode != 200 || !strings.Contains(body, `<h2 id="care">Care</h2>`) || !strings.Contains(body, "<td>2</td>") || strings.Contains(body, "<img src=x onerror") {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, body)
	}
	var saved string
	s.db.Get(&saved, `SELECT guide_md FROM products WHERE sku = 'MUG-1'`) //nolint:errcheck // checked below
	if saved != "" {
		t.Fatal("a preview saved the guide")
	}
	resp, body = sue.post("/admin/guides/MUG-1", url.Values{"guide_md": {md}, "guide_video_url": {"ftp://x"}, "action": {"save"}}, "/admin/guides/MUG-1")
	if resp.StatusCode != 422 || !strings.Contains(body, "must be an http or https address") {
		t.Fatalf("bad video: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = sue.post("/admin/guides/MUG-1", url.Values{"guide_md": {md}, "pairings": {"KETTLE-1, FILTER-1 KETTLE-1"}, "action": {"save"}}, "/admin/guides/MUG-1")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/guides?saved=MUG-1" {
		t.Fatalf("save: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var pairs []string
	if err := s.db.Select(&pairs, `SELECT with_sku FROM product_pairings pp JOIN products p ON p.id = pp.product_id WHERE p.sku = 'MUG-1' ORDER BY position`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(pairs, ",") != "KETTLE-1,FILTER-1" {
		t.Errorf("pairings = %v", pairs)
	}
	var action string
	if err := s.db.Get(&action, `SELECT action FROM audit_log WHERE subject = 'product:MUG-1'`); err != nil || action != "guide.saved" {
		t.Errorf("audit = %q (%v)", action, err)
	}
	if resp, _ := s.as("shopper", s.buyer).do("GET", "/admin/guides", nil, ""); resp.StatusCode != 303 {
		t.Errorf("a shopper opened the guide editor: %d", resp.StatusCode)
	}
}

func TestPairingsThroughTheAPI(t *testing.T) {
	s := newSite(t)
	b := s.as("", 0)
	resp, body := b.do("PUT", "/api/v1/products/KETTLE-1/pairings", strings.NewReader(`{"skus":["FILTER-1","MUG-1"]}`), "application/json")
	if resp.StatusCode != 200 || !strings.Contains(body, `"skus":["FILTER-1","MUG-1"]`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"skus":["KETTLE-1"]}`, "must not name the product itself"},
		{`{"skus":"nope"}`, "must be a JSON list"},
	} {
		resp, body := b.do("PUT", "/api/v1/products/KETTLE-1/pairings", strings.NewReader(tt.body), "application/json")
		if resp.StatusCode != 422 || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s", tt.body, resp.StatusCode, body)
		}
	}
	if resp, _ := b.do("PUT", "/api/v1/products/NOPE/pairings", strings.NewReader(`{"skus":[]}`), "application/json"); resp.StatusCode != 404 {
		t.Errorf("unknown product: %d", resp.StatusCode)
	}
}
