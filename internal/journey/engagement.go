package journey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
)

// Clicked is a message whose link a shopper clicked, as click hooks see it.
type Clicked struct {
	MessageID  int64        `db:"id"`
	Kind       string       `db:"kind"`
	DedupeKey  string       `db:"dedupe_key"`
	CustomerID int64        `db:"customer_id"`
	OrderID    int64        `db:"order_id"`
	ShipmentID int64        `db:"shipment_id"`
	SentAt     sql.NullTime `db:"sent_at"`
	At         time.Time
}

// scannerWindow is how soon after sending a click is taken for a mail
// scanner's (Outlook Safe Links and the like fetch every link as the mail
// arrives): it is recorded, but triggers nothing.
const scannerWindow = 5 * time.Minute

// ClickHook reacts inside tx to a click in an email of one kind: the
// engagement trigger (a shopper clicked the review request but did not
// review, so the reminder may come sooner).
type ClickHook func(ctx context.Context, tx *sqlx.Tx, c Clicked) error

// OnClick registers h for clicks in emails of kind, at wiring time.
func (e *Engine) OnClick(kind string, h ClickHook) {
	e.clicks[kind] = append(e.clicks[kind], h)
}

// RecordOpen records that message id was opened (its pixel was fetched).
// An unknown message records nothing.
func (e *Engine) RecordOpen(ctx context.Context, id int64) error {
	_, err := e.db.ExecContext(ctx, `INSERT INTO message_events (message_id, kind, created_at)
		SELECT id, 'open', $2 FROM messages WHERE id = $1`, id, e.now())
	if err != nil {
		return fmt.Errorf("journey: record open of message %d: %w", id, err)
	}
	return nil
}

// RecordClick records a click on target in message id and runs the click
// hooks of the message's kind, in one transaction; a click within minutes
// of sending is likely a mail scanner's and runs no hooks. An unknown
// message records nothing.
func (e *Engine) RecordClick(ctx context.Context, id int64, target string) error {
	now := e.now()
	return db.InTx(ctx, e.db, func(tx *sqlx.Tx) error {
		var c Clicked
		err := tx.GetContext(ctx, &c, `SELECT id, kind, dedupe_key, COALESCE(customer_id, 0) AS customer_id,
			COALESCE(order_id, 0) AS order_id, COALESCE(shipment_id, 0) AS shipment_id, sent_at FROM messages WHERE id = $1`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("journey: clicked message %d: %w", id, err)
		}
		c.At = now
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_events (message_id, kind, url, created_at) VALUES ($1, 'click', $2, $3)`,
			id, clip(target, 2000), now); err != nil {
			return fmt.Errorf("journey: record click in message %d: %w", id, err)
		}
		if !c.SentAt.Valid || now.Sub(c.SentAt.Time) < scannerWindow {
			return nil
		}
		for _, h := range e.clicks[c.Kind] {
			if err := h(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
