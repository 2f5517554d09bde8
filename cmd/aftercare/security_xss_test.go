package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// xss is written into every text field; its escaped form must show, its
// live form never.
const xss = `<script>alert(1)</script>"><img src=x onerror=alert(1)>`

var nonceInCSP = regexp.MustCompile(`script-src [^;]*'nonce-([^']+)'`)

// checkPage parses an HTML answer and fails on a script, handler or
// javascript: URL the payloads could have made, or on a missing CSP nonce.
// It reports whether the escaped payload is shown.
func checkPage(t *testing.T, what string, p secPage) bool {
	t.Helper()
	if p.status >= 500 {
		t.Errorf("%s: status %d", what, p.status)
	}
	if !strings.Contains(p.header.Get("Content-Type"), "text/html") {
		return false
	}
	csp := p.header.Get("Content-Security-Policy")
	m := nonceInCSP.FindStringSubmatch(csp)
	if m == nil || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP without a script nonce: %q", what, csp)
	}
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			// Data in a script (JSON-LD) is fine while escaped; a payload that
			// broke out shows as markup inside it or as a script of its own.
			if txt := scriptText(n); strings.Contains(txt, "<script") || strings.Contains(txt, "<img") || strings.HasPrefix(strings.TrimSpace(txt), "alert(") {
				t.Errorf("%s: a live <script> from the payload", what)
			}
			if n.Data == "img" && attr(n, "src") == "x" {
				t.Errorf("%s: a live <img src=x> from the payload", what)
			}
			if n.Data == "script" && m != nil && attr(n, "nonce") != m[1] {
				t.Errorf("%s: a <script> without the page's nonce", what)
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
				if strings.HasPrefix(a.Key, "on") && strings.Contains(v, "alert(") {
					t.Errorf("%s: <%s %s=%q> from the payload", what, n.Data, a.Key, a.Val)
				}
				if (a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "formaction") && strings.HasPrefix(v, "javascript:") {
					t.Errorf("%s: <%s %s=%q>", what, n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

func scriptText(n *html.Node) string {
	if n.Data != "script" || n.FirstChild == nil {
		return ""
	}
	return n.FirstChild.Data
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestSecurityXSSEveryWrittenTextIsEscaped(t *testing.T) {
	w := newSecWorld(t)
	l := w.l
	// Through the API: names, addresses of events, product titles, guides.
	l.api(t, "PUT", "/api/v1/products/MUG-1", map[string]any{"title": "Mug " + xss, "returnable": true,
		"guide_md": "# Guide " + xss + "\n\n[click](javascript:alert(1)) <a href=\"javascript:alert(1)\">raw</a>\n\n" + xss}, 200)
	order := l.api(t, "POST", "/api/v1/orders", map[string]any{
		"external_id": "ext-xss", "number": "#X1", "placed_at": "2026-01-02T10:00:00Z",
		"customer": map[string]any{"email": "alice@example.com", "name": "Alice " + xss}, "currency": "USD",
		"items":    []map[string]any{{"sku": "MUG-1", "title": "Item " + xss, "quantity": 1, "unit_price": 1800}},
		"subtotal": 1800, "discount": 0, "shipping": 0, "tax": 0, "total": 1800,
	}, 201)
	ship := l.api(t, "POST", fmt.Sprintf("/api/v1/orders/%d/shipments", idOf(t, order)), map[string]any{"carrier": "<b onmouseover=alert(1)>", "tracking_number": "1ZX" + "SS1"}, 201)
	l.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", idOf(t, ship)), map[string]any{
		"status": "in_transit", "detail": "Detail " + xss, "location": "Loc " + xss, "occurred_at": "2026-01-03T10:00:00Z", "provider_event_id": "x-1"}, 201)

	// Shoppers: a return comment, a review.
	aliceRMA := w.requestReturn(t, w.alice, w.aliceOrder, w.aliceItem, "Comment "+xss)
	w.review(t, w.alice, w.aliceItem, "Title "+xss, "Body "+xss+" long enough")
	var aliceReturn, aliceReview int64
	l.DB.Get(&aliceReturn, `SELECT id FROM return_requests WHERE rma = $1`, aliceRMA)      //nolint:errcheck // checked by the pages
	l.DB.Get(&aliceReview, `SELECT id FROM reviews WHERE order_item_id = $1`, w.aliceItem) //nolint:errcheck // idem

	shown := map[string]bool{}
	// Staff: a reply, rejection notes, a guide, settings.
	for path, form := range map[string]url.Values{
		fmt.Sprintf("/admin/reviews/%d/reply", aliceReview):  {"reply": {"Reply " + xss}},
		fmt.Sprintf("/admin/reviews/%d/reject", w.bobReview): {"reason": {"Rejected " + xss}},
		fmt.Sprintf("/admin/returns/%d/reject", w.bobReturn): {"reason": {"Rejected " + xss}},
		"/admin/guides/MUG-1":                                {"guide_md": {"# Staff guide " + xss + "\n\n[x](javascript:alert(1))"}, "guide_video_url": {"javascript:alert(1)"}},
		"/admin/settings/returns":                            {"return_address": {"Street " + xss}, "auto_approve_max": {"0"}},
		"/admin/reviews/settings":                            {"incentive": {"Gift " + xss}, "request_enabled": {"on"}},
		fmt.Sprintf("/admin/guides/MUG-1?preview=%d", 1):     {"guide_md": {xss}, "action": {"preview"}},
	} {
		p := w.admin.post(path, form)
		if checkPage(t, "POST "+path, p) {
			shown["POST "+path] = true
		}
	}

	visit := func(a *secAgent, path string) {
		p := a.get(path)
		if checkPage(t, "GET "+path, p) {
			shown[path] = true
		}
	}
	for _, path := range []string{"/orders", fmt.Sprintf("/orders/%d", idOf(t, order)), fmt.Sprintf("/orders/%d", w.aliceOrder),
		"/returns/" + aliceRMA, fmt.Sprintf("/reviews/items/%d", w.aliceItem), fmt.Sprintf("/reviews/items/%d/thanks", w.aliceItem),
		"/guides/MUG-1", "/widget/products/MUG-1/reviews", "/refer", "/account/data"} {
		visit(w.alice, path)
	}
	visit(w.bob, "/returns/"+w.bobRMA)
	for _, path := range []string{"/admin/", fmt.Sprintf("/admin/customers/%d", w.aliceID), "/admin/customers?q=" + url.QueryEscape(xss),
		"/admin/returns", fmt.Sprintf("/admin/returns/%d", aliceReturn), fmt.Sprintf("/admin/returns/%d", w.bobReturn),
		"/admin/reviews/", fmt.Sprintf("/admin/reviews/%d", aliceReview), fmt.Sprintf("/admin/reviews/%d", w.bobReview),
		"/admin/guides/", "/admin/guides/MUG-1", "/admin/audit", "/admin/referrals/", "/admin/referrals/find?q=" + url.QueryEscape(xss),
		"/admin/settings/returns", "/admin/reviews/settings", "/admin/journey", "/admin/webhooks", "/admin/returns?q=" + url.QueryEscape(xss)} {
		visit(w.admin, path)
	}
	// Forms that echo what was typed.
	anon := l.agent(t)
	for path, form := range map[string]url.Values{
		"/signin":       {"email": {xss}},
		"/signin/code":  {"email": {xss}, "code": {xss}},
		"/admin/signin": {"email": {xss}, "password": {"x"}},
	} {
		if checkPage(t, "POST "+path, anon.post(path, form)) {
			shown["POST "+path] = true
		}
	}
	var code string
	if w.alice.get("/refer").status == http.StatusOK && l.DB.Get(&code, `SELECT code FROM referral_codes LIMIT 1`) == nil {
		rp := anon.post("/r/"+code, url.Values{"email": {xss}})
		if checkPage(t, "POST /r/code", rp) {
			shown["POST /r/code"] = true
		}
	}
	// The escaped payload must be on the pages that show these texts, or the
	// checks above looked at nothing.
	for _, want := range []string{fmt.Sprintf("/orders/%d", idOf(t, order)), "/returns/" + aliceRMA, "/guides/MUG-1",
		fmt.Sprintf("/admin/customers/%d", w.aliceID), fmt.Sprintf("/admin/returns/%d", aliceReturn),
		fmt.Sprintf("/admin/reviews/%d", aliceReview), "/admin/customers?q=" + url.QueryEscape(xss), "POST /admin/settings/returns",
		"POST /admin/reviews/settings", "POST /admin/guides/MUG-1", "POST /admin/guides/MUG-1?preview=1", "POST /signin", "POST /admin/signin"} {
		if !shown[want] {
			t.Errorf("%s does not show the escaped payload: did the text reach it?", want)
		}
	}
	t.Logf("escaped payload shown on %d pages", len(shown))
}
