package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/jobs"
)

// DeliverArgs is the River job that renders and sends one message.
type DeliverArgs struct {
	MessageID int64 `json:"message_id"`
}

// Kind is the River job kind of a delivery.
func (DeliverArgs) Kind() string { return "mail.deliver" }

// deliverMaxAttempts spreads retries over about a day with the queue's
// doubling backoff, so a mail server down for hours still gets the mail.
const deliverMaxAttempts = 12

// Outbox writes emails to the messages table together with their delivery
// jobs, inside the caller's transaction.
type Outbox struct {
	q *jobs.Queue
}

// NewOutbox returns an outbox that inserts delivery jobs into q.
func NewOutbox(q *jobs.Queue) *Outbox { return &Outbox{q: q} }

// Queue records m in tx and inserts its delivery job in the same
// transaction, so the email goes out only if tx commits. A second Queue with
// an already used DedupeKey does nothing and returns nil. It returns a
// fault.Field error when To is not an email address, Kind is empty or
// DedupeKey is empty.
func (o *Outbox) Queue(ctx context.Context, tx *sqlx.Tx, m Queued) error {
	var f fault.Fields
	if m.Kind == "" {
		f.Add("kind", "must not be empty")
	}
	if m.DedupeKey == "" {
		f.Add("dedupe_key", "must not be empty")
	}
	to, err := netmail.ParseAddress(strings.TrimSpace(m.To))
	if err != nil {
		f.Add("to", "must be an email address")
	}
	if err := f.Err(); err != nil {
		return err
	}
	var id int64
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO messages (kind, dedupe_key, to_address, customer_id, order_id, shipment_id)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id`,
		m.Kind, m.DedupeKey, to.Address, nullID(m.CustomerID), nullID(m.OrderID), nullID(m.ShipmentID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // already queued for this cause
	}
	if err != nil {
		return fmt.Errorf("mail: queue %s: %w", m.Kind, err)
	}
	if err := o.q.InsertTx(ctx, tx.Tx, DeliverArgs{MessageID: id}, &river.InsertOpts{MaxAttempts: deliverMaxAttempts}); err != nil {
		return fmt.Errorf("mail: queue %s: %w", m.Kind, err)
	}
	return nil
}

// nullID stores 0 as NULL, since the id columns are foreign keys.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
