package db

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	schema "github.com/aftercare/aftercare/sql"
)

// riverMigrateLock is the advisory lock key held while River's tables migrate,
// so that two instances starting at once take turns.
const riverMigrateLock = 7253_1001

// Migrate brings the schema up to date: Aftercare's goose migrations, then
// River's own tables. Safe when several instances start at once.
func Migrate(ctx context.Context, sqldb *sql.DB, logf func(format string, args ...any)) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrate: locker: %w", err)
	}
	migrations, err := fs.Sub(schema.Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqldb, migrations, goose.WithSessionLocker(locker), goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrate: goose: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: up: %w", err)
	}
	for _, r := range results {
		if logf != nil {
			logf("migrated %s in %s", r.Source.Path, r.Duration)
		}
	}
	// River's migrations add enum values, so they cannot share one transaction;
	// a session advisory lock on a dedicated connection serializes instances.
	conn, err := sqldb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, riverMigrateLock); err != nil {
		return fmt.Errorf("migrate: river lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, riverMigrateLock) //nolint:errcheck // released on close too
	migrator, err := rivermigrate.New(riverdatabasesql.New(sqldb), nil)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate: river up: %w", err)
	}
	if _, err := conn.ExecContext(ctx, riverDueIndex); err != nil {
		return fmt.Errorf("migrate: river due index: %w", err)
	}
	return nil
}

// riverDueIndex serves River's scheduler, which looks every few seconds
// for scheduled and retryable jobs that have come due. Its query filters
// on state and scheduled_at together, and with many jobs scheduled weeks
// ahead (the journey's follow-ups) PostgreSQL takes most of them to be due
// and reads the whole of river_job instead of River's index: 60-250 ms of
// a core every few seconds on the benchmark's store, growing with the
// table. River's own migrations have no such index and create the table
// after goose's, so it is added here, after them, and only once.
const riverDueIndex = `CREATE INDEX IF NOT EXISTS river_job_due_idx ON river_job (scheduled_at)
	WHERE state IN ('retryable', 'scheduled')`
