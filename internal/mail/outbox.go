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
	_, err := o.QueueID(ctx, tx, m)
	return err
}

// QueueID is Queue that also returns the id of the message: the new one, or
// the one queued before with the same DedupeKey.
func (o *Outbox) QueueID(ctx context.Context, tx *sqlx.Tx, m Queued) (int64, error) {
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
		return 0, err
	}
	var id int64
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO messages (kind, dedupe_key, to_address, customer_id, order_id, shipment_id, marketing)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id`,
		m.Kind, m.DedupeKey, to.Address, nullID(m.CustomerID), nullID(m.OrderID), nullID(m.ShipmentID), m.Marketing).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Already queued for this cause.
		if err := tx.GetContext(ctx, &id, `SELECT id FROM messages WHERE dedupe_key = $1`, m.DedupeKey); err != nil {
			return 0, fmt.Errorf("mail: queue %s: find earlier message: %w", m.Kind, err)
		}
		return id, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mail: queue %s: %w", m.Kind, err)
	}
	if err := o.q.InsertTx(ctx, tx.Tx, DeliverArgs{MessageID: id}, &river.InsertOpts{MaxAttempts: deliverMaxAttempts, Queue: jobs.QueueMail}); err != nil {
		return 0, fmt.Errorf("mail: queue %s: %w", m.Kind, err)
	}
	return id, nil
}

// nullID stores 0 as NULL, since the id columns are foreign keys.
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
