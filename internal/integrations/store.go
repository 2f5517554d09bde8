package integrations

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// Event is a stored delivery (a row of webhook_events).
type Event struct {
	ID          int64      `db:"id"`
	Provider    string     `db:"provider"`
	EventID     string     `db:"event_id"`
	Topic       string     `db:"topic"`
	Body        []byte     `db:"body"`
	Headers     Headers    `db:"headers"`
	ReceivedAt  time.Time  `db:"received_at"`
	ProcessedAt *time.Time `db:"processed_at"`
	Attempts    int        `db:"attempts"`
	LastError   string     `db:"last_error"`
	Outcome     string     `db:"outcome"`
	GaveUpAt    *time.Time `db:"gave_up_at"`
}

// Status is how the admin names the event's state: processed, failed (an
// error and no more retries coming), retrying (an error, retries left) or
// pending (not processed yet).
func (e Event) Status() string {
	switch {
	case e.ProcessedAt != nil:
		return "processed"
	case e.LastError != "" && e.GaveUpAt != nil:
		return "failed"
	case e.LastError != "":
		return "retrying"
	}
	return "pending"
}

// StatusLabel is Status as the admin's badge says it.
func (e Event) StatusLabel() string {
	switch e.Status() {
	case "processed":
		return "Processed"
	case "failed":
		return "Failed"
	case "retrying":
		return "Failing, retrying"
	}
	return "Waiting"
}

// StatusClass is the badge class that colours the status (app.css).
func (e Event) StatusClass() string {
	switch e.Status() {
	case "processed":
		return "delivered"
	case "failed":
		return "exception"
	case "retrying":
		return "out_for_delivery"
	}
	return ""
}

// Headers are the kept request headers of an event, by canonical name.
type Headers map[string]string

// Scan reads the jsonb column.
func (h *Headers) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*h = Headers{}
		return nil
	default:
		return fmt.Errorf("integrations: scan headers from %T", src)
	}
	return json.Unmarshal(b, (*map[string]string)(h))
}

// Value writes the headers as a JSON object.
func (h Headers) Value() (driver.Value, error) {
	if h == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]string(h))
	return string(b), err
}

const eventColumns = `id, provider, event_id, topic, body, headers, received_at, processed_at,
	attempts, last_error, outcome, gave_up_at`

// insertEvent stores a delivery unless (provider, event_id) is already
// there; then it returns 0.
func insertEvent(ctx context.Context, q sqlx.QueryerContext, provider string, id Identity, body []byte, h Headers) (int64, error) {
	var rowID int64
	err := sqlx.GetContext(ctx, q, &rowID, `
		INSERT INTO webhook_events (provider, event_id, topic, body, headers)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (provider, event_id) DO NOTHING
		RETURNING id`, provider, id.EventID, id.Topic, body, h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("integrations: store %s event %q: %w", provider, id.EventID, err)
	}
	return rowID, nil
}

// eventByID returns a stored event; fault.NotFound if there is none.
func eventByID(ctx context.Context, q sqlx.QueryerContext, id int64) (Event, error) {
	var ev Event
	err := sqlx.GetContext(ctx, q, &ev, `SELECT `+eventColumns+` FROM webhook_events WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ev, fault.Errorf(fault.NotFound, "There is no webhook event %d.", id)
	}
	if err != nil {
		return ev, fmt.Errorf("integrations: event %d: %w", id, err)
	}
	return ev, nil
}

// markProcessed records a successful attempt.
func markProcessed(ctx context.Context, q sqlx.ExecerContext, id int64, outcome string) error {
	_, err := q.ExecContext(ctx, `UPDATE webhook_events SET processed_at = now(), attempts = attempts + 1,
		outcome = $2, last_error = '', gave_up_at = NULL WHERE id = $1`, id, clip(outcome, 1000))
	if err != nil {
		return fmt.Errorf("integrations: mark event %d processed: %w", id, err)
	}
	return nil
}

// markFailed records a failed attempt, and that no retry is coming when
// gaveUp is set.
func markFailed(ctx context.Context, q sqlx.ExecerContext, id int64, msg string, gaveUp bool) error {
	_, err := q.ExecContext(ctx, `UPDATE webhook_events SET attempts = attempts + 1, last_error = $2,
		gave_up_at = CASE WHEN $3 THEN now() END WHERE id = $1`, id, clip(msg, 2000), gaveUp)
	if err != nil {
		return fmt.Errorf("integrations: mark event %d failed: %w", id, err)
	}
	return nil
}

// markReplayed clears the given-up mark of an event that staff queued again.
func markReplayed(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	_, err := q.ExecContext(ctx, `UPDATE webhook_events SET gave_up_at = NULL WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("integrations: mark event %d replayed: %w", id, err)
	}
	return nil
}

// EventFilter narrows ListEvents. Empty fields match everything.
type EventFilter struct {
	Provider string
	// Status is "", "failed" (an error and not processed: retrying or given
	// up), "pending" (not processed, no error) or "processed".
	Status string
	Before int64 // only events with a smaller id (the next page)
	Limit  int   // 1..200; 0 means 50
}

// EventPage is one page of events, newest first; Older is the Before of the
// next page, 0 when this is the last.
type EventPage struct {
	Events []Event
	Older  int64
}

// listEvents returns the events matching f without their bodies.
func listEvents(ctx context.Context, q sqlx.QueryerContext, f EventFilter) (EventPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Provider != "" {
		where = append(where, "provider = "+arg(f.Provider))
	}
	switch f.Status {
	case "failed":
		where = append(where, "processed_at IS NULL AND last_error <> ''")
	case "pending":
		where = append(where, "processed_at IS NULL AND last_error = ''")
	case "processed":
		where = append(where, "processed_at IS NOT NULL")
	}
	if f.Before > 0 {
		where = append(where, "id < "+arg(f.Before))
	}
	query := `SELECT id, provider, event_id, topic, ''::bytea AS body, headers, received_at, processed_at,
		attempts, last_error, outcome, gave_up_at FROM webhook_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT " + arg(limit+1)
	var rows []Event
	if err := sqlx.SelectContext(ctx, q, &rows, query, args...); err != nil {
		return EventPage{}, fmt.Errorf("integrations: list events: %w", err)
	}
	p := EventPage{Events: rows}
	if len(rows) > limit {
		p.Events = rows[:limit]
		p.Older = p.Events[limit-1].ID
	}
	return p, nil
}

// clip makes s storable text (valid UTF-8 without NUL, which PostgreSQL
// refuses) of at most n bytes, not splitting a UTF-8 sequence.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
