// Package db opens Aftercare's PostgreSQL pool, bounded so that a silent
// network cannot hang a request, and runs the migrations.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	neturl "net/url"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Options bounds the pool.
type Options struct {
	MaxConns int
	// StatementTimeout is PostgreSQL's statement_timeout for every session.
	StatementTimeout time.Duration
	// IOTimeout bounds each network read or write: lib/pq ignores context
	// deadlines once a query is on the wire, so a dead peer is cut off here.
	IOTimeout time.Duration
	// HotStatements, when above 0, is how many of the hot statements (Stmt,
	// Select, Get) may hold a connection at once: the rest wait in line at
	// the pool's Gate. At most MaxConns.
	HotStatements int
}

// Open connects to url and checks the connection.
func Open(ctx context.Context, url string, o Options) (*sqlx.DB, error) {
	if o.MaxConns == 0 {
		o.MaxConns = 20
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.IOTimeout == 0 {
		o.IOTimeout = o.StatementTimeout + 15*time.Second
	}
	dsn, err := withParam(url, "statement_timeout", fmt.Sprint(o.StatementTimeout.Milliseconds()))
	if err != nil {
		return nil, err
	}
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: parse url: %w", err)
	}
	connector.Dialer(deadlineDialer{d: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}, io: o.IOTimeout})
	sqldb := sql.OpenDB(cachingConnector{connector}) // River's statements prepared per connection
	sqldb.SetMaxOpenConns(o.MaxConns)
	sqldb.SetMaxIdleConns(o.MaxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	sqldb.SetConnMaxLifetime(time.Hour)
	db := sqlx.NewDb(sqldb, "postgres")
	if o.HotStatements > 0 {
		gates.Store(db, NewGate(min(o.HotStatements, o.MaxConns)))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return db, nil
}

// InTx runs fn in a transaction, committing when it returns nil.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// withParam adds a run-time parameter to a postgres URL unless it is set.
func withParam(raw, key, value string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("db: parse url: %w", err)
	}
	q := u.Query()
	if q.Get(key) == "" {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// deadlineDialer gives every connection a read/write deadline per operation.
type deadlineDialer struct {
	d  net.Dialer
	io time.Duration
}

func (d deadlineDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d deadlineDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, io: d.io}, nil
}

type deadlineConn struct {
	net.Conn
	io time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.io)) //nolint:errcheck // a closed conn fails the read anyway
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.io)) //nolint:errcheck // a closed conn fails the write anyway
	return c.Conn.Write(b)
}
