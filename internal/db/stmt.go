package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Stmt is a query of a hot path prepared on first use. lib/pq sends every
// other query as an unnamed statement that PostgreSQL parses and plans again
// each time, in two round trips; a prepared one is bound and run in one, on a
// plan PostgreSQL keeps (database/sql prepares it once per pooled
// connection). When preparing fails (the database is away) the query is sent
// plainly and preparing is tried again next time.
//
// When the pool was opened with Options.HotStatements, a statement waits
// its turn at the pool's Gate before it takes a connection.
type Stmt struct {
	db    *sqlx.DB
	gate  *Gate
	query string
	mu    sync.Mutex
	stmt  *sqlx.Stmt
}

// NewStmt returns query, to be prepared on db when first used.
func NewStmt(db *sqlx.DB, query string) *Stmt {
	return &Stmt{db: db, gate: GateOf(db), query: query}
}

// enter waits at the gate, if any; the caller calls leave when the
// statement has given its connection back.
func (s *Stmt) enter(ctx context.Context) error {
	if s.gate == nil {
		return nil
	}
	if err := s.gate.Enter(ctx); err != nil {
		return fmt.Errorf("db: wait for a connection: %w", err)
	}
	return nil
}

func (s *Stmt) leave() {
	if s.gate != nil {
		s.gate.Leave()
	}
}

func (s *Stmt) prepared(ctx context.Context) *sqlx.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt == nil {
		// Not bound to this request's deadline: the statement outlives it.
		st, err := s.db.PreparexContext(context.WithoutCancel(ctx), s.query)
		if err == nil {
			s.stmt = st
		}
	}
	return s.stmt
}

// GetContext runs the query for one row, scanned into dest.
func (s *Stmt) GetContext(ctx context.Context, dest any, args ...any) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if st := s.prepared(ctx); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	return s.db.GetContext(ctx, dest, s.query, args...)
}

// QueryRow runs the query with args for one row and scans its columns
// into dest, one by one: for the hottest reads, which spare sqlx's mapping
// of columns to struct fields by reflection. No row is sql.ErrNoRows.
func (s *Stmt) QueryRow(ctx context.Context, args []any, dest ...any) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if st := s.prepared(ctx); st != nil {
		return st.Stmt.QueryRowContext(ctx, args...).Scan(dest...)
	}
	return s.db.QueryRowContext(ctx, s.query, args...).Scan(dest...)
}

// Query runs the query with args and hands its rows to scan, which reads
// them column by column as in QueryRow; the rows are closed after it.
func (s *Stmt) Query(ctx context.Context, scan func(*sql.Rows) error, args ...any) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	var rows *sql.Rows
	var err error
	if st := s.prepared(ctx); st != nil {
		rows, err = st.Stmt.QueryContext(ctx, args...)
	} else {
		rows, err = s.db.QueryContext(ctx, s.query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scan(rows); err != nil {
		return err
	}
	return rows.Err()
}

// SelectContext runs the query for rows, scanned into the slice dest.
func (s *Stmt) SelectContext(ctx context.Context, dest any, args ...any) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if st := s.prepared(ctx); st != nil {
		return st.SelectContext(ctx, dest, args...)
	}
	return s.db.SelectContext(ctx, dest, s.query, args...)
}

// ExecContext runs the statement.
func (s *Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	if st := s.prepared(ctx); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.query, args...)
}

// Close releases the statement on every connection.
func (s *Stmt) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt == nil {
		return nil
	}
	err := s.stmt.Close()
	s.stmt = nil
	if err != nil {
		return fmt.Errorf("db: close statement: %w", err)
	}
	return nil
}

// prepared holds the statements Select and Get prepared, per pool and query.
var prepared sync.Map // stmtKey -> *Stmt

type stmtKey struct {
	pool  *sqlx.DB
	query string
}

// Prepared returns query prepared on pool, made once per pool and query.
// Only for queries whose text is a constant: each distinct text is kept for
// the life of the process.
func Prepared(pool *sqlx.DB, query string) *Stmt {
	k := stmtKey{pool, query}
	if s, ok := prepared.Load(k); ok {
		return s.(*Stmt)
	}
	s, _ := prepared.LoadOrStore(k, NewStmt(pool, query))
	return s.(*Stmt)
}

// Select is sqlx.SelectContext that runs a constant query as a prepared
// statement when q is the pool itself (inside a transaction it is sent as
// usual): for the reads of hot pages.
func Select(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	if pool, ok := q.(*sqlx.DB); ok {
		return Prepared(pool, query).SelectContext(ctx, dest, args...)
	}
	return sqlx.SelectContext(ctx, q, dest, query, args...)
}

// Get is sqlx.GetContext with Select's preparing.
func Get(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	if pool, ok := q.(*sqlx.DB); ok {
		return Prepared(pool, query).GetContext(ctx, dest, args...)
	}
	return sqlx.GetContext(ctx, q, dest, query, args...)
}
