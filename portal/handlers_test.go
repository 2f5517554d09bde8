package portal

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// testApp is the real server with the portal mounted; the header
// X-Test-Customer stands in for a session, as auth.Sessions.Load would set
// the "customerID" local.
func testApp(t *testing.T, f *fixture, now time.Time) *fiber.App {
	t.Helper()
	return clockApp(t, f, &now)
}

// get returns the status and the page text with entities decoded.
func get(t *testing.T, app *fiber.App, path string, customer int64) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if customer != 0 {
		req.Header.Set("X-Test-Customer", strconv.FormatInt(customer, 10))
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp.StatusCode, html.UnescapeString(string(body)), resp.Header
}

func TestMyOrdersListsOnlyTheCustomersOrdersNewestFirst(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.customer("ann@example.com"), f.customer("bob@example.com")
	older, _ := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-02-20T10:00:00Z"), items: []item{{"MUG", "Mug", 2, 1200}}})
	newer, _ := f.order(ann, orderSpec{number: "#1002", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"TEA", "Tea", 1, 900}}})
	f.order(bob, orderSpec{number: "#2001", placedAt: utc("2026-03-02T10:00:00Z"), items: []item{{"MUG", "Mug", 1, 1200}}})
	f.shipment(older, shipmentSpec{carrier: "UPS", number: "1Z1", status: "delivered"})
	app := testApp(t, f, utc("2026-03-03T10:00:00Z"))

	status, page, header := get(t, app, "/orders", ann)
	if status != 200 {
		t.Fatalf("status = %d\n%s", status, page)
	}
	if strings.Contains(page, "#2001") {
		t.Error("Ann sees Bob's order")
	}
	i, j := strings.Index(page, "Order #1002"), strings.Index(page, "Order #1001")
	if i < 0 || j < 0 || i > j {
		t.Errorf("want #1002 above #1001, got positions %d and %d", i, j)
	}
	for _, want := range []string{
		`href="/orders/` + strconv.FormatInt(newer, 10) + `"`, `href="/orders/` + strconv.FormatInt(older, 10) + `"`,
		"Processing", "Delivered", "2 items", "1 item ·", "$24.00", "$9.00", "20 February 2026",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if cc := header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestMyOrdersWithoutOrdersSaysSo(t *testing.T) {
	f := newFixture(t)
	app := testApp(t, f, utc("2026-03-03T10:00:00Z"))
	status, page, _ := get(t, app, "/orders", f.customer("new@example.com"))
	if status != 200 || !strings.Contains(page, "No orders yet") {
		t.Fatalf("status %d, page:\n%s", status, page)
	}
}

func TestOrderPageShowsItemsTotalsTrackingAndTimelineInTheStoreZone(t *testing.T) {
	f := newFixture(t)
	f.timeZone("America/New_York")
	ann := f.customer("ann@example.com")
	id, lines := f.order(ann, orderSpec{number: "#1001", placedAt: utc("2026-03-01T15:00:00Z"),
		discount: 500, shipping: 495, tax: 120, codes: []string{"WELCOME5"},
		items: []item{{"MUG", "Stoneware mug", 2, 1200}, {"TEA", "Breakfast tea", 1, 900}}})
	ups := f.shipment(id, shipmentSpec{carrier: "ups", number: "1Z999AA1", status: "in_transit", eta: "2026-03-04"})
	f.shipmentItem(ups, lines[0], 2)
	f.event(ups, "label_created", "Shipping label created", "", utc("2026-03-02T16:00:00Z"))
	f.event(ups, "in_transit", "Departed facility", "Louisville, KY", utc("2026-03-03T14:05:00Z"))
	// 02:00 UTC on the 4th is still the 3rd in New York: the ETA is tomorrow there.
	app := testApp(t, f, utc("2026-03-04T02:00:00Z"))

	status, page, _ := get(t, app, "/orders/"+strconv.FormatInt(id, 10), ann)
	if status != 200 {
		t.Fatalf("status = %d\n%s", status, page)
	}
	for _, want := range []string{
		"<h1>Order #1001</h1>",
		"Stoneware mug", "Breakfast tea", "$24.00", "$12.00 each", "$33.00", // lines and subtotal
		"WELCOME5", "−$5.00", "$4.95", "$1.20", "$34.15", // discount, shipping, tax, total
		`<a href="https://www.ups.com/track?tracknum=1Z999AA1" rel="noopener noreferrer"`, "1Z999AA1",
		"On its way", "Arriving tomorrow", `<time datetime="2026-03-04">Wednesday 4 March</time>`,
		"2 × Stoneware mug",
		`<ol class="timeline"`,
		`<time datetime="2026-03-03T09:05:00-05:00">Tue 3 Mar, 09:05</time>`, "Departed facility", "Louisville, KY",
		`<time datetime="2026-03-02T11:00:00-05:00">Mon 2 Mar, 11:00</time>`, "Shipping label created",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if i, j := strings.Index(page, "Departed facility"), strings.Index(page, "Shipping label created"); i > j {
		t.Error("timeline is not newest first")
	}
}

func TestOrderPageOfAnotherCustomerOrABadIdIsNotFound(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.customer("ann@example.com"), f.customer("bob@example.com")
	bobs, _ := f.order(bob, orderSpec{number: "#2001", placedAt: utc("2026-03-01T10:00:00Z"), items: []item{{"MUG", "Secret mug", 1, 1200}}})
	app := testApp(t, f, utc("2026-03-03T10:00:00Z"))
	bobsPath := "/orders/" + strconv.FormatInt(bobs, 10)

	for _, tc := range []struct{ name, path string }{
		{"another customer's order", bobsPath},
		{"an order that does not exist", "/orders/" + strconv.FormatInt(bobs+1000, 10)},
		{"a non-numeric id", "/orders/abc"},
		{"a negative id", "/orders/-1"},
		{"an id too large for a number", "/orders/99999999999999999999"},
	} {
		t.Run(tc.name+" is a 404 for Ann", func(t *testing.T) {
			status, page, _ := get(t, app, tc.path, ann)
			if status != 404 || !strings.Contains(page, "We couldn't find that order.") {
				t.Errorf("status %d, page:\n%s", status, page)
			}
			if strings.Contains(page, "#2001") || strings.Contains(page, "Secret mug") {
				t.Error("page leaks Bob's order")
			}
		})
	}
	t.Run("Bob still sees his own order", func(t *testing.T) {
		if status, page, _ := get(t, app, bobsPath, bob); status != 200 || !strings.Contains(page, "Secret mug") {
			t.Errorf("status %d", status)
		}
	})
	t.Run("without a signed-in customer the pages refuse", func(t *testing.T) {
		if status, _, _ := get(t, app, bobsPath, 0); status != 401 {
			t.Errorf("status %d, want 401", status)
		}
	})
}

func TestOrderPageShowsTheSectionsOfOtherFeatures(t *testing.T) {
	f := newFixture(t)
	ada := f.customer("ada@example.com")
	order, _ := f.order(ada, orderSpec{number: "#P1", placedAt: time.Now().Add(-time.Hour), items: []item{{sku: "A", title: "Kettle", qty: 1, price: 100}}})
	var got PanelContext
	panel := PanelFunc(func(_ context.Context, pc PanelContext) (template.HTML, error) {
		got = pc
		return `<section id="feature-panel">Return items</section>`, nil
	})
	empty := PanelFunc(func(context.Context, PanelContext) (template.HTML, error) { return "", nil })
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: f.db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: engine})
	app.Use(func(c *fiber.Ctx) error {
		c.Locals("customerID", ada)
		return c.Next()
	})
	NewHandlers(f.db, WithPanel(empty), WithPanel(panel)).Routes(app)
	status, body, _ := get(t, app, fmt.Sprintf("/orders/%d", order), ada)
	if status != 200 || !strings.Contains(body, "Return items") {
		t.Fatalf("status %d, panel missing:\n%s", status, body)
	}
	if got.CustomerID != ada || got.OrderID != order || got.CSRF == "" || got.Location == nil {
		t.Fatalf("panel context %+v", got)
	}
}

func TestOpeningAnOrderPageCountsATrackingView(t *testing.T) {
	f := newFixture(t)
	ada := f.customer("ada@example.com")
	bob := f.customer("bob@example.com")
	order, _ := f.order(ada, orderSpec{number: "#V1", placedAt: time.Now().Add(-time.Hour), items: []item{{sku: "A", title: "Kettle", qty: 1, price: 100}}})
	app := testApp(t, f, time.Now())
	views := func() int {
		var n int
		if err := f.db.Get(&n, `SELECT count(*) FROM tracking_views WHERE order_id = $1`, order); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if status, _, _ := get(t, app, fmt.Sprintf("/orders/%d", order), ada); status != 200 || views() != 1 {
		t.Fatalf("status %d, %d views after one visit", status, views())
	}
	if status, _, _ := get(t, app, fmt.Sprintf("/orders/%d", order), bob); status != 404 || views() != 1 {
		t.Fatalf("another customer's visit: status %d, %d views", status, views())
	}
}
