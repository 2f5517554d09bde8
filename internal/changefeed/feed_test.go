package changefeed_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/changefeed"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is a Handler that hands over what it hears, in order.
type recorder struct{ heard chan string }

func newRecorder() *recorder                       { return &recorder{heard: make(chan string, 10000)} }
func (r *recorder) Changed(kind byte, keys string) { r.heard <- string(kind) + keys }
func (r *recorder) Reset()                         { r.heard <- "reset" }

// next returns the next thing heard, failing after a generous wait (the
// wait only bounds a broken test; nothing is timed).
func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r.heard:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("nothing heard")
		return ""
	}
}

// until returns everything heard before the marker notification m (sent
// with mark), which it consumes.
func (r *recorder) until(t *testing.T, m string) []string {
	t.Helper()
	var got []string
	for {
		s := r.next(t)
		if s == m {
			return got
		}
		got = append(got, s)
	}
}

type fixture struct {
	t    *testing.T
	url  string
	pool *sqlx.DB
	feed *changefeed.Feed
	rec  *recorder
	n    int
}

func start(t *testing.T) *fixture {
	t.Helper()
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := db.Open(ctx, url, db.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	f := &fixture{t: t, url: url, pool: pool, rec: newRecorder()}
	f.feed = changefeed.Start(url, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(f.feed.Close)
	f.feed.Subscribe(f.rec)
	if got := f.rec.next(t); got != "reset" {
		t.Fatalf("first event %q, want the Subscribe's reset", got)
	}
	// Going live resets once more.
	if got := f.rec.next(t); got != "reset" {
		t.Fatalf("second event %q, want the reset of going live", got)
	}
	waitLive(f.feed)
	return f
}

// waitLive waits for the feed to go live, which it does just after the
// reset of going live (the test's timeout fails it if never).
func waitLive(feed *changefeed.Feed) {
	for !feed.Live() {
		time.Sleep(time.Millisecond)
	}
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) id(q string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.pool.Get(&id, q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return id
}

// heard runs write and returns what the feed heard of it: everything before
// a marker sent after it (notifications arrive in commit order).
func (f *fixture) heard(write func()) []string {
	f.t.Helper()
	write()
	f.n++
	m := fmt.Sprintf("x%d", f.n)
	f.exec(`SELECT pg_notify('aftercare_changes', $1)`, m)
	return f.rec.until(f.t, m)
}

func (f *fixture) want(what string, write func(), want ...string) {
	f.t.Helper()
	got := f.heard(write)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		f.t.Errorf("%s: heard %q, want %q", what, got, want)
	}
}

func TestTriggersAnnounceWhatPagesDependOn(t *testing.T) {
	f := start(t)
	var cust, order int64
	f.want("a new customer and order (nobody can have kept them)", func() {
		cust = f.id(`INSERT INTO customers (email, name) VALUES ('ada@example.com', 'Ada') RETURNING id`)
		order = f.id(`INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
			VALUES ('api', 'e-1', '#1', $1, now(), 'USD', 100, 100, '\x00') RETURNING id`, cust)
	})
	o, c := fmt.Sprint(order), fmt.Sprint(cust)
	f.want("an order's own update", func() { f.exec(`UPDATE orders SET number = '#1b' WHERE id = $1`, order) }, "o"+o)
	f.want("a line added later (its trigger moves the order)", func() {
		f.exec(`INSERT INTO order_items (order_id, line_no, sku, title, quantity, unit_price_minor) VALUES ($1, 1, 'MUG', 'Mug', 1, 100)`, order)
	}, "o"+o)
	f.want("a rolled-back change", func() {
		tx := f.pool.MustBegin()
		tx.MustExec(`UPDATE orders SET number = '#never' WHERE id = $1`, order)
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	})
	f.want("the customer's name (shown on the page)", func() { f.exec(`UPDATE customers SET name = 'Ada L' WHERE id = $1`, cust) }, "c"+c)
	f.want("the customer's email (not shown)", func() { f.exec(`UPDATE customers SET email = 'ada@example.org' WHERE id = $1`, cust) })
	f.want("the settings (cache epochs)", func() { f.exec(`UPDATE cache_epochs SET epoch = epoch + 1 WHERE name = 'settings'`) }, "e")

	raw := []byte("a session id of forty-three characters.....")
	sum := sha256.Sum256(raw)
	hash := sum[:]
	s := "s" + hex.EncodeToString(hash)
	f.want("a new session", func() {
		f.exec(`INSERT INTO sessions (id_hash, customer_id, csrf_token, expires_at) VALUES ($1, $2, 'x', now() + interval '1 day')`, hash, cust)
	})
	f.want("a session's expiry sliding forward", func() {
		f.exec(`UPDATE sessions SET last_seen_at = now(), expires_at = now() + interval '30 days' WHERE id_hash = $1`, hash)
	})
	f.want("a session cut short", func() {
		f.exec(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1`, hash)
	}, s)
	f.want("a session ended", func() { f.exec(`DELETE FROM sessions WHERE id_hash = $1`, hash) }, s)
	f.want("sessions truncated", func() { f.exec(`TRUNCATE sessions`) }, "*")
	f.want("an order deleted", func() { f.exec(`DELETE FROM orders WHERE id = $1`, order) }, "o"+o)
	f.want("a customer deleted", func() { f.exec(`DELETE FROM customers WHERE id = $1`, cust) }, "c"+c)
}

func TestManyRowsGoInNotificationsOfBoundedSize(t *testing.T) {
	f := start(t)
	cust := f.id(`INSERT INTO customers (email, name) VALUES ('bulk@example.com', 'Bulk') RETURNING id`)
	f.exec(`INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
		SELECT 'api', 'b-' || i, '#' || i, $1, now(), 'USD', 1, 1, '\x00' FROM generate_series(1, 1000) i`, cust)
	var ids []int64
	if err := f.pool.Select(&ids, `SELECT id FROM orders ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	got := f.heard(func() { f.exec(`UPDATE orders SET currency = 'EUR'`) })
	if len(got) != 3 {
		t.Fatalf("1,000 orders in %d notifications, want 3 (400 ids each at most)", len(got))
	}
	var named []string
	for _, n := range got {
		if n[0] != 'o' || len(n) > 8000 {
			t.Fatalf("notification %.40q... (%d bytes)", n, len(n))
		}
		named = append(named, strings.Split(n[1:], ",")...)
	}
	sort.Slice(named, func(i, j int) bool {
		return len(named[i]) < len(named[j]) || len(named[i]) == len(named[j]) && named[i] < named[j]
	})
	var want []string
	for _, id := range ids {
		want = append(want, fmt.Sprint(id))
	}
	if strings.Join(named, ",") != strings.Join(want, ",") {
		t.Errorf("named %d ids, want each of the 1,000 once", len(named))
	}
}

func TestFenceHoldsReadyUntilHeardBack(t *testing.T) {
	f := start(t)
	// A second feed whose fences go through a pool of one connection, which
	// the test holds: its fence cannot be sent until the test lets it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	one, err := db.Open(ctx, f.url, db.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	feed := changefeed.Start(f.url, one, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer feed.Close()
	rec := newRecorder()
	feed.Subscribe(rec)
	for _, want := range []string{"reset", "reset"} { // Subscribe's, going live's
		if got := rec.next(t); got != want {
			t.Fatalf("heard %q, want %q", got, want)
		}
	}
	waitLive(feed)
	if !feed.Ready() {
		t.Fatal("not ready when live with no fence")
	}
	tx := one.MustBegin()
	feed.Fence()
	if feed.Ready() {
		t.Fatal("ready with a fence outstanding")
	}
	// A write committed before the fence is sent is heard before it.
	tx.MustExec(`SELECT pg_notify('aftercare_changes', 'xbefore')`)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(t); got != "xbefore" {
		t.Fatalf("heard %q, want the write's notification", got)
	}
	for !feed.Ready() {
		time.Sleep(time.Millisecond) // the fence follows; the test's timeout fails it if never
	}
	// Another feed's fences are not this one's.
	f.feed.Fence()
	for !f.feed.Ready() {
		time.Sleep(time.Millisecond)
	}
	if !feed.Ready() {
		t.Fatal("another instance's fence held this one")
	}
}

func TestLosingTheConnectionResetsAndRecovers(t *testing.T) {
	f := start(t)
	// Cut the listening session from the server's side, as a restart or a
	// failover would.
	f.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, changefeed.ApplicationName)
	if got := f.rec.next(t); got != "reset" {
		t.Fatalf("heard %q after the disconnection, want a reset", got)
	}
	if got := f.rec.next(t); got != "reset" {
		t.Fatalf("heard %q on reconnection, want a reset", got)
	}
	waitLive(f.feed)
	if !f.feed.Ready() {
		t.Fatal("not ready after reconnecting")
	}
	// And it listens again.
	f.want("a change after the reconnection", func() { f.exec(`UPDATE cache_epochs SET epoch = epoch + 1 WHERE name = 'catalog'`) }, "e")
}

func TestClosedFeedServesNothing(t *testing.T) {
	f := start(t)
	f.feed.Close()
	if f.feed.Live() || f.feed.Ready() {
		t.Fatal("a closed feed still live or ready")
	}
	f.feed.Close() // twice is fine
	var nilFeed *changefeed.Feed
	if nilFeed.Ready() || nilFeed.Live() {
		t.Fatal("a nil feed ready")
	}
	nilFeed.Fence()
	nilFeed.Close()
}
