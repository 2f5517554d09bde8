package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// TestRiversStatementsArePreparedOncePerConnection runs River-style
// statements (sqlc's "-- name:" header) and others on a pool of one
// connection and reads what that connection holds prepared.
func TestRiversStatementsArePreparedOncePerConnection(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, pgtest.URL(t), db.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	prepared := func() (n int, river int) {
		t.Helper()
		if err := pool.QueryRow(`SELECT count(*), count(*) FILTER (WHERE statement LIKE '-- name: %') FROM pg_prepared_statements`).Scan(&n, &river); err != nil {
			t.Fatal(err)
		}
		return n, river
	}
	if _, err := pool.Exec(`CREATE TABLE t (id int PRIMARY KEY, v text)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := pool.Exec("-- name: TInsert :exec\nINSERT INTO t (id, v) VALUES ($1, $2)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := pool.QueryRow("-- name: TGet :one\nSELECT v FROM t WHERE id = $1", i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("TGet %d: %q, %v", i, v, err)
		}
		if err := pool.QueryRow(`SELECT v FROM t WHERE id = $1`, i).Scan(&v); err != nil {
			t.Fatal(err)
		}
	}
	if n, river := prepared(); n != 2 || river != 2 {
		t.Fatalf("%d statements prepared, %d of them River's; want River's two only", n, river)
	}

	// A migration that changes what a kept statement returns: the run that
	// meets it fails (as an unprepared one racing the migration could), the
	// next prepares it again.
	if _, err := pool.Exec(`ALTER TABLE t ADD COLUMN w int`); err != nil {
		t.Fatal(err)
	}
	get := "-- name: TAll :many\nSELECT * FROM t WHERE id >= $1 ORDER BY id"
	rows, err := pool.Query(get, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if _, err := pool.Exec(`ALTER TABLE t ADD COLUMN x int`); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for range 3 {
		rows, err := pool.Query(get, 0)
		if err != nil {
			failures++
			continue
		}
		cols, _ := rows.Columns()
		rows.Close()
		if len(cols) != 4 {
			t.Fatalf("columns %v after the migration", cols)
		}
	}
	if failures > 1 {
		t.Fatalf("%d of 3 runs failed after the migration: the stale statement was kept", failures)
	}
}

// TestRiversStatementsKeptAreBounded runs more distinct River-style
// statements than a connection keeps.
func TestRiversStatementsKeptAreBounded(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, pgtest.URL(t), db.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for i := range 300 {
		var n int
		if err := pool.QueryRow(fmt.Sprintf("-- name: Q%d :one\nSELECT $1::int + %d", i, i), 1).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("Q%d: %d, %v", i, n, err)
		}
	}
	var kept int
	if err := pool.QueryRow(`SELECT count(*) FROM pg_prepared_statements`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != db.MaxCached {
		t.Fatalf("%d statements kept after 300, want the bound %d", kept, db.MaxCached)
	}
}
