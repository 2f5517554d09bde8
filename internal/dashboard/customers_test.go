package dashboard

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

const csrfToken = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

func customersApp(t *testing.T, db *sqlx.DB) func(method, path string, form url.Values) (int, string, string) {
	t.Helper()
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	queue, err := jobs.New(db.DB, jobs.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: db, Logger: quiet, Views: engine})
	app.Use(func(c *fiber.Ctx) error {
		if role := c.Get("X-Test-Staff"); role != "" {
			c.Locals("staff", staff.Member{ID: 5, Name: "Sue", Role: staff.Role(role)})
		}
		return c.Next()
	})
	NewCustomerHandlers(NewCustomers(db, mail.NewOutbox(queue))).Routes(app.Group("/admin"))
	return func(method, path string, form url.Values) (int, string, string) {
		var body io.Reader
		if form != nil {
			form.Set("_csrf", csrfToken)
			body = strings.NewReader(form.Encode())
		}
		req := httptest.NewRequest(method, path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("X-Test-Staff", "support")
		req.AddCookie(&http.Cookie{Name: "aftercare_csrf", Value: csrfToken})
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Location")
	}
}

func TestSupportFindsACustomerAndResendsMail(t *testing.T) {
	db := fixture(t)
	if _, err := db.Exec(`INSERT INTO shipments (order_id, carrier, tracking_number, status) VALUES (2, 'ups', '1Z999', 'in_transit')`); err != nil {
		t.Fatal(err)
	}
	do := customersApp(t, db)
	searches := []struct{ q, want, not string }{
		{"ann@", "ann@example.com", "bob@example.com"},
		{"bob", "bob@example.com", "ann@example.com"},
		{"#3", "bob@example.com", "ann@example.com"},
		{"2", "ann@example.com", "bob@example.com"},
		{"%", "No customer matches", "example.com"},
	}
	for _, s := range searches {
		t.Run("searching "+s.q+" finds the right customer", func(t *testing.T) {
			status, body, _ := do("GET", "/admin/customers?q="+url.QueryEscape(s.q), nil)
			if status != 200 || !strings.Contains(body, s.want) || strings.Contains(body, s.not) {
				t.Fatalf("status %d, want %q and not %q:\n%s", status, s.want, s.not, body)
			}
		})
	}
	t.Run("the customer page lists orders, shipments, returns, reviews and emails", func(t *testing.T) {
		status, body, _ := do("GET", "/admin/customers/1", nil)
		for _, want := range []string{"ann@example.com", "#2", "1Z999", "R-AAAAAA", "Good", "review_request", "Email a sign-in link"} {
			if status != 200 || !strings.Contains(body, want) {
				t.Fatalf("status %d, lacks %q:\n%s", status, want, body)
			}
		}
		if strings.Contains(body, "/erase") {
			t.Fatal("support is offered erasure")
		}
	})
	t.Run("an unknown customer is missing", func(t *testing.T) {
		if status, _, _ := do("GET", "/admin/customers/99", nil); status != 404 {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("a sign-in link is queued and audited", func(t *testing.T) {
		status, _, loc := do("POST", "/admin/customers/1/login-link", url.Values{})
		if status != 303 || loc != "/admin/customers/1?done=link" {
			t.Fatalf("status %d to %q", status, loc)
		}
		wantCount(t, db, `SELECT count(*) FROM messages WHERE kind = 'login_link' AND customer_id = 1 AND to_address = 'ann@example.com'`, 1)
		wantCount(t, db, `SELECT count(*) FROM audit_log WHERE action = 'customer.login_link_sent' AND actor = 'staff:5' AND subject = 'customer:1'`, 1)
	})
	t.Run("an email is resent as a new copy, twice if asked twice", func(t *testing.T) {
		var id int64
		if err := db.Get(&id, `SELECT id FROM messages WHERE dedupe_key = 'r1'`); err != nil {
			t.Fatal(err)
		}
		path := "/admin/customers/1/messages/" + itoa(id) + "/resend"
		for range 2 {
			if status, body, _ := do("POST", path, url.Values{}); status != 303 {
				t.Fatalf("status %d:\n%s", status, body)
			}
		}
		wantCount(t, db, `SELECT count(*) FROM messages WHERE kind = 'review_request' AND customer_id = 1 AND status = 'queued' AND dedupe_key LIKE 'resend:%'`, 2)
		wantCount(t, db, `SELECT count(*) FROM audit_log WHERE action = 'message.resent'`, 2)
	})
	t.Run("another customer's email cannot be resent", func(t *testing.T) {
		var id int64
		if err := db.Get(&id, `SELECT id FROM messages WHERE dedupe_key = 'r2'`); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := do("POST", "/admin/customers/1/messages/"+itoa(id)+"/resend", url.Values{}); status != 404 {
			t.Fatalf("status %d", status)
		}
	})
}

func itoa(n int64) string { return count(n) }

func wantCount(t *testing.T, db *sqlx.DB, q string, want int) {
	t.Helper()
	var n int
	if err := db.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%s: %d, want %d", q, n, want)
	}
}
