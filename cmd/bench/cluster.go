package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/bench"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/demo"
	"github.com/aftercare/aftercare/internal/pglocal"
	schema "github.com/aftercare/aftercare/sql"
)

// cluster is the private PostgreSQL of a run with its seeded database.
type cluster struct {
	pg  *pglocal.Server
	url string
	db  *sqlx.DB
}

// migrationCount keys the kept cluster: a new migration means a new seed.
func migrationCount() int {
	entries, _ := fs.Glob(schema.Migrations, "migrations/*.sql")
	return len(entries)
}

// startCluster starts (or resumes) the cluster kept in var/bench/<size>-m<N>,
// migrates it and seeds it unless a finished seed is recorded there. fresh
// throws the kept cluster away first.
func startCluster(ctx context.Context, o options, log io.Writer) (*cluster, error) {
	dir := filepath.Join(o.varDir, fmt.Sprintf("%s-m%d", o.size, migrationCount()))
	if o.fresh {
		fmt.Fprintln(log, "removing the kept cluster", dir)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	if err := adoptOlder(o.varDir, o.size, dir, log); err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "starting PostgreSQL in", dir)
	pg, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
	if err != nil {
		return nil, err
	}
	c := &cluster{pg: pg, url: pg.URL("postgres")}
	c.db, err = db.Open(ctx, c.url, db.Options{MaxConns: 8, StatementTimeout: 30 * time.Minute})
	if err != nil {
		pg.Stop() //nolint:errcheck // failing anyway
		return nil, err
	}
	if err := c.prepare(ctx, o, dir, log); err != nil {
		c.Close()
		return nil, err
	}
	if o.sqlStats {
		if err := c.enableStatements(ctx, dir, log); err != nil {
			c.Close()
			return nil, fmt.Errorf("pg_stat_statements: %w", err)
		}
	}
	return c, nil
}

// adoptOlder renames the newest kept cluster of size seeded under fewer
// migrations to dir, so that prepare migrates it forward as a production
// store would be, instead of seeding again for every new migration.
func adoptOlder(varDir, size, dir string, log io.Writer) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	best, bestN := "", -1
	for n := migrationCount() - 1; n > 0 && best == ""; n-- {
		old := filepath.Join(varDir, fmt.Sprintf("%s-m%d", size, n))
		if _, err := os.Stat(filepath.Join(old, "seeded")); err == nil {
			best, bestN = old, n
		}
	}
	if best == "" {
		return nil
	}
	fmt.Fprintf(log, "migrating the cluster seeded under %d migrations (%s) forward\n", bestN, best)
	return os.Rename(best, dir)
}

// prepare migrates, seeds once, and creates the reference's table.
func (c *cluster) prepare(ctx context.Context, o options, dir string, log io.Writer) error {
	if err := db.Migrate(ctx, c.db.DB, func(string, ...any) {}); err != nil {
		return err
	}
	marker := filepath.Join(dir, "seeded")
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		t0 := time.Now()
		fmt.Fprintf(log, "seeding the %s data set (once; kept for later runs, -fresh to redo)\n", o.size)
		if err := seed(ctx, c.db, o.size, log); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if _, err := c.db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
		fmt.Fprintf(log, "seeded in %s\n", time.Since(t0).Round(time.Second))
		if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(log, "reusing the seeded data set (", marker, ")")
		// A real store's PostgreSQL runs all the time, and autovacuum
		// clears what a burst left (the journey's 20,000 rewritten
		// messages and 60,000 job versions) in the idle minutes after
		// it. The kept cluster is stopped a few seconds after each run,
		// so that work was left to the next run's first minutes, where
		// it was charged to whichever load it fell in. This stands in for
		// it.
		t0 := time.Now()
		if _, err := c.db.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
		fmt.Fprintf(log, "vacuumed what earlier runs left in %.1f s\n", time.Since(t0).Seconds())
	}
	if _, err := c.db.ExecContext(ctx, bench.FortuneSchema); err != nil {
		return fmt.Errorf("fortunes table: %w", err)
	}
	return nil
}

// Close stops the database.
func (c *cluster) Close() {
	c.db.Close()
	c.pg.Stop() //nolint:errcheck // best effort at exit
}

// signingKeys is a fresh magic-link key ring for this run's server.
func signingKeys() string {
	secret := make([]byte, 32)
	rand.Read(secret) //nolint:errcheck // never fails
	return "bench1:" + base64.StdEncoding.EncodeToString(secret)
}

// postgresVersion is the server's version string.
func (c *cluster) postgresVersion(ctx context.Context) string {
	var v string
	if err := c.db.GetContext(ctx, &v, `SHOW server_version`); err != nil {
		return "unknown"
	}
	return v
}

// seed loads the data set of size: demo.SeedLarge for large and medium, the
// small demo store (a dozen orders) for "small", a smoke test of the harness.
func seed(ctx context.Context, db *sqlx.DB, size string, log io.Writer) error {
	switch size {
	case "large":
		return demo.SeedLarge(ctx, db, demo.Large, log)
	case "medium":
		return demo.SeedLarge(ctx, db, demo.Medium, log)
	case "small":
		_, err := demo.Seed(ctx, db, commerce.NewService(db, nil))
		return err
	default:
		return fmt.Errorf("unknown size %q (large, medium or small)", size)
	}
}
