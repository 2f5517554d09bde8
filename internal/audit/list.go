package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Entry is one stored audit entry.
type Entry struct {
	ID        int64           `db:"id"`
	Actor     string          `db:"actor"`
	Action    string          `db:"action"`
	Subject   string          `db:"subject"`
	Detail    json.RawMessage `db:"detail"`
	CreatedAt time.Time       `db:"created_at"`
}

// DetailText is the detail as compact JSON, "" when it is empty ({}).
func (e Entry) DetailText() string {
	var b bytes.Buffer
	if err := json.Compact(&b, e.Detail); err != nil {
		return string(e.Detail)
	}
	if s := b.String(); s != "{}" {
		return s
	}
	return ""
}

// Filter narrows List. Empty fields match everything.
type Filter struct {
	Actor string // exact: "staff:3", "system"
	// Action matches exactly or as a dotted prefix: "return" matches
	// "return.approved" and "return.refunded", not "returnal.x".
	Action  string
	Subject string // exact: "return:12"
	Before  int64  // only entries with a smaller id (the next page); 0 = newest
	Limit   int    // 1..200; 0 means DefaultLimit
}

// DefaultLimit is the page size when Filter.Limit is 0.
const DefaultLimit = 50

// Page is one page of entries, newest first. Older is the Before of the next
// page, or 0 when this page is the last.
type Page struct {
	Entries []Entry
	Older   int64
}

// List returns the entries matching f, newest first, one page at a time
// (keyset pagination on id, so new entries do not shift the pages).
func List(ctx context.Context, q sqlx.QueryerContext, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, 200)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		where = append(where, "actor = "+arg(a))
	}
	if a := strings.TrimSuffix(strings.TrimSpace(f.Action), "."); a != "" {
		p := arg(a)
		where = append(where, "(action = "+p+" OR left(action, length("+p+") + 1) = "+p+" || '.')")
	}
	if s := strings.TrimSpace(f.Subject); s != "" {
		where = append(where, "subject = "+arg(s))
	}
	if f.Before > 0 {
		where = append(where, "id < "+arg(f.Before))
	}
	query := `SELECT id, actor, action, subject, detail, created_at FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// One more row than the page tells whether an older page exists.
	query += " ORDER BY id DESC LIMIT " + arg(limit+1)
	var rows []Entry
	if err := sqlx.SelectContext(ctx, q, &rows, query, args...); err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	p := Page{Entries: rows}
	if len(rows) > limit {
		p.Entries = rows[:limit]
		p.Older = p.Entries[limit-1].ID
	}
	return p, nil
}

// Actions returns the distinct actions recorded so far, sorted, for a
// filter's suggestions. At most 500.
func Actions(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
	var out []string
	if err := sqlx.SelectContext(ctx, q, &out, `SELECT DISTINCT action FROM audit_log ORDER BY action LIMIT 500`); err != nil {
		return nil, fmt.Errorf("audit: actions: %w", err)
	}
	return out, nil
}
