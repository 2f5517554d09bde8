package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// TestMigrateGivesRiversSchedulerItsIndex checks that migrating (again, as
// every instance does at start) leaves River's scheduler the partial index
// on due jobs, created once.
func TestMigrateGivesRiversSchedulerItsIndex(t *testing.T) {
	pool := pgtest.DB(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := db.Migrate(ctx, pool.DB, nil); err != nil {
			t.Fatalf("migrate %d: %v", i+1, err)
		}
	}
	var defs []string
	if err := pool.Select(&defs, `SELECT indexdef FROM pg_indexes WHERE tablename = 'river_job' AND indexname = 'river_job_due_idx'`); err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || !strings.Contains(defs[0], "(scheduled_at)") || !strings.Contains(defs[0], "'retryable'") || !strings.Contains(defs[0], "'scheduled'") {
		t.Fatalf("river_job_due_idx: %q", defs)
	}
}
