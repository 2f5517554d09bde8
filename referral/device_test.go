package referral

import (
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// New devices' ids must sort in creation order under the collation of the
// visits' device column, so that their visits append to its index.
func TestNewDeviceIDsSortInTheOrderTheyWereMade(t *testing.T) {
	db := pgtest.DB(t)
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	var ids []string
	made := map[string]int{} // id -> the step of time it was made at
	for step, d := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second, time.Hour, 24 * time.Hour, 400 * 24 * time.Hour} {
		for range 3 {
			id := newDeviceID(t0.Add(d))
			if !validDevice(id) {
				t.Fatalf("new device id %q is not valid", id)
			}
			// The time in milliseconds as 12 hex digits, then 80 random
			// bits in URL base64.
			if want := fmt.Sprintf("%012x", t0.Add(d).UnixMilli()); len(id) != 26 || id[:12] != want {
				t.Fatalf("new device id %q does not start with %q", id, want)
			}
			if _, ok := made[id]; ok {
				t.Fatalf("device id %q made twice", id)
			}
			made[id] = step
			ids = append(ids, id)
		}
	}
	var sorted []string
	if err := db.Select(&sorted, `SELECT d FROM unnest($1::text[]) AS d
		ORDER BY d COLLATE "default"`, pq.Array(ids)); err != nil {
		t.Fatal(err)
	}
	// Ids made at the same instant may sort either way; instants may not.
	for i := 1; i < len(sorted); i++ {
		if made[sorted[i-1]] > made[sorted[i]] {
			t.Fatalf("device ids sort out of the order they were made in: %q before %q\n%v", sorted[i-1], sorted[i], sorted)
		}
	}
}
