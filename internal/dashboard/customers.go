package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
)

// Customers is the staff's customer look-up and its support actions.
type Customers struct {
	db     *sqlx.DB
	outbox *mail.Outbox
}

// NewCustomers returns the look-up; outbox queues the emails staff resend.
func NewCustomers(db *sqlx.DB, outbox *mail.Outbox) *Customers {
	return &Customers{db: db, outbox: outbox}
}

// Search finds up to 50 customers whose email or name contains q, or who
// placed the order numbered q ("1001" or "#1001"). A blank q finds nothing.
func (s *Customers) Search(ctx context.Context, q string) ([]CustomerHit, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	if len(q) > 200 {
		return nil, fault.Field("q", "must be at most 200 characters")
	}
	return searchCustomers(ctx, s.db, q)
}

// Customer returns the customer page's data, or fault.NotFound.
func (s *Customers) Customer(ctx context.Context, id int64) (Customer, error) {
	return loadCustomer(ctx, s.db, id)
}

// ResendSignInLink queues a fresh sign-in email (kind login_link; the link
// is made when it is delivered) to the customer, recorded as
// "customer.login_link_sent" by actor. It returns fault.NotFound for an
// unknown customer and fault.Invalid for an erased one.
func (s *Customers) ResendSignInLink(ctx context.Context, id int64, actor string) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var email string
		err := tx.GetContext(ctx, &email, `SELECT email FROM customers WHERE id = $1`, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Errorf(fault.NotFound, "There is no such customer.")
		}
		if err != nil {
			return fmt.Errorf("dashboard: customer %d: %w", id, err)
		}
		if strings.HasSuffix(email, "@invalid") {
			return fault.Errorf(fault.Invalid, "This customer's data was erased; there is no address to write to.")
		}
		key := "login_link:staff:" + uuid.NewString()
		if err := s.outbox.Queue(ctx, tx, mail.Queued{Kind: "login_link", DedupeKey: key, To: email, CustomerID: id}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "customer.login_link_sent", "customer:"+strconv.FormatInt(id, 10), nil)
	})
}

// ResendEmail queues a copy of the customer's message messageID (same kind,
// address, order and shipment, a new dedupe key; composed afresh when
// delivered), recorded as "message.resent" by actor. It returns
// fault.NotFound when the message is not the customer's.
func (s *Customers) ResendEmail(ctx context.Context, customerID, messageID int64, actor string) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var m struct {
			Kind       string        `db:"kind"`
			DedupeKey  string        `db:"dedupe_key"`
			To         string        `db:"to_address"`
			OrderID    sql.NullInt64 `db:"order_id"`
			ShipmentID sql.NullInt64 `db:"shipment_id"`
			Marketing  bool          `db:"marketing"`
		}
		err := tx.GetContext(ctx, &m, `SELECT kind, dedupe_key, to_address, order_id, shipment_id, marketing
			FROM messages WHERE id = $1 AND customer_id = $2`, messageID, customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Errorf(fault.NotFound, "There is no such email for this customer.")
		}
		if err != nil {
			return fmt.Errorf("dashboard: message %d: %w", messageID, err)
		}
		if strings.HasSuffix(m.To, "@invalid") {
			return fault.Errorf(fault.Invalid, "This customer's data was erased; there is no address to write to.")
		}
		id, err := s.outbox.QueueID(ctx, tx, mail.Queued{Kind: m.Kind, DedupeKey: "resend:" + uuid.NewString(), To: m.To,
			CustomerID: customerID, OrderID: m.OrderID.Int64, ShipmentID: m.ShipmentID.Int64, Marketing: m.Marketing})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "message.resent", "customer:"+strconv.FormatInt(customerID, 10),
			map[string]any{"message": messageID, "copy": id, "kind": m.Kind})
	})
}
