package mail

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// messageColumns lists the columns of a Message; the nullable ids read as 0.
const messageColumns = `id, kind, dedupe_key, to_address, COALESCE(customer_id, 0) AS customer_id,
	COALESCE(order_id, 0) AS order_id, COALESCE(shipment_id, 0) AS shipment_id, subject, html_body, text_body,
	headers, status, attempts, last_error, rendered_at, created_at, sent_at, marketing, deferred_until`

// messageRow is a Message as scanned, with the jsonb headers still raw.
type messageRow struct {
	Message
	RawHeaders []byte `db:"headers"`
}

func (r messageRow) message() (Message, error) {
	m := r.Message
	m.Headers = map[string]string{}
	if len(r.RawHeaders) > 0 {
		if err := json.Unmarshal(r.RawHeaders, &m.Headers); err != nil {
			return m, fmt.Errorf("mail: message %d headers: %w", m.ID, err)
		}
	}
	return m, nil
}

// getMessage reads one message; with forUpdate it locks the row for the rest
// of the transaction q. A missing row is a fault.NotFound error.
func getMessage(ctx context.Context, q sqlx.QueryerContext, id int64, forUpdate bool) (Message, error) {
	query := `SELECT ` + messageColumns + ` FROM messages WHERE id = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var r messageRow
	err := sqlx.GetContext(ctx, q, &r, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fault.Errorf(fault.NotFound, "There is no message %d.", id)
	}
	if err != nil {
		return Message{}, fmt.Errorf("mail: get message %d: %w", id, err)
	}
	return r.message()
}

// listMessages returns the newest messages first.
func listMessages(ctx context.Context, q sqlx.QueryerContext, limit int) ([]Message, error) {
	var rows []messageRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+messageColumns+` FROM messages ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("mail: list messages: %w", err)
	}
	out := make([]Message, 0, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// saveRendered stores c as the content of message id unless another worker
// rendered it first; it reports whether c was stored.
func saveRendered(ctx context.Context, q sqlx.ExecerContext, id int64, c Content) (bool, error) {
	headers := c.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	raw, err := json.Marshal(headers)
	if err != nil {
		return false, fmt.Errorf("mail: message %d headers: %w", id, err)
	}
	res, err := q.ExecContext(ctx, `UPDATE messages SET subject = $2, html_body = $3, text_body = $4, headers = $5, rendered_at = now()
		WHERE id = $1 AND rendered_at IS NULL`, id, c.Subject, c.HTML, c.Text, raw)
	if err != nil {
		return false, fmt.Errorf("mail: save rendered message %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mail: save rendered message %d: %w", id, err)
	}
	return n == 1, nil
}

// setStatus records the outcome of an attempt at time at. A delivery attempt
// (sent, failed, or a retry) counts in attempts; lastError "" keeps the
// previous one, so a message sent after failures still tells why it was
// late. A message sent, or kept for the dev mailbox, gets sent_at = at: the
// frequency cap counts both.
func setStatus(ctx context.Context, q sqlx.ExecerContext, id int64, status string, attempted bool, lastError string, at time.Time) error {
	inc := 0
	if attempted {
		inc = 1
	}
	_, err := q.ExecContext(ctx, `UPDATE messages SET status = $2, attempts = attempts + $3, last_error = COALESCE(NULLIF($4, ''), last_error),
		sent_at = CASE WHEN $2 IN ('sent', 'kept') THEN $5 ELSE sent_at END
		WHERE id = $1`, id, status, inc, truncate(lastError, 2000), at)
	if err != nil {
		return fmt.Errorf("mail: set message %d %s: %w", id, status, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

// prepared is one of delivery's statements, run for every email: prepared
// on first use, PostgreSQL plans it once per pooled connection and lib/pq
// runs it in one round trip instead of two. When preparing fails (the
// database is away) the statement is sent unprepared, and preparing is
// tried again next time.
type prepared struct {
	db    *sqlx.DB
	query string
	mu    sync.Mutex
	st    *sqlx.Stmt
}

// stmt returns the prepared statement, in tx when tx is not nil, or nil
// when it cannot be prepared now.
func (p *prepared) stmt(ctx context.Context, tx *sqlx.Tx) *sqlx.Stmt {
	p.mu.Lock()
	if p.st == nil {
		// Not bound to this job's deadline: the statement outlives it.
		if st, err := p.db.PreparexContext(context.WithoutCancel(ctx), p.query); err == nil {
			p.st = st
		}
	}
	st := p.st
	p.mu.Unlock()
	if st == nil || tx == nil {
		return st
	}
	// Reuses the statement where the transaction's connection has it already.
	return tx.StmtxContext(ctx, st)
}

// get runs the query for one row, in tx unless it is nil.
func (p *prepared) get(ctx context.Context, tx *sqlx.Tx, dest any, args ...any) error {
	if st := p.stmt(ctx, tx); st != nil {
		return st.GetContext(ctx, dest, args...)
	}
	if tx != nil {
		return tx.GetContext(ctx, dest, p.query, args...)
	}
	return p.db.GetContext(ctx, dest, p.query, args...)
}

// exec runs the statement, in tx unless it is nil.
func (p *prepared) exec(ctx context.Context, tx *sqlx.Tx, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, tx); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if tx != nil {
		return tx.ExecContext(ctx, p.query, args...)
	}
	return p.db.ExecContext(ctx, p.query, args...)
}

// deliveryStatements are the statements delivery runs for every email.
type deliveryStatements struct {
	get, lock, record *prepared
	// getBatch, lockBatch and recordBatch are get, lock and record for a
	// batch.
	getBatch, lockBatch, recordBatch *prepared
}

func newDeliveryStatements(db *sqlx.DB) *deliveryStatements {
	get := `SELECT ` + messageColumns + ` FROM messages WHERE id = $1`
	return &deliveryStatements{
		get:  &prepared{db: db, query: get},
		lock: &prepared{db: db, query: get + ` FOR UPDATE`},
		// setStatus and, when $6, saveRendered in one statement: a message
		// rendered for this attempt is stored with its outcome.
		record: &prepared{db: db, query: `UPDATE messages SET status = $2, attempts = attempts + $3,
			last_error = COALESCE(NULLIF($4, ''), last_error),
			sent_at = CASE WHEN $2 IN ('sent', 'kept') THEN $5 ELSE sent_at END,
			subject = CASE WHEN $6 THEN $7 ELSE subject END,
			html_body = CASE WHEN $6 THEN $8 ELSE html_body END,
			text_body = CASE WHEN $6 THEN $9 ELSE text_body END,
			headers = CASE WHEN $6 THEN $10::jsonb ELSE headers END,
			rendered_at = CASE WHEN $6 THEN now() ELSE rendered_at END
			WHERE id = $1`},
		getBatch: &prepared{db: db, query: `SELECT ` + messageColumns + ` FROM messages WHERE id = ANY($1::bigint[])`},
		lockBatch: &prepared{db: db, query: `SELECT ` + messageColumns + ` FROM messages WHERE id = ANY($1::bigint[])
			ORDER BY id FOR NO KEY UPDATE`},
		recordBatch: &prepared{db: db, query: recordBatchQuery},
	}
}

// recordBatchQuery records the outcomes of a batch: $1 the message ids,
// $2 statuses, $3 attempts to add, $4 last errors, $5 the time, $6
// whether to store content, and the contents of all messages, in the
// order of $1, joined by the delimiter $7: the subjects ($8), the headers
// ($9), the text bodies ($10) and the HTML bodies ($11).
//
// The contents came as elements of one text array before, which
// PostgreSQL parses a character at a time (quotes, escapes, then each
// element's input function): a third of the statement's CPU time for a
// batch of rendered emails. Splitting a text on a delimiter is a search
// for it and a copy. string_to_array makes an empty array of an empty
// text, hence the COALESCEs (a batch of one message with, say, no text
// body).
const recordBatchQuery = `UPDATE messages m SET status = u.status, attempts = m.attempts + u.inc,
	last_error = COALESCE(NULLIF(u.last_error, ''), m.last_error),
	sent_at = CASE WHEN u.status IN ('sent', 'kept') THEN $5 ELSE m.sent_at END,
	subject = CASE WHEN u.store THEN COALESCE(u.subject, '') ELSE m.subject END,
	html_body = CASE WHEN u.store THEN COALESCE(u.html_body, '') ELSE m.html_body END,
	text_body = CASE WHEN u.store THEN COALESCE(u.text_body, '') ELSE m.text_body END,
	headers = CASE WHEN u.store THEN u.headers::jsonb ELSE m.headers END,
	rendered_at = CASE WHEN u.store THEN now() ELSE m.rendered_at END
	FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $6::bool[],
		string_to_array($8::text, $7::text), string_to_array($9::text, $7::text),
		string_to_array($10::text, $7::text), string_to_array($11::text, $7::text))
		AS u(id, status, inc, last_error, store, subject, headers, text_body, html_body)
	WHERE m.id = u.id`

// message reads message id through s (locked for the rest of tx when tx is
// not nil); a missing row is a fault.NotFound error.
func (s *deliveryStatements) message(ctx context.Context, tx *sqlx.Tx, id int64) (Message, error) {
	p := s.get
	if tx != nil {
		p = s.lock
	}
	var r messageRow
	err := p.get(ctx, tx, &r, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fault.Errorf(fault.NotFound, "There is no message %d.", id)
	}
	if err != nil {
		return Message{}, fmt.Errorf("mail: get message %d: %w", id, err)
	}
	return r.message()
}

// headersJSON is a message's extra headers as the messages row keeps them
// (a JSON object, {} for none).
func headersJSON(id int64, h map[string]string) (string, error) {
	if h == nil {
		return "{}", nil
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("mail: message %d headers: %w", id, err)
	}
	return string(raw), nil
}

// recordIn is setStatus in tx that also stores c as the message's content
// when c is not nil.
func (s *deliveryStatements) recordIn(ctx context.Context, tx *sqlx.Tx, id int64, status string, attempted bool, lastError string, at time.Time, c *Content) error {
	inc := 0
	if attempted {
		inc = 1
	}
	var subject, htmlBody, text string
	headers := "{}"
	if c != nil {
		var err error
		if headers, err = headersJSON(id, c.Headers); err != nil {
			return err
		}
		subject, htmlBody, text = c.Subject, c.HTML, c.Text
	}
	_, err := s.record.exec(ctx, tx, id, status, inc, truncate(lastError, 2000), at, c != nil, subject, htmlBody, text, headers)
	if err != nil {
		return fmt.Errorf("mail: set message %d %s: %w", id, status, err)
	}
	return nil
}
