package privacy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture: Ann (id 1) with an order and its address, a review, a return
// with a comment, an email, a session and a sign-in token; Bob (id 2) with
// his own order, who must stay untouched.
func fixture(t *testing.T) *sqlx.DB {
	t.Helper()
	db := pgtest.DB(t)
	for _, q := range []string{
		`INSERT INTO customers (id, email, name, stripe_customer_id, marketing_consent) VALUES
		   (1, 'ann@example.com', 'Ann Example', 'cus_1', true), (2, 'bob@example.com', 'Bob Other', NULL, true)`,
		`INSERT INTO orders (id, source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor,
		   refunded_minor, status, content_hash, shipping_address, device_id, payment_fingerprint) VALUES
		   (1, 'api', '1', '#1001', 1, now(), 'EUR', 5000, 5000, 1000, 'partially_refunded', '\x00',
		    '{"name": "Ann Example", "line1": "1 Lane"}', 'dev-ann', 'fp-ann'),
		   (2, 'api', '2', '#1002', 2, now(), 'EUR', 700, 700, 0, 'open', '\x00', '{"name": "Bob Other"}', '', '')`,
		`INSERT INTO order_items (id, order_id, line_no, sku, title, quantity, unit_price_minor) VALUES (1, 1, 1, 'MUG', 'Mug', 1, 5000)`,
		`INSERT INTO reviews (order_item_id, order_id, customer_id, sku, rating, title, body, author_name) VALUES (1, 1, 1, 'MUG', 5, 'Great', 'Love it', 'Ann E.')`,
		`INSERT INTO return_requests (id, rma, order_id, customer_id, idempotency_key, resolution, currency, value_minor, window_ends_at)
		   VALUES (1, 'R-AAAAAA', 1, 1, 'k', 'refund', 'EUR', 1000, now())`,
		`INSERT INTO return_items (return_id, order_item_id, quantity, reason, comment, value_minor) VALUES (1, 1, 1, 'damaged', 'call me on 0123', 1000)`,
		`INSERT INTO messages (kind, dedupe_key, customer_id, order_id, to_address, subject, html_body, text_body) VALUES
		   ('order_confirmation', 'oc1', 1, 1, 'ann@example.com', 'Thanks Ann', '<p>Hi Ann</p>', 'Hi Ann'),
		   ('order_confirmation', 'oc2', 2, 2, 'bob@example.com', 'Thanks Bob', '<p>Hi Bob</p>', 'Hi Bob')`,
		`INSERT INTO sessions (id_hash, customer_id, csrf_token, expires_at) VALUES ('\x01', 1, 'x', now() + interval '1 day')`,
		`INSERT INTO login_tokens (jti, customer_id, purpose, kid, expires_at) VALUES (gen_random_uuid(), 1, 'login', 'k1', now() + interval '1 hour')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

func TestExportHoldsTheCustomersDataOnly(t *testing.T) {
	svc := NewService(fixture(t))
	b, err := svc.Export(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Customer struct{ Email, Name string }
		Orders   []struct {
			Number      string
			TotalMinor  int64 `json:"total_minor"`
			Items       []struct{ SKU string }
			ShippingAdr map[string]any `json:"shipping_address"`
		}
		Reviews []struct{ Body string }
		Returns []struct{ RMA string }
		Emails  []struct{ Subject string }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if doc.Customer.Email != "ann@example.com" || len(doc.Orders) != 1 || doc.Orders[0].TotalMinor != 5000 ||
		len(doc.Orders[0].Items) != 1 || doc.Orders[0].ShippingAdr["line1"] != "1 Lane" || len(doc.Reviews) != 1 ||
		len(doc.Returns) != 1 || len(doc.Emails) != 1 || doc.Emails[0].Subject != "Thanks Ann" {
		t.Fatalf("export %s", b)
	}
	if strings.Contains(string(b), "Bob") {
		t.Fatalf("export leaks another customer: %s", b)
	}
	if _, err := svc.Export(context.Background(), 99); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown customer: %v", err)
	}
}

func TestErasureLeavesNothingPersonalAndKeepsTotals(t *testing.T) {
	db := fixture(t)
	svc := NewService(db)
	if err := svc.Erase(context.Background(), 1, audit.Staff(7)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Erase(context.Background(), 1, audit.Staff(7)); err != nil {
		t.Fatalf("erasing twice: %v", err)
	}
	var dump string
	err := db.Get(&dump, `SELECT concat_ws(' | ',
	    (SELECT row_to_json(c)::text FROM customers c WHERE id = 1),
	    (SELECT string_agg(row_to_json(o)::text, ',') FROM (SELECT shipping_address, device_id, payment_fingerprint FROM orders WHERE customer_id = 1) o),
	    (SELECT string_agg(row_to_json(m)::text, ',') FROM messages m WHERE customer_id = 1),
	    (SELECT string_agg(row_to_json(r)::text, ',') FROM reviews r WHERE customer_id = 1),
	    (SELECT string_agg(comment, ',') FROM return_items))`)
	if err != nil {
		t.Fatal(err)
	}
	for _, personal := range []string{"ann@example.com", "Ann Example", "Ann E.", "Hi Ann", "Thanks Ann", "1 Lane", "dev-ann", "fp-ann", "cus_1", "0123"} {
		if strings.Contains(dump, personal) {
			t.Errorf("%q survived erasure: %s", personal, dump)
		}
	}
	if !strings.Contains(dump, "erased+1@invalid") {
		t.Errorf("no erased address: %s", dump)
	}
	var left struct {
		Total, Refunded, Sessions, Tokens, Bob, Audits int64
	}
	err = db.QueryRow(`SELECT (SELECT total_minor FROM orders WHERE id = 1), (SELECT refunded_minor FROM orders WHERE id = 1),
	    (SELECT count(*) FROM sessions WHERE customer_id = 1), (SELECT count(*) FROM login_tokens WHERE customer_id = 1),
	    (SELECT count(*) FROM messages WHERE to_address = 'bob@example.com' AND text_body = 'Hi Bob'),
	    (SELECT count(*) FROM audit_log WHERE action = 'customer.erased' AND subject = 'customer:1' AND actor = 'staff:7')`).
		Scan(&left.Total, &left.Refunded, &left.Sessions, &left.Tokens, &left.Bob, &left.Audits)
	if err != nil {
		t.Fatal(err)
	}
	if left.Total != 5000 || left.Refunded != 1000 || left.Sessions != 0 || left.Tokens != 0 || left.Bob != 1 || left.Audits != 2 {
		t.Fatalf("after erasure %+v", left)
	}
	if err := svc.Erase(context.Background(), 99, audit.Staff(7)); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown customer: %v", err)
	}
}

const csrfToken = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

func TestShopperAndAdminUseTheirDataRights(t *testing.T) {
	db := fixture(t)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: engine})
	app.Use(func(c *fiber.Ctx) error {
		if id, err := strconv.ParseInt(c.Get("X-Test-Customer"), 10, 64); err == nil {
			c.Locals("customerID", id)
		}
		if role := c.Get("X-Test-Staff"); role != "" {
			c.Locals("staff", staff.Member{ID: 3, Name: "Sam", Role: staff.Role(role)})
		}
		return c.Next()
	})
	h := NewHandlers(NewService(db))
	h.Routes(app)
	h.AdminRoutes(app.Group("/admin"))
	do := func(method, path string, form url.Values, header, value string) (int, string) {
		var body io.Reader
		if form != nil {
			form.Set("_csrf", csrfToken)
			body = strings.NewReader(form.Encode())
		}
		req := httptest.NewRequest(method, path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if header != "" {
			req.Header.Set(header, value)
		}
		req.AddCookie(&http.Cookie{Name: "aftercare_csrf", Value: csrfToken})
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, method, path string
		form               url.Values
		header, value      string
		status             int
		want               string
	}{
		{"a stranger is sent to sign in", "GET", "/account/data", nil, "", "", 303, ""},
		{"a shopper downloads their own data", "GET", "/account/data", nil, "X-Test-Customer", "2", 200, `"bob@example.com"`},
		{"support may not export", "GET", "/admin/customers/1/data.json", nil, "X-Test-Staff", "support", 403, ""},
		{"an admin exports a customer", "GET", "/admin/customers/1/data.json", nil, "X-Test-Staff", "admin", 200, `"ann@example.com"`},
		{"support may not erase", "POST", "/admin/customers/1/erase", url.Values{"confirm": {"yes"}}, "X-Test-Staff", "support", 403, ""},
		{"erasure needs the box ticked", "POST", "/account/erase", url.Values{}, "X-Test-Customer", "2", 422, "Tick the box"},
		{"a shopper erases their data", "POST", "/account/erase", url.Values{"confirm": {"yes"}}, "X-Test-Customer", "2", 200, "Your data is erased"},
		{"an admin erases a customer", "POST", "/admin/customers/1/erase", url.Values{"confirm": {"yes"}}, "X-Test-Staff", "admin", 303, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(tc.method, tc.path, tc.form, tc.header, tc.value)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", status, tc.status, tc.want, body)
			}
		})
	}
	var erased int
	if err := db.Get(&erased, `SELECT count(*) FROM customers WHERE email LIKE 'erased+%@invalid'`); err != nil || erased != 2 {
		t.Fatalf("%d customers erased (%v)", erased, err)
	}
}
