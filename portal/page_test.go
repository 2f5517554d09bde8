package portal

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/pagecache"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// clockApp is testApp on a clock the test moves, with extra options.
func clockApp(t *testing.T, f *fixture, now *time.Time, opts ...Option) *fiber.App {
	t.Helper()
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatalf("templates: %v", err)
	}
	app := server.New(server.Options{DB: f.db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: engine})
	app.Use(func(c *fiber.Ctx) error {
		if id, err := strconv.ParseInt(c.Get("X-Test-Customer"), 10, 64); err == nil {
			c.Locals("customerID", id)
		}
		return c.Next()
	})
	NewHandlers(f.db, append(opts, WithClock(func() time.Time { return *now }))...).Routes(app)
	return app
}

// rawGet returns the status, the body as sent and the headers.
func rawGet(t *testing.T, app *fiber.App, path string, customer int64, csrfCookie string) (int, string, map[string][]string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Test-Customer", strconv.FormatInt(customer, 10))
	if csrfCookie != "" {
		req.Header.Set("Cookie", "aftercare_csrf="+csrfCookie)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// TestTheKeptOrderPageChangesAtTheStoresMidnight: the rendered page is kept
// while nothing changes, but it speaks of "tomorrow", so it must not be
// served once the store's day has turned.
func TestTheKeptOrderPageChangesAtTheStoresMidnight(t *testing.T) {
	f := newFixture(t)
	f.timeZone("America/New_York")
	ann := f.customer("ann@example.com")
	id, _ := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T15:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	f.shipment(id, shipmentSpec{carrier: "ups", number: "1Z1", status: "in_transit", eta: "2026-03-04"})
	// One second before midnight in New York (UTC-5 in March before DST).
	now := utc("2026-03-04T04:59:59Z")
	app := clockApp(t, f, &now)
	path := fmt.Sprintf("/orders/%d", id)

	if _, page, _ := get(t, app, path, ann); !strings.Contains(page, "Arriving tomorrow") {
		t.Fatalf("before midnight:\n%s", page)
	}
	hits := pagecache.Hits.Load()
	if _, page, _ := get(t, app, path, ann); !strings.Contains(page, "Arriving tomorrow") {
		t.Fatalf("second view:\n%s", page)
	}
	if pagecache.Hits.Load() == hits {
		t.Fatal("the second view was not served from the page caches")
	}
	now = utc("2026-03-04T05:00:00Z") // midnight in New York
	if _, page, _ := get(t, app, path, ann); !strings.Contains(page, "Arriving today") || strings.Contains(page, "Arriving tomorrow") {
		t.Fatalf("after the store's midnight the kept page was served:\n%s", page)
	}
}

var nonceAttr = regexp.MustCompile(`nonce="([^"]*)"`)

// TestTheKeptOrderPageCarriesEachRequestsOwnTokens: the CSRF token and the
// CSP nonce belong to one browser and one response; a page served from
// memory must carry this request's, never the ones it was rendered with.
func TestTheKeptOrderPageCarriesEachRequestsOwnTokens(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	id, _ := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T15:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	now := utc("2026-03-03T10:00:00Z")
	app := clockApp(t, f, &now)
	path := fmt.Sprintf("/orders/%d", id)
	tokenA, tokenB := strings.Repeat("A", 42)+"a", strings.Repeat("B", 42)+"b"

	normalize := func(page string, header map[string][]string) string {
		m := nonceAttr.FindStringSubmatch(page)
		csp := strings.Join(header["Content-Security-Policy"], "")
		if m == nil {
			t.Fatalf("no nonce in the page:\n%s", page)
		}
		nonce := strings.ReplaceAll(m[1], "&#43;", "+")
		if !strings.Contains(csp, "'nonce-"+nonce+"'") {
			t.Fatalf("page nonce %q is not the response's (%s)", nonce, csp)
		}
		return strings.ReplaceAll(page, m[1], "NONCE")
	}
	_, first, h1 := rawGet(t, app, path, ann, tokenA)
	_, again, h2 := rawGet(t, app, path, ann, tokenA)
	if normalize(first, h1) != normalize(again, h2) {
		t.Fatalf("the kept page differs from the rendering:\n%s\n----\n%s", first, again)
	}
	if !strings.Contains(first, `value="`+tokenA+`"`) {
		t.Fatalf("the sign-out form lacks the browser's token:\n%s", first)
	}
	_, other, h3 := rawGet(t, app, path, ann, tokenB)
	normalize(other, h3)
	if !strings.Contains(other, `value="`+tokenB+`"`) || strings.Contains(other, tokenA) {
		t.Fatalf("another browser got a token not its own:\n%s", other)
	}
	if strings.Contains(other, pageMarker) {
		t.Fatalf("a placeholder was left in the page:\n%s", other)
	}
}

// TestOnlySectionsThatSaySoAreKept: a section that does not declare itself
// keepable (pagecache.Stable) is rendered for every view, inside the kept
// page; a keepable one is rendered once per key.
func TestOnlySectionsThatSaySoAreKept(t *testing.T) {
	f := newFixture(t)
	ann := f.customer("ann@example.com")
	id, _ := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T15:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	now := utc("2026-03-03T10:00:00Z")
	var kept, live atomic.Int64
	keptPanel := PanelFunc(func(ctx context.Context, pc PanelContext) (template.HTML, error) {
		pagecache.Stable(ctx)
		return template.HTML(fmt.Sprintf(`<p>kept %d, csrf %s</p>`, kept.Add(1), template.HTMLEscapeString(pc.CSRF))), nil //nolint:gosec // test
	})
	livePanel := PanelFunc(func(context.Context, PanelContext) (template.HTML, error) {
		return template.HTML(fmt.Sprintf(`<p>live %d</p>`, live.Add(1))), nil //nolint:gosec // test
	})
	app := clockApp(t, f, &now, WithPanel(keptPanel), WithPanel(livePanel))
	path := fmt.Sprintf("/orders/%d", id)
	token := strings.Repeat("C", 43)
	_, p1, _ := rawGet(t, app, path, ann, token)
	_, p2, _ := rawGet(t, app, path, ann, token)
	if !strings.Contains(p1, "kept 1, csrf "+token) || !strings.Contains(p2, "kept 1, csrf "+token) {
		t.Fatalf("the keepable section was rendered again or lost its token:\n%s\n----\n%s", p1, p2)
	}
	if n := live.Load(); n < 2 || !strings.Contains(p2, fmt.Sprintf("<p>live %d</p>", n)) {
		t.Fatalf("the second view does not show the live section's latest rendering (%d):\n%s", n, p2)
	}
	if i, j := strings.Index(p2, "kept 1"), strings.Index(p2, "live "); i < 0 || j < i {
		t.Fatalf("sections out of order:\n%s", p2)
	}
}

// TestFillingAHoleWritesWhatTheTemplateWould: the values put in at write
// time are escaped as html/template escapes them in text and attributes.
func TestFillingAHoleWritesWhatTheTemplateWould(t *testing.T) {
	tpl := template.Must(template.New("x").Parse(`<p title="{{.}}">{{.}}</p>`))
	for _, v := range []string{"abc+/=", "a-b_c", "x&y<z>\"'", "plain"} {
		var want strings.Builder
		if err := tpl.Execute(&want, v); err != nil {
			t.Fatal(err)
		}
		esc := string(appendEscaped(nil, v))
		if got := `<p title="` + esc + `">` + esc + `</p>`; got != want.String() {
			t.Errorf("%q: got %s, want %s", v, got, want.String())
		}
	}
}

// TestMemoRenderRendersAgainWhenTheDataChange: a remembered rendering is
// served only for the same data.
func TestMemoRenderRendersAgainWhenTheDataChange(t *testing.T) {
	type offer struct{ Offer, Reward string }
	calls := 0
	render := MemoRender(func(name string, data any) (template.HTML, error) {
		calls++
		return template.HTML(fmt.Sprintf("%s %v", name, data)), nil //nolint:gosec // test
	})
	for i, tc := range []struct {
		data  any
		want  string
		calls int
	}{
		{offer{"10%", "$5"}, "p {10% $5}", 1},
		{offer{"10%", "$5"}, "p {10% $5}", 1},
		{offer{"20%", "$5"}, "p {20% $5}", 2},
		{offer{"10%", "$5"}, "p {10% $5}", 3},
		{[]string{"a"}, "p [a]", 4}, // not comparable: always rendered
		{[]string{"a"}, "p [a]", 5},
	} {
		got, err := render("p", tc.data)
		if err != nil || string(got) != tc.want || calls != tc.calls {
			t.Fatalf("step %d: got %q (%v) after %d renders, want %q after %d", i, got, err, calls, tc.want, tc.calls)
		}
	}
}
