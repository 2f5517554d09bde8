//go:build bench

package dashboard

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestRollupRefreshTimings times the periodic refresh as it runs on a
// store in use: it keeps the rollups' state (no rebuild) and refreshes
// AFTERCARE_BENCH_REFRESHES times (default 3) in a row, as the periodic
// job would, printing each one's time. With
// AFTERCARE_BENCH_REFRESH_REBUILD set it first rebuilds, timed too. It
// asserts nothing: it is a measuring tool, like TestDashboardQueryTimings.
func TestRollupRefreshTimings(t *testing.T) {
	d := benchDB(t)
	ctx := context.Background()
	if os.Getenv("AFTERCARE_BENCH_REFRESH_REBUILD") != "" {
		if _, err := d.Exec(`DELETE FROM dashboard_rollup_state`); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := NewRollup(d).Refresh(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("refresh rebuild  %8.1f ms\n", float64(time.Since(start).Microseconds())/1000)
	}
	n, _ := strconv.Atoi(os.Getenv("AFTERCARE_BENCH_REFRESHES"))
	if n <= 0 {
		n = 3
	}
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := NewRollup(d).Refresh(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("refresh %d        %8.1f ms\n", i+1, float64(time.Since(start).Microseconds())/1000)
	}
}
