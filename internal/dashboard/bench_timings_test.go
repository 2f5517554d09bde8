//go:build bench

package dashboard

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDashboardQueryTimings prints each dashboard query's time on the large
// store for 30 and 365 days, and the EXPLAIN (ANALYZE, BUFFERS) of those
// slower than 20 ms. It asserts nothing: it is a measuring tool.
func TestDashboardQueryTimings(t *testing.T) {
	d := benchDB(t)
	st := store{db: d}
	ctx := context.Background()
	if _, err := d.Exec(`DELETE FROM dashboard_rollup_state`); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"backfill", "incremental", "incremental"} {
		start := time.Now()
		if err := NewRollup(d).Refresh(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("refresh %-12s %8.1f ms\n", run, float64(time.Since(start).Microseconds())/1000)
	}
	for _, days := range []int{30, 365} {
		p := benchPeriod(t, d, days)
		zone := p.From.Location().String()
		from, to := p.From.Format(dateFmt), p.To.Format(dateFmt)
		queries := []struct {
			name string
			run  func() error
		}{
			{"sales", func() error { _, err := st.sales(ctx, p.Start, p.End); return err }},
			{"lifetime", func() error { _, err := st.lifetime(ctx, p.End); return err }},
			{"customers", func() error { _, err := st.customers(ctx, p.Start, p.End); return err }},
			{"returns", func() error { _, err := st.returns(ctx, p.Start, p.End); return err }},
			{"reviews", func() error { _, err := st.reviews(ctx, p.Start, p.End); return err }},
			{"emails", func() error { _, err := st.emails(ctx, p.Start, p.End); return err }},
			{"funnel", func() error { _, err := st.funnel(ctx, p.Start, p.End); return err }},
			{"daily", func() error { _, err := st.daily(ctx, p.Start, p.End, zone); return err }},
			{"R:sales", func() error { _, err := st.salesRollup(ctx, from, to); return err }},
			{"R:lifetime", func() error { _, err := st.lifetimeRollup(ctx, to); return err }},
			{"R:reviews", func() error { _, err := st.reviewsRollup(ctx, p); return err }},
			{"R:emails", func() error { _, err := st.emailsRollup(ctx, from, to); return err }},
			{"R:daily", func() error { _, err := st.dailyRollup(ctx, from, to); return err }},
		}
		for _, q := range queries {
			if os.Getenv("AFTERCARE_BENCH_SKIP_LIVE") != "" && !strings.HasPrefix(q.name, "R:") {
				continue
			}
			q.run() //nolint:errcheck // warm the cache
			const runs = 3
			start := time.Now()
			for i := 0; i < runs; i++ {
				if err := q.run(); err != nil {
					t.Fatal(err)
				}
			}
			ms := float64(time.Since(start).Microseconds()) / 1000 / runs
			fmt.Printf("days=%d %-10s %8.1f ms\n", days, q.name, ms)
		}
		svc := NewService(d)
		for _, ro := range []bool{false, true} {
			if !ro && os.Getenv("AFTERCARE_BENCH_SKIP_LIVE") != "" {
				continue
			}
			start := time.Now()
			for i := 0; i < 3; i++ {
				if _, err := svc.figures(ctx, p, ro); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.figures(ctx, p.Previous(), ro); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.daily(ctx, p, ro); err != nil {
					t.Fatal(err)
				}
			}
			fmt.Printf("days=%d PAGE rollup=%v %8.1f ms\n", days, ro, float64(time.Since(start).Microseconds())/1000/3)
		}
		start := time.Now()
		for i := 0; i < 3; i++ {
			if _, err := svc.Report(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Printf("days=%d Report()   %8.1f ms\n", days, float64(time.Since(start).Microseconds())/1000/3)
	}
}
