package dashboard

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
)

// benchEnv names a database seeded with demo.SeedLarge (e.g. by
// `aftercare dev --seed-size large`); the large benchmarks skip without it,
// as seeding a million rows does not belong in every test run.
const benchEnv = "AFTERCARE_BENCH_LARGE_URL"

func benchDB(tb testing.TB) *sqlx.DB {
	tb.Helper()
	url := os.Getenv(benchEnv)
	if url == "" {
		tb.Skip("set " + benchEnv + " to a database seeded with demo.SeedLarge (aftercare dev --seed-size large)")
	}
	d, err := db.Open(context.Background(), url, db.Options{MaxConns: 4, StatementTimeout: 3 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func benchPeriod(tb testing.TB, d *sqlx.DB, days int) Period {
	tb.Helper()
	var zone string
	if err := d.Get(&zone, `SELECT time_zone FROM settings`); err != nil {
		tb.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().In(loc)
	p, err := ParsePeriod(now.AddDate(0, 0, 1-days).Format("2006-01-02"), now.Format("2006-01-02"), now, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkDashboardLarge computes the whole dashboard page's report (the
// period, the one before it, the daily series) on the large store, for the
// default 30 days and for a year.
func BenchmarkDashboardLarge(b *testing.B) {
	d := benchDB(b)
	svc := NewService(d)
	for _, days := range []int{30, 365} {
		p := benchPeriod(b, d, days)
		b.Run(time.Duration(days*24*int(time.Hour)).String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := svc.Report(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
