package dashboard

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// sameAsLive checks that the rollup-based figures and daily series of p
// equal the live computation over the record.
func sameAsLive(t *testing.T, svc *Service, p Period) {
	t.Helper()
	ctx := context.Background()
	ready, err := svc.st.rollupReady(ctx, p.From.Location().String())
	if err != nil || !ready {
		t.Fatalf("rollup not ready: %v", err)
	}
	for _, q := range []Period{p, p.Previous()} {
		live, err := svc.figures(ctx, q, false)
		if err != nil {
			t.Fatal(err)
		}
		roll, err := svc.figures(ctx, q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(live, roll) {
			t.Fatalf("%s..%s rollup figures\n%+v\nlive\n%+v", q.From.Format(dateFmt), q.To.Format(dateFmt), roll, live)
		}
	}
	live, err := svc.daily(ctx, p, false)
	if err != nil {
		t.Fatal(err)
	}
	roll, err := svc.daily(ctx, p, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(live, roll) {
		t.Fatalf("rollup days %+v\nlive %+v", roll, live)
	}
}

func refresh(t *testing.T, db *sqlx.DB) {
	t.Helper()
	if err := NewRollup(db).Refresh(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestRollupFiguresMatchHandComputedFixture(t *testing.T) {
	db := fixture(t)
	refresh(t, db)
	svc := NewService(db)
	p := period(t, "2026-03-01", "2026-03-07")
	sameAsLive(t, svc, p)
	// The hand-computed figures of TestKPIsMatchHandComputedFigures, now
	// from the rollups.
	r, err := svc.Report(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	sales, _ := r.Table("sales")
	want := [][]string{
		{"EUR", "2", "0", "€70.00", "€0.00", "€30.00", "€50.00", "–", "€70.00"},
		{"USD", "1", "0", "$25.00", "$0.00", "$0.00", "$25.00", "–", "$25.00"},
	}
	if !equalRows(sales.Rows, want) {
		t.Errorf("sales %q, want %q", sales.Rows, want)
	}
	if len(r.Days) != 7 || r.Days[0].Orders != 1 || r.Days[2].Orders != 2 || r.Days[2].Revenue["EUR"] != 3000 || r.Days[2].Revenue["USD"] != 2500 {
		t.Errorf("days %+v", r.Days)
	}
	rv, _ := r.Table("reviews")
	if rv.Rows[2][1] != "50.0%" || rv.Rows[3][1] != "4.00" {
		t.Errorf("reviews %q", rv.Rows)
	}
	em, _ := r.Table("emails")
	wantEm := [][]string{
		{"order_confirmation", "0", "1", "0", "0", "0", "–", "–"},
		{"review_request", "2", "0", "2", "1", "0", "100.0%", "50.0%"},
	}
	if !equalRows(em.Rows, wantEm) {
		t.Errorf("emails %q", em.Rows)
	}
	if len(r.Now.Lifetime) != 2 || r.Now.Lifetime[0].Customers != 1 || r.Now.Lifetime[0].Net != 7000 || r.Now.Lifetime[1].Net != 2500 {
		t.Errorf("lifetime %+v", r.Now.Lifetime)
	}
}

// Rows that change after their day (a refund, a cancelled first order, a
// new old order, a late open, a queued email that fails) reach the rollups
// on the next refresh, which rewrites the days they belong to.
func TestRollupRefreshFollowsLateChanges(t *testing.T) {
	db := fixture(t)
	svc := NewService(db)
	p := period(t, "2026-03-01", "2026-03-07")
	exec := execer(t, db)
	exec(`INSERT INTO messages (kind, dedupe_key, customer_id, to_address, status, created_at) VALUES
	      ('shipment_shipped', 'q1', 2, 'bob@example.com', 'queued', '2026-03-04T09:00:00Z')`)
	refresh(t, db)
	sameAsLive(t, svc, p)
	before, _ := svc.figures(context.Background(), p, true)

	exec(`UPDATE orders SET refunded_minor = 2500, status = 'refunded', updated_at = now() WHERE id = 3`)
	exec(`UPDATE orders SET status = 'cancelled', updated_at = now() WHERE id = 1`) // Ann's first order
	exec(`INSERT INTO orders (id, source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
	      VALUES (9, 'api', '9', '#9', 2, '2026-03-06T10:00:00Z', 'USD', 1000, 1000, '\x00')`)
	exec(`INSERT INTO message_events (message_id, kind) SELECT id, 'unsubscribe' FROM messages WHERE dedupe_key = 'r2'`)
	exec(`UPDATE messages SET status = 'failed', attempts = 5 WHERE dedupe_key = 'q1'`)
	if stale, _ := svc.figures(context.Background(), p, true); !reflect.DeepEqual(stale, before) {
		t.Fatalf("the rollups changed without a refresh")
	}
	refresh(t, db)
	sameAsLive(t, svc, p)
	after, _ := svc.figures(context.Background(), p, true)
	if reflect.DeepEqual(after, before) {
		t.Fatalf("the refresh missed the changes: %+v", after)
	}

	// Idempotent: a second refresh leaves every row as it was.
	sum := func() string {
		var s string
		if err := db.Get(&s, `SELECT md5(coalesce((SELECT string_agg(t::text, ';' ORDER BY t::text) FROM dashboard_sales_daily t), '') ||
			coalesce((SELECT string_agg(t::text, ';' ORDER BY t::text) FROM dashboard_email_daily t), ''))`); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := sum()
	refresh(t, db)
	if sum() != first {
		t.Errorf("a second refresh changed the rollups")
	}
}

// A new time zone moves every day's boundary: the next refresh rebuilds.
func TestRollupRebuildsWhenTheZoneChanges(t *testing.T) {
	db := fixture(t)
	refresh(t, db)
	if _, err := db.Exec(`UPDATE settings SET time_zone = 'UTC'`); err != nil {
		t.Fatal(err)
	}
	svc := NewService(db)
	utc, err := ParsePeriod("2026-03-01", "2026-03-07", time.Now(), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if ready, _ := svc.st.rollupReady(context.Background(), "UTC"); ready {
		t.Fatal("rollups in Berlin days used for UTC")
	}
	refresh(t, db)
	sameAsLive(t, svc, utc)
}
