package journey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// Preferences is what a customer gets by email. Order updates always go;
// Marketing (review requests, reminders, offers, recommendations, invites)
// needs consent and no unsubscribe.
type Preferences struct {
	CustomerID int64
	Email      string
	Marketing  bool
}

// ErrUnknownLink is shown for a preferences or unsubscribe link we did not
// sign, or whose customer no longer exists.
var ErrUnknownLink = fault.Errorf(fault.NotFound, "This link is not valid. Please use the link from one of our emails.")

// Preferences returns customerID's email preferences.
func (e *Engine) Preferences(ctx context.Context, customerID int64) (Preferences, error) {
	var row struct {
		Email        string       `db:"email"`
		Consent      bool         `db:"marketing_consent"`
		Unsubscribed sql.NullTime `db:"unsubscribed_at"`
	}
	err := e.db.GetContext(ctx, &row, `SELECT email, marketing_consent, unsubscribed_at FROM customers WHERE id = $1`, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return Preferences{}, ErrUnknownLink
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("journey: preferences of customer %d: %w", customerID, err)
	}
	return Preferences{CustomerID: customerID, Email: row.Email, Marketing: row.Consent && !row.Unsubscribed.Valid}, nil
}

// SetMarketing records customerID's choice: everything (consent, and any
// unsubscribe lifted) or only order updates (unsubscribed now). Choosing
// everything on this page is the customer's own consent. The change is
// audited with the customer as actor.
func (e *Engine) SetMarketing(ctx context.Context, customerID int64, everything bool) error {
	return db.InTx(ctx, e.db, func(tx *sqlx.Tx) error {
		return setMarketing(ctx, tx, customerID, everything, e.now())
	})
}

func setMarketing(ctx context.Context, tx *sqlx.Tx, customerID int64, everything bool, now time.Time) error {
	query := `UPDATE customers SET marketing_consent = true, unsubscribed_at = NULL, updated_at = now() WHERE id = $1`
	action := "customer.subscribed"
	args := []any{customerID}
	if !everything {
		query = `UPDATE customers SET unsubscribed_at = COALESCE(unsubscribed_at, $2), updated_at = now() WHERE id = $1`
		action, args = "customer.unsubscribed", append(args, now)
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("journey: set preferences of customer %d: %w", customerID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrUnknownLink
	}
	return audit.Record(ctx, tx, audit.Shopper(customerID), action, fmt.Sprintf("customer:%d", customerID), nil)
}

// Unsubscribe stops marketing email to customerID and records it against
// message messageID when that is an email of theirs (0: none). Unsubscribing
// twice is harmless.
func (e *Engine) Unsubscribe(ctx context.Context, customerID, messageID int64) error {
	now := e.now()
	return db.InTx(ctx, e.db, func(tx *sqlx.Tx) error {
		if err := setMarketing(ctx, tx, customerID, false, now); err != nil {
			return err
		}
		if messageID == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO message_events (message_id, kind, created_at)
			SELECT id, 'unsubscribe', $3 FROM messages WHERE id = $1 AND customer_id = $2`, messageID, customerID, now)
		if err != nil {
			return fmt.Errorf("journey: record unsubscribe from message %d: %w", messageID, err)
		}
		return nil
	})
}
