package dashboard

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// fixture: two customers in Berlin time. Ann orders on 1 and 3 March (EUR),
// Bob once on 3 March in USD; an order at 23:30 UTC on 2 March is 00:30 on
// 3 March in Berlin; a cancelled order never counts; one order is half refunded.
func fixture(t *testing.T) *sqlx.DB {
	t.Helper()
	db := pgtest.DB(t)
	exec := execer(t, db)
	exec(`UPDATE settings SET time_zone = 'Europe/Berlin'`)
	exec(`INSERT INTO customers (id, email, name) VALUES (1, 'ann@example.com', 'Ann'), (2, 'bob@example.com', 'Bob')`)
	order := func(id, customer int, at, currency string, total, refunded int64, status string) {
		exec(`INSERT INTO orders (id, source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor,
		      refunded_minor, status, content_hash) VALUES ($1::bigint, 'api', $1::bigint::text, '#'||$1::bigint::text, $2, $3, $4, $5, $5, $6, $7, '\x00')`,
			id, customer, at, currency, total, refunded, status)
		exec(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor) VALUES ($1, 1, 'MUG', 'Mug', 2, $2)`, id, total/2)
	}
	order(1, 1, "2026-02-28T23:30:00Z", "EUR", 4000, 0, "open")                  // 1 March in Berlin
	order(2, 1, "2026-03-02T23:30:00Z", "EUR", 6000, 3000, "partially_refunded") // 3 March in Berlin
	order(3, 2, "2026-03-03T10:00:00Z", "USD", 2500, 0, "open")
	order(4, 2, "2026-03-03T11:00:00Z", "USD", 9900, 0, "cancelled")
	exec(`INSERT INTO return_requests (id, rma, order_id, customer_id, idempotency_key, resolution, currency, value_minor, window_ends_at, created_at)
	      VALUES (1, 'R-AAAAAA', 2, 1, 'k1', 'refund', 'EUR', 3000, now(), '2026-03-04T09:00:00Z')`)
	exec(`INSERT INTO return_items (return_id, order_item_id, quantity, reason, value_minor) VALUES (1, 2, 1, '=HYPERLINK("x")', 3000)`)
	exec(`INSERT INTO messages (kind, dedupe_key, customer_id, to_address, status, created_at) VALUES
	      ('review_request', 'r1', 1, 'ann@example.com', 'sent', '2026-03-05T09:00:00Z'),
	      ('review_request', 'r2', 2, 'bob@example.com', 'sent', '2026-03-05T09:00:00Z'),
	      ('order_confirmation', 'o1', 1, 'ann@example.com', 'failed', '2026-03-05T09:00:00Z')`)
	exec(`INSERT INTO message_events (message_id, kind) SELECT id, 'open' FROM messages WHERE dedupe_key IN ('r1', 'r2')`)
	exec(`INSERT INTO message_events (message_id, kind) SELECT id, 'click' FROM messages WHERE dedupe_key = 'r1'`)
	exec(`INSERT INTO message_events (message_id, kind) SELECT id, 'click' FROM messages WHERE dedupe_key = 'r1'`)
	exec(`INSERT INTO shipments (order_id, carrier, tracking_number, created_at) VALUES
	      (1, 'ups', '1ZVIEW1', '2026-03-01T10:00:00Z'), (3, 'ups', '1ZVIEW2', '2026-03-03T12:00:00Z')`)
	exec(`INSERT INTO tracking_views (order_id, viewed_at) VALUES (1, '2026-03-02T08:00:00Z'), (1, '2026-03-02T09:00:00Z'),
	      (3, '2026-03-04T08:00:00Z'), (3, '2026-02-25T08:00:00Z')`) // the last is in the previous period
	exec(`INSERT INTO reviews (order_item_id, order_id, customer_id, sku, rating, title, body, author_name, created_at)
	      VALUES (1, 1, 1, 'MUG', 4, 'Good', 'Nice mug', 'Ann', '2026-03-06T09:00:00Z')`)
	return db
}

func period(t *testing.T, from, to string) Period {
	t.Helper()
	p, err := ParsePeriod(from, to, time.Now(), berlin)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKPIsMatchHandComputedFigures(t *testing.T) {
	svc := NewService(fixture(t))
	r, err := svc.Report(context.Background(), period(t, "2026-03-01", "2026-03-07"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("revenue is kept per currency, net of refunds, without cancelled orders", func(t *testing.T) {
		sales, _ := r.Table("sales")
		want := [][]string{
			{"EUR", "2", "0", "€70.00", "€0.00", "€30.00", "€50.00", "–", "€70.00"},
			{"USD", "1", "0", "$25.00", "$0.00", "$0.00", "$25.00", "–", "$25.00"},
		}
		if got := sales.Rows; !equalRows(got, want) {
			t.Fatalf("sales %q, want %q", got, want)
		}
	})
	t.Run("a day is the store's day, not UTC's", func(t *testing.T) {
		if len(r.Days) != 7 || r.Days[0].Orders != 1 || r.Days[1].Orders != 0 || r.Days[2].Orders != 2 {
			t.Fatalf("days %+v", r.Days)
		}
		if r.Days[2].Revenue["EUR"] != 3000 || r.Days[2].Revenue["USD"] != 2500 {
			t.Fatalf("3 March revenue %v", r.Days[2].Revenue)
		}
	})
	t.Run("repeat purchase rate counts customers with a second order", func(t *testing.T) {
		c, _ := r.Table("customers")
		if c.Rows[0][1] != "2" || c.Rows[1][1] != "1" || c.Rows[2][1] != "50.0%" {
			t.Fatalf("customers %q", c.Rows)
		}
	})
	t.Run("where is my order: order page views per parcel shipped", func(t *testing.T) {
		c, _ := r.Table("customers")
		if c.Rows[3][1] != "3" || c.Rows[4][1] != "1.5" || c.Rows[3][2] != "1" || c.Rows[4][2] != "–" {
			t.Fatalf("customers %q", c.Rows)
		}
	})
	t.Run("returns by reason against items sold and revenue", func(t *testing.T) {
		ret, _ := r.Table("returns")
		want := [][]string{{`=HYPERLINK("x")`, "EUR", "1", "€30.00", "25.0%", "30.0%"}}
		if !equalRows(ret.Rows, want) {
			t.Fatalf("returns %q", ret.Rows)
		}
	})
	t.Run("review conversion, rating and email engagement", func(t *testing.T) {
		rv, _ := r.Table("reviews")
		if rv.Rows[2][1] != "50.0%" || rv.Rows[3][1] != "4.00" {
			t.Fatalf("reviews %q", rv.Rows)
		}
		em, _ := r.Table("emails")
		want := [][]string{
			{"order_confirmation", "0", "1", "0", "0", "0", "–", "–"},
			{"review_request", "2", "0", "2", "1", "0", "100.0%", "50.0%"},
		}
		if !equalRows(em.Rows, want) {
			t.Fatalf("emails %q", em.Rows)
		}
	})
}

func TestAnEmptyPeriodShowsZerosAndDashes(t *testing.T) {
	db := fixture(t)
	var indexes int
	if err := db.Get(&indexes, `SELECT count(*) FROM pg_indexes WHERE indexname IN ('orders_placed_idx', 'messages_created_idx')`); err != nil || indexes != 2 {
		t.Fatalf("the dashboard's indexes: %d (%v)", indexes, err)
	}
	r, err := NewService(db).Report(context.Background(), period(t, "2025-01-01", "2025-01-10"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Currencies) != 0 || len(r.Days) != 10 || r.Now.Customers.Buyers != 0 {
		t.Fatalf("report %+v", r)
	}
	c, _ := r.Table("customers")
	if c.Rows[2][1] != "–" {
		t.Fatalf("repeat rate of nobody %q", c.Rows[2][1])
	}
	if p := r.Prev; p.From.Format("2006-01-02") != "2024-12-22" || p.To.Format("2006-01-02") != "2024-12-31" {
		t.Fatalf("previous period %v – %v", p.From, p.To)
	}
}

func TestPeriodsAreCheckedAndDefaultToThirtyDays(t *testing.T) {
	now := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC) // 11 March in Berlin
	p, err := ParsePeriod("", "", now, berlin)
	if err != nil || p.To.Format("2006-01-02") != "2026-03-11" || p.Days() != 30 {
		t.Fatalf("default %v – %v (%v)", p.From, p.To, err)
	}
	for _, tc := range [][2]string{{"2026-03-05", "2026-03-01"}, {"yesterday", ""}, {"2020-01-01", "2026-01-01"}} {
		if _, err := ParsePeriod(tc[0], tc[1], now, berlin); err == nil {
			t.Errorf("period %q accepted", tc)
		}
	}
}

func TestCSVQuotesAndDefusesFormulas(t *testing.T) {
	var b bytes.Buffer
	err := WriteCSV(&b, Table{Columns: []string{"Reason", "Note"}, Rows: [][]string{{`=HYPERLINK("x")`, "a, b"}, {"+1", "@me"}, {"-2", "ok"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "Reason,Note\n\"'=HYPERLINK(\"\"x\"\")\",\"a, b\"\n'+1,'@me\n'-2,ok\n"
	if b.String() != want {
		t.Fatalf("csv\n%s\nwant\n%s", b.String(), want)
	}
}

func TestDashboardPageAndExportsForStaff(t *testing.T) {
	db := fixture(t)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: engine})
	app.Use(func(c *fiber.Ctx) error {
		if c.Get("X-Test-Staff") != "" {
			c.Locals("staff", staff.Member{ID: 1, Name: "Sue", Role: staff.RoleSupport})
		}
		return c.Next()
	})
	h := NewHandlers(NewService(db), func() time.Time { return time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC) })
	admin := app.Group("/admin")
	admin.Get("/", staff.Require(), h.Page)
	h.Routes(admin)
	get := func(path string, signedIn bool) (int, string, http.Header) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if signedIn {
			req.Header.Set("X-Test-Staff", "1")
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	tests := []struct {
		name, path string
		signedIn   bool
		status     int
		texts      []string
	}{
		{"support sees the last 30 days with charts and tables", "/admin", true, 200,
			[]string{"<h1>Dashboard</h1>", `role="img"`, "<title id=\"chart-orders-t\">Orders per day</title>", "€70.00", "$25.00", "Review conversion",
				`href="/admin/dashboard/sales.csv?from=2026-02-06&amp;to=2026-03-07"`}},
		{"a bad period is explained", "/admin?from=2026-03-09&to=2026-03-01", true, 422, []string{"must not be before the start"}},
		{"a stranger goes to sign-in", "/admin/dashboard/sales.csv", false, 303, nil},
		{"an unknown export is missing", "/admin/dashboard/secrets.csv", true, 404, nil},
		{"the returns export is CSV with formulas defused", "/admin/dashboard/returns.csv?from=2026-03-01&to=2026-03-07", true, 200,
			[]string{"Reason,Currency,Items", `"'=HYPERLINK(""x"")",EUR,1`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, header := get(tc.path, tc.signedIn)
			if status != tc.status {
				t.Fatalf("status %d, want %d\n%s", status, tc.status, body)
			}
			for _, s := range tc.texts {
				if !strings.Contains(body, s) {
					t.Fatalf("lacks %q:\n%s", s, body)
				}
			}
			if strings.HasSuffix(strings.SplitN(tc.path, "?", 2)[0], ".csv") && status == 200 &&
				!strings.HasPrefix(header.Get("Content-Type"), "text/csv") {
				t.Fatalf("content type %q", header.Get("Content-Type"))
			}
		})
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

// execer returns a function that runs a statement on db, failing t on error.
func execer(t *testing.T, db *sqlx.DB) func(q string, args ...any) {
	return func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
