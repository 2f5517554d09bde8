package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// TestStatementsGiveTheirPlaceBack runs every kind of hot statement, with
// and without errors, on a pool with a gate of two, and checks the places
// all came back.
func TestStatementsGiveTheirPlaceBack(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, pgtest.URL(t), db.Options{MaxConns: 4, HotStatements: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	g := db.GateOf(pool)
	ok := db.NewStmt(pool, `SELECT n FROM generate_series(1, 3) n WHERE n >= $1`)
	bad := db.NewStmt(pool, `SELECT 1 / (n - n) FROM generate_series(1, 3) n WHERE n >= $1`)
	scanErr := errors.New("scan gave up")
	for range 5 {
		var n int
		if err := ok.QueryRow(ctx, []any{2}, &n); err != nil || n != 2 {
			t.Fatalf("QueryRow: %d, %v", n, err)
		}
		if err := ok.QueryRow(ctx, []any{9}, &n); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("QueryRow with no row: %v", err)
		}
		if err := bad.QueryRow(ctx, []any{1}, &n); err == nil {
			t.Fatal("QueryRow of a failing statement: no error")
		}
		var got []int
		err := ok.Query(ctx, func(rows *sql.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&n); err != nil {
					return err
				}
				got = append(got, n)
			}
			return nil
		}, 1)
		if err != nil || len(got) != 3 {
			t.Fatalf("Query: %v, %v", got, err)
		}
		if err := ok.Query(ctx, func(*sql.Rows) error { return scanErr }, 1); !errors.Is(err, scanErr) {
			t.Fatalf("Query whose scan fails: %v", err)
		}
		if err := bad.Query(ctx, func(rows *sql.Rows) error {
			for rows.Next() {
			}
			return nil
		}, 1); err == nil {
			t.Fatal("Query of a failing statement: no error")
		}
		var all []int
		if err := ok.SelectContext(ctx, &all, 1); err != nil || len(all) != 3 {
			t.Fatalf("SelectContext: %v, %v", all, err)
		}
		if err := ok.GetContext(ctx, &n, 3); err != nil || n != 3 {
			t.Fatalf("GetContext: %d, %v", n, err)
		}
		if _, err := bad.ExecContext(ctx, 1); err == nil {
			t.Fatal("ExecContext of a failing statement: no error")
		}
	}
	db.CheckFree(t, g, 2)

	// A statement whose request has ended waits no longer.
	if err := g.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	var n int
	if err := ok.QueryRow(done, []any{1}, &n); !errors.Is(err, context.Canceled) {
		t.Fatalf("QueryRow behind a full gate with its context ended: %v", err)
	}
	g.Leave()
	g.Leave()
	db.CheckFree(t, g, 2)
}

// TestOpenGivesThePoolItsGate checks that the hot statements of a pool
// opened with HotStatements share one gate, capped by the pool's size.
func TestOpenGivesThePoolItsGate(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, pgtest.URL(t), db.Options{MaxConns: 3, HotStatements: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	g := db.GateOf(pool)
	if g == nil {
		t.Fatal("no gate")
	}
	db.CheckFree(t, g, 3)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	for range 3 {
		if err := g.Enter(ctx); err != nil {
			t.Fatal(err)
		}
		defer g.Leave()
	}
	if err := g.Enter(short); err == nil {
		t.Fatal("a fourth place in a gate capped at the pool's 3 connections")
	}
	// A statement of the pool waits at that gate: it cannot run now.
	var n int
	if err := db.Prepared(pool, `SELECT 2`).GetContext(short, &n); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a statement past a full gate: %d, %v", n, err)
	}
	plain, err := db.Open(ctx, pgtest.URL(t), db.Options{MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if db.GateOf(plain) != nil {
		t.Fatal("a pool opened without HotStatements has a gate")
	}
}
