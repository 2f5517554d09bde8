package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/staff"
)

// secWorld is a live product with two shoppers who each have a delivered
// order, and, for Bob, a return and a review: the objects the security
// tests aim at. Alice is also the attacker; admin is a signed-in admin.
type secWorld struct {
	l                       *liveApp
	alice, bob, admin       *secAgent
	aliceOrder, bobOrder    int64
	aliceItem, bobItem      int64
	bobRMA                  string
	bobReturn, bobReview    int64
	bobPhoto                int64
	bobID, aliceID, staffID int64
}

var rmaPattern = regexp.MustCompile(`/returns/(R-[A-Z0-9-]+)`)

// newSecWorld builds the world on a live product.
func newSecWorld(t *testing.T) *secWorld {
	t.Helper()
	l := startLive(t)
	// l.api uses the default transport: close its idle connections before
	// the app's graceful shutdown waits for them.
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	w := &secWorld{l: l}
	w.aliceOrder, w.aliceItem = l.returnsDeliveredOrder(t, "alice@example.com", "#7001")
	w.bobOrder, w.bobItem = w.deliveredOrder(t, "bob@example.com", "#7002")
	w.aliceID, w.bobID = l.customerID(t, "alice@example.com"), l.customerID(t, "bob@example.com")
	w.alice = l.signInShopper(t, "alice@example.com")
	w.bob = l.signInShopper(t, "bob@example.com")
	w.bobRMA = w.requestReturn(t, w.bob, w.bobOrder, w.bobItem, "Bob's own words")
	if err := l.DB.Get(&w.bobReturn, `SELECT id FROM return_requests WHERE rma = $1`, w.bobRMA); err != nil {
		t.Fatal(err)
	}
	// A photo row straight in the table: what matters is who may read it.
	if err := l.DB.Get(&w.bobPhoto, `INSERT INTO return_photos (return_id, content_type, width, height, data)
		VALUES ($1, 'image/png', 1, 1, '\x89504e47') RETURNING id`, w.bobReturn); err != nil {
		t.Fatal(err)
	}
	w.bobReview = w.review(t, w.bob, w.bobItem, "Bob's title", "Bob's body of the review")
	w.admin = l.agent(t)
	w.admin.signInStaff("admin@example.com", staff.RoleAdmin)
	w.staffID = l.createStaff(t, "other@example.com", staff.RoleSupport)
	return w
}

// deliveredOrder is returnsDeliveredOrder for a second order of the same
// product (the product already exists).
func (w *secWorld) deliveredOrder(t *testing.T, email, number string) (orderID, itemID int64) {
	t.Helper()
	l, now := w.l, time.Now().UTC()
	order := l.api(t, "POST", "/api/v1/orders", map[string]any{
		"external_id": "ext-" + number, "number": number, "placed_at": now.Add(-30 * time.Hour).Format(time.RFC3339),
		"customer": map[string]any{"email": email, "name": "Bob Roe"}, "currency": "USD",
		"items":    []map[string]any{{"sku": "MUG-1", "title": "Stoneware mug", "quantity": 2, "unit_price": 1800}},
		"subtotal": 3600, "discount": 0, "shipping": 500, "tax": 0, "total": 4100, "payment_reference": "pi_3Mtw" + strings.TrimPrefix(number, "#"),
	}, 201)
	orderID = idOf(t, order)
	itemID = int64(order["items"].([]any)[0].(map[string]any)["id"].(float64))
	ship := l.api(t, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", orderID), map[string]any{"carrier": "UPS", "tracking_number": "1ZRET" + strings.TrimPrefix(number, "#")}, 201)
	l.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", idOf(t, ship)), map[string]any{
		"status": "delivered", "detail": "Left at front door", "occurred_at": now.Add(-24 * time.Hour).Format(time.RFC3339), "provider_event_id": "del-" + number,
	}, 201)
	return orderID, itemID
}

// requestReturn asks for a return of one item through the shopper's form
// and returns its RMA.
func (w *secWorld) requestReturn(t *testing.T, b *secAgent, order, item int64, comment string) string {
	t.Helper()
	n := fmt.Sprint(item)
	p := b.post(fmt.Sprintf("/orders/%d/return", order), url.Values{"key": {"k-" + n + "-" + fmt.Sprint(len(comment))},
		"qty_" + n: {"1"}, "reason_" + n: {"wrong_size"}, "comment_" + n: {comment}, "resolution": {"refund"}, "guide_seen": {"1"}})
	m := rmaPattern.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("request a return: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	return m[1]
}

// review writes a review of item through the shopper's form.
func (w *secWorld) review(t *testing.T, b *secAgent, item int64, title, body string) int64 {
	t.Helper()
	p := b.post(fmt.Sprintf("/reviews/items/%d", item), url.Values{"rating": {"4"}, "title": {title}, "body": {body}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("review: %d %s", p.status, p.body)
	}
	var id int64
	if err := w.l.DB.Get(&id, `SELECT id FROM reviews WHERE order_item_id = $1`, item); err != nil {
		t.Fatal(err)
	}
	return id
}
