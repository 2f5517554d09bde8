package reviews_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/reviews"
)

// publishMany writes n published reviews of KETTLE-1 by n buyers, with
// ratings cycling 5, 4, 3, 5, 4, 3 ..., and one pending and one rejected.
func (f *fixture) publishMany(n int) {
	f.t.Helper()
	for i := 0; i < n; i++ {
		f.exec(`WITH c AS (INSERT INTO customers (email, name) VALUES ($1, 'Buyer '||$2::text) RETURNING id),
			o AS (INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
			      SELECT 'api', 'many-'||$2::text, '#9'||$2::text, id, now(), 'USD', 1, 1, '\x00' FROM c RETURNING id, customer_id),
			i AS (INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor) SELECT id, 1, 'KETTLE-1', 'Kettle', 1, 1 FROM o RETURNING id, order_id)
			INSERT INTO reviews (order_item_id, order_id, customer_id, sku, rating, title, body, author_name, status, published_at)
			SELECT i.id, i.order_id, o.customer_id, 'KETTLE-1', $3, 'Review '||$2::text, '', 'Buyer', 'published', $4
			FROM i JOIN o ON o.id = i.order_id`,
			"b"+itoa(int64(i))+"@example.com", i, 5-i%3, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Hour))
	}
	ctx := context.Background()
	if _, err := f.svc.Submit(ctx, f.ada, f.kettle, reviews.Input{Rating: 1, Title: "Pending one"}); err != nil {
		f.t.Fatal(err)
	}
}

func TestThePublicReviewAPI(t *testing.T) {
	f := newFixture(t)
	f.publishMany(12)
	b := f.browser()
	resp, body := b.do("GET", "/api/v1/products/KETTLE-1/reviews?per_page=5&page=3", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var got reviews.ListResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// 12 reviews: four each of 5, 4 and 3 stars.
	if got.Count != 12 || got.Average != 4 || got.Pages != 3 || got.Page != 3 || len(got.Reviews) != 2 ||
		got.Ratings["5"] != 4 || got.Ratings["3"] != 4 || got.Ratings["1"] != 0 {
		t.Fatalf("page 3 = %+v", got)
	}
	if got.Reviews[0].Title != "Review 1" || got.Reviews[1].Title != "Review 0" || !got.Reviews[0].VerifiedBuyer {
		t.Errorf("the last page should hold the oldest reviews: %+v", got.Reviews)
	}
	for _, forbidden := range []string{"ada@example.com", "Pending one", "customer_id", "order"} {
		if strings.Contains(body, forbidden) {
			t.Errorf("the public answer shows %q", forbidden)
		}
	}
	t.Run("a product without reviews answers with zeros", func(t *testing.T) {
		_, body := b.do("GET", "/api/v1/products/NOPE/reviews", nil, nil)
		if !strings.Contains(body, `"count":0`) || !strings.Contains(body, `"reviews":[]`) {
			t.Fatal(body)
		}
	})
	t.Run("no API key is needed and per_page is bounded", func(t *testing.T) {
		_, body := b.do("GET", "/api/v1/products/KETTLE-1/reviews?per_page=1000", nil, nil)
		if !strings.Contains(body, `"per_page":50`) {
			t.Fatal(body)
		}
	})
}

func TestCORSForTheStorefront(t *testing.T) {
	f := newFixture(t)
	f.settings(`{"storefront_origins": ["https://fernfield.example"]}`)
	b := f.browser()
	tests := []struct {
		name, method, origin, want string
		status                     int
	}{
		{"the storefront may read", "GET", "https://fernfield.example", "https://fernfield.example", 200},
		{"another site may not", "GET", "https://evil.example", "", 200},
		{"a look-alike may not", "GET", "https://fernfield.example.evil.example", "", 200},
		{"a preflight from the storefront passes", "OPTIONS", "https://fernfield.example", "https://fernfield.example", 204},
		{"a preflight from elsewhere gets no permission", "OPTIONS", "https://evil.example", "", 204},
		{"a server without Origin gets the JSON plainly", "GET", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
				h.Set("Access-Control-Request-Method", "GET")
			}
			resp, _ := b.do(tt.method, "/api/v1/products/KETTLE-1/reviews", nil, h)
			if resp.StatusCode != tt.status || resp.Header.Get("Access-Control-Allow-Origin") != tt.want {
				t.Fatalf("%d, Allow-Origin %q; want %d, %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), tt.status, tt.want)
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
				t.Errorf("Vary = %q", resp.Header.Get("Vary"))
			}
		})
	}
	t.Run("a star means any origin", func(t *testing.T) {
		f.settings(`{"storefront_origins": ["*"]}`)
		resp, _ := b.do("GET", "/api/v1/products/KETTLE-1/reviews", nil, http.Header{"Origin": {"https://anyone.example"}})
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("Allow-Origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

func TestHostileReviewTextIsOnlyText(t *testing.T) {
	f := newFixture(t)
	f.settings(`{"storefront_origins": ["https://fernfield.example"]}`)
	hostile := `<script>alert(1)</script><img src=x onerror=alert(2)> <a href="javascript:alert(3)">x</a> </script><script>alert(4)</script>`
	if _, err := f.svc.Submit(context.Background(), f.ada, f.kettle, reviews.Input{Rating: 5, Title: `"><svg onload=alert(5)>`, Body: hostile}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	t.Run("in the JSON API", func(t *testing.T) {
		_, body := b.do("GET", "/api/v1/products/KETTLE-1/reviews", nil, nil)
		if strings.Contains(body, "<script") || !strings.Contains(body, `\u003cscript\u003ealert(1)`) {
			t.Fatalf("%s", body)
		}
	})
	t.Run("in the widget, its JSON-LD and its framing", func(t *testing.T) {
		resp, body := b.do("GET", "/widget/products/KETTLE-1/reviews", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg", `href="javascript`, "</script><script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("the widget carries %q:\n%s", bad, body)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("the review text is not shown as text:\n%s", body)
		}
		if !strings.Contains(body, `"@type":"AggregateRating"`) || !strings.Contains(body, `"reviewCount":1`) {
			t.Errorf("no schema.org AggregateRating:\n%s", body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors https://fernfield.example") || resp.Header.Get("X-Frame-Options") != "" {
			t.Errorf("CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
		}
	})
	t.Run("with no storefront configured nobody may frame the widget", func(t *testing.T) {
		f.settings(`{}`)
		resp, _ := b.do("GET", "/widget/products/KETTLE-1/reviews", nil, nil)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
	})
}
