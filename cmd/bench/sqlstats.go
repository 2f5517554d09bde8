package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aftercare/aftercare/internal/bench"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal"
)

// enableStatements turns pg_stat_statements on in the kept cluster (it must
// be preloaded, so the server restarts once) for -sqlstats.
func (c *cluster) enableStatements(ctx context.Context, dir string, log io.Writer) error {
	var libs string
	if err := c.db.GetContext(ctx, &libs, `SHOW shared_preload_libraries`); err != nil {
		return err
	}
	if !strings.Contains(libs, "pg_stat_statements") {
		fmt.Fprintln(log, "restarting PostgreSQL with pg_stat_statements")
		if _, err := c.db.ExecContext(ctx, `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`); err != nil {
			return err
		}
		c.db.Close()
		if err := c.pg.Stop(); err != nil {
			return err
		}
		pg, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
		if err != nil {
			return err
		}
		c.pg, c.url = pg, pg.URL("postgres")
		if c.db, err = db.Open(ctx, c.url, db.Options{MaxConns: 8}); err != nil {
			return err
		}
	}
	_, err := c.db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	return err
}

// sqlStats resets pg_stat_statements before load and writes the statements
// that took the most time during it to <dir>/<run>-<name>.sql.txt. A nil
// stats does nothing but run load.
type sqlStats struct {
	c        *cluster
	dir, run string
}

func (s *sqlStats) during(ctx context.Context, name string, load func() bench.Result) bench.Result {
	if s == nil {
		return load()
	}
	if _, err := s.c.db.ExecContext(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		fmt.Fprintln(os.Stderr, "sqlstats:", err)
		return load()
	}
	r := load()
	var rows []struct {
		Calls int64   `db:"calls"`
		Total float64 `db:"total"`
		Mean  float64 `db:"mean"`
		Rows  int64   `db:"rows"`
		Query string  `db:"query"`
	}
	err := s.c.db.SelectContext(ctx, &rows, `SELECT calls, total_exec_time + total_plan_time AS total, mean_exec_time + mean_plan_time AS mean, rows,
		regexp_replace(query, '\s+', ' ', 'g') AS query
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25`)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sqlstats:", err)
		return r
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %10s %9s %8s  query\n", "calls", "total ms", "mean ms", "rows")
	for _, q := range rows {
		fmt.Fprintf(&b, "%-8d %10.0f %9.3f %8d  %s\n", q.Calls, q.Total, q.Mean, q.Rows, q.Query)
	}
	path := filepath.Join(s.dir, s.run+"-"+name+".sql.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "sqlstats:", err)
	}
	return r
}
