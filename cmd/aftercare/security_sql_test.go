package main

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// meta holds SQL's metacharacters, LIKE's wildcards and some unicode.
const meta = `O'Brien ";-- 50% off_now \ back\slash' OR '1'='1 Zoë 𝄞 日本`

func TestSecuritySQLMetacharactersAreStoredVerbatim(t *testing.T) {
	w := newSecWorld(t)
	l := w.l
	// Through the API: the customer's name, an item's title, event texts.
	order := l.api(t, "POST", "/api/v1/orders", map[string]any{
		"external_id": "ext-'meta", "number": "#M'1", "placed_at": "2026-01-02T10:00:00Z",
		"customer": map[string]any{"email": "o'brien+x@example.com", "name": meta}, "currency": "USD",
		"items":    []map[string]any{{"sku": "MUG-1", "title": meta, "quantity": 1, "unit_price": 1800}},
		"subtotal": 1800, "discount": 0, "shipping": 0, "tax": 0, "total": 1800,
	}, 201)
	id := idOf(t, order)
	got := l.api(t, "GET", fmt.Sprintf("/api/v1/orders/%d", id), nil, 200)
	if !strings.Contains(fmt.Sprint(got), meta) {
		t.Fatalf("the order read back lacks the name verbatim: %v", got)
	}
	// NUL cannot be stored in PostgreSQL text: a 4xx, never a 500.
	for _, field := range []string{"name", "email"} {
		cust := map[string]any{"email": "nul@example.com", "name": "N"}
		cust[field] = "a\x00b"
		req := map[string]any{"external_id": "ext-nul-" + field, "number": "#N" + field, "placed_at": "2026-01-02T10:00:00Z",
			"customer": cust, "currency": "USD", "items": []map[string]any{{"sku": "MUG-1", "title": "t", "quantity": 1, "unit_price": 1}},
			"subtotal": 1, "discount": 0, "shipping": 0, "tax": 0, "total": 1}
		l.api(t, "POST", "/api/v1/orders", req, http.StatusUnprocessableEntity)
	}

	// Forms: a return comment and a review, shown back as typed.
	rma := w.requestReturn(t, w.alice, w.aliceOrder, w.aliceItem, meta)
	if p := w.alice.get("/returns/" + rma); !strings.Contains(html.UnescapeString(p.body), meta) {
		t.Errorf("the return page lacks the comment verbatim")
	}
	w.review(t, w.alice, w.aliceItem, "T "+meta[:20], "B "+meta)
	if p := w.alice.get(fmt.Sprintf("/reviews/items/%d", w.aliceItem)); !strings.Contains(html.UnescapeString(p.body), "B "+meta) {
		t.Errorf("the review form lacks the body verbatim")
	}
	// NUL in forms: refused or stored without it, never a 500.
	for path, form := range map[string]url.Values{
		"/signin":       {"email": {"a\x00@example.com"}},
		"/signin/code":  {"email": {"a\x00@example.com"}, "code": {"12\x003456"}},
		"/admin/signin": {"email": {"a\x00@example.com"}, "password": {"x\x00"}},
		fmt.Sprintf("/reviews/items/%d", w.bobItem): {"rating": {"5"}, "title": {"a\x00b"}, "body": {"nul \x00 body text"}},
	} {
		a := w.bob
		if strings.HasPrefix(path, "/signin") || strings.HasPrefix(path, "/admin") {
			a = l.agent(t)
		}
		if p := a.post(path, form); p.status >= 500 {
			t.Errorf("POST %s with NUL: %d", path, p.status)
		}
	}

	// Staff: the customer search takes % and _ as text, not wildcards.
	page := func(q string) string {
		p := w.admin.get("/admin/customers?q=" + url.QueryEscape(q))
		if p.status != http.StatusOK {
			t.Fatalf("search %q: %d", q, p.status)
		}
		return html.UnescapeString(p.body)
	}
	for _, q := range []string{"%", "_", "%%", "\\", "%@%", "_@_"} {
		if body := page(q); strings.Contains(body, "alice@example.com") || strings.Contains(body, "bob@example.com") {
			t.Errorf("searching %q matches everyone", q)
		}
	}
	if body := page("50% off_"); !strings.Contains(body, "o'brien+x@example.com") || strings.Contains(body, "alice@example.com") {
		t.Errorf("searching the literal text %q finds the wrong customers", "50% off_")
	}
	if body := page(`back\slash' OR '1'='1`); !strings.Contains(body, "o'brien+x@example.com") || strings.Contains(body, "bob@example.com") {
		t.Errorf("searching a quote and a backslash finds the wrong customers")
	}
	for _, q := range []string{"'", `";--`, "\x00", "' OR 1=1 --", "𝄞"} {
		if p := w.admin.get("/admin/customers?q=" + url.QueryEscape(q)); p.status >= 500 {
			t.Errorf("search %q: %d", q, p.status)
		}
		if p := w.admin.get("/admin/referrals/find?q=" + url.QueryEscape(q)); p.status >= 500 {
			t.Errorf("referrer search %q: %d", q, p.status)
		}
	}
	if p := w.admin.get(fmt.Sprintf("/admin/customers/%d", l.customerID(t, "o'brien+x@example.com"))); !strings.Contains(html.UnescapeString(p.body), meta) {
		t.Errorf("the customer page lacks the name verbatim")
	}
}
