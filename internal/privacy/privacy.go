// Package privacy carries out a shopper's data rights: a download of what
// the store holds about them (JSON), and erasure, which anonymizes personal
// data while keeping orders and their totals for the books.
package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// Service exports and erases customers' data.
type Service struct{ db *sqlx.DB }

// NewService returns the data-rights service over db.
func NewService(db *sqlx.DB) *Service { return &Service{db: db} }

// ErasedEmail is the address an erased customer keeps: unique, and never
// deliverable (.invalid is reserved by RFC 2606).
func ErasedEmail(customerID int64) string {
	return "erased+" + strconv.FormatInt(customerID, 10) + "@invalid"
}

// Export returns, as indented JSON, everything the store holds about the
// customer: profile, orders with items, shipments and tracking, returns,
// reviews, referral code, referrals, rewards and the emails sent. It returns
// fault.NotFound for an unknown customer.
func (s *Service) Export(ctx context.Context, customerID int64) ([]byte, error) {
	var raw []byte
	err := s.db.GetContext(ctx, &raw, exportSQL, customerID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(raw) == 0) {
		return nil, fault.Errorf(fault.NotFound, "There is no such customer.")
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: export customer %d: %w", customerID, err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("privacy: export customer %d: %w", customerID, err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("privacy: export customer %d: %w", customerID, err)
	}
	return out, nil
}

// Erase anonymizes the customer in one transaction: email becomes
// ErasedEmail, the name, Stripe id, consent, shipping addresses, device and
// payment fingerprints, review author names, return comments and photos,
// referral identities, friend addresses and the bodies of the emails sent
// are cleared, and sessions and sign-in tokens deleted. Orders, items and
// their money stay. actor (audit.Staff or audit.Shopper) is recorded as
// "customer.erased". It returns fault.NotFound for an unknown customer;
// erasing twice is harmless.
func (s *Service) Erase(ctx context.Context, customerID int64, actor string) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var email string
		err := tx.GetContext(ctx, &email, `SELECT email FROM customers WHERE id = $1 FOR UPDATE`, customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Errorf(fault.NotFound, "There is no such customer.")
		}
		if err != nil {
			return fmt.Errorf("privacy: lock customer %d: %w", customerID, err)
		}
		erased := ErasedEmail(customerID)
		values := map[byte]any{'c': customerID, 'e': email, 'x': erased}
		for _, st := range eraseSQL {
			args := make([]any, len(st.args))
			for i := range st.args {
				args[i] = values[st.args[i]]
			}
			if _, err := tx.ExecContext(ctx, st.query, args...); err != nil {
				return fmt.Errorf("privacy: erase customer %d: %w", customerID, err)
			}
		}
		var orders int64
		if err := tx.GetContext(ctx, &orders, `SELECT count(*) FROM orders WHERE customer_id = $1`, customerID); err != nil {
			return fmt.Errorf("privacy: count orders: %w", err)
		}
		return audit.Record(ctx, tx, actor, "customer.erased", "customer:"+strconv.FormatInt(customerID, 10),
			map[string]any{"orders_kept": orders})
	})
}

// eraseSQL runs in order; args names each $n in turn: 'c' the customer
// id, 'e' the address on file, 'x' the erased address (PostgreSQL refuses
// parameters a statement does not use). Each statement names what it clears.
var eraseSQL = []struct {
	query string
	args  string
}{
	{`UPDATE messages SET to_address = $3, subject = '', html_body = '', text_body = '', headers = '{}', last_error = ''
	 WHERE customer_id = $1 OR to_address = $2`, "cex"},
	{`UPDATE message_events SET url = '' WHERE message_id IN (SELECT id FROM messages WHERE customer_id = $1 OR to_address = $2)`, "cx"},
	{`UPDATE customers SET email = $2, name = '', stripe_customer_id = NULL, marketing_consent = false,
	        unsubscribed_at = coalesce(unsubscribed_at, now()), updated_at = now() WHERE id = $1`, "cx"},
	{`UPDATE orders SET shipping_address = NULL, device_id = '', payment_fingerprint = '', updated_at = now() WHERE customer_id = $1`, "c"},
	{`UPDATE reviews SET author_name = 'Former customer', updated_at = now() WHERE customer_id = $1`, "c"},
	{`UPDATE return_items SET comment = '' WHERE return_id IN (SELECT id FROM return_requests WHERE customer_id = $1)`, "c"},
	{`DELETE FROM return_photos WHERE return_id IN (SELECT id FROM return_requests WHERE customer_id = $1)`, "c"},
	{`UPDATE referrals SET friend_email = $3, friend_email_norm = $3, device_id = '' WHERE friend_customer_id = $1 OR friend_email = $2`, "cex"},
	{`DELETE FROM referral_identities WHERE customer_id = $1`, "c"},
	{`UPDATE abandoned_checkouts SET email = '', name = '', recovery_url = '' WHERE email = $1`, "e"},
	{`UPDATE guide_views SET customer_id = NULL WHERE customer_id = $1`, "c"},
	{`DELETE FROM sessions WHERE customer_id = $1`, "c"},
	{`DELETE FROM login_tokens WHERE customer_id = $1`, "c"},
}
