package integrations

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/settings"
)

// checkoutRow is a stored abandoned checkout.
type checkoutRow struct {
	ID           int64      `db:"id"`
	Source       string     `db:"source"`
	ExternalID   string     `db:"external_id"`
	Email        string     `db:"email"`
	Name         string     `db:"name"`
	Currency     string     `db:"currency"`
	TotalMinor   int64      `db:"total_minor"`
	ItemsJSON    []byte     `db:"items"`
	RecoveryURL  string     `db:"recovery_url"`
	StartedAt    time.Time  `db:"started_at"`
	AbandonedAt  time.Time  `db:"abandoned_at"`
	CompletedAt  *time.Time `db:"completed_at"`
	Reminder     string     `db:"reminder"`
	ReminderNote string     `db:"reminder_note"`
	RemindedAt   *time.Time `db:"reminded_at"`
}

// items decodes the stored cart; a damaged one reads as empty.
func (r checkoutRow) items() []CheckoutItem {
	var items []CheckoutItem
	if err := json.Unmarshal(r.ItemsJSON, &items); err != nil {
		return nil
	}
	return items
}

// link is where the reminder sends the shopper: the provider's recovery
// URL, else the store's address from the settings, else "".
func (r checkoutRow) link(ctx context.Context, q sqlx.QueryerContext) (string, error) {
	if r.RecoveryURL != "" {
		return r.RecoveryURL, nil
	}
	s, err := settings.Load(ctx, q)
	return s.StoreURL, err
}

const checkoutColumns = `id, source, external_id, email, name, currency, total_minor, items, recovery_url,
	started_at, abandoned_at, completed_at, reminder, reminder_note, reminded_at`

// upsertCheckout writes a checkout by (source, external_id). Updates keep
// the earliest start and the latest activity, never forget an email, a
// recovery link or a completion, and cancel a pending reminder once the
// checkout is completed.
func upsertCheckout(ctx context.Context, q sqlx.QueryerContext, ch Checkout) (checkoutRow, error) {
	items := ch.Items
	if items == nil {
		items = []CheckoutItem{}
	}
	raw, err := json.Marshal(items)
	if err != nil {
		return checkoutRow{}, fmt.Errorf("integrations: encode checkout items: %w", err)
	}
	var row checkoutRow
	err = sqlx.GetContext(ctx, q, &row, `
		INSERT INTO abandoned_checkouts (source, external_id, email, name, currency, total_minor, items,
		                                 recovery_url, started_at, abandoned_at, completed_at, reminder, reminder_note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
		        CASE WHEN $11::timestamptz IS NULL THEN 'pending' ELSE 'cancelled' END,
		        CASE WHEN $11::timestamptz IS NULL THEN '' ELSE 'the shopper ordered' END)
		ON CONFLICT (source, external_id) DO UPDATE SET
		    email = COALESCE(NULLIF(EXCLUDED.email, ''), abandoned_checkouts.email),
		    name = COALESCE(NULLIF(EXCLUDED.name, ''), abandoned_checkouts.name),
		    currency = EXCLUDED.currency, total_minor = EXCLUDED.total_minor, items = EXCLUDED.items,
		    recovery_url = COALESCE(NULLIF(EXCLUDED.recovery_url, ''), abandoned_checkouts.recovery_url),
		    started_at = LEAST(abandoned_checkouts.started_at, EXCLUDED.started_at),
		    abandoned_at = GREATEST(abandoned_checkouts.abandoned_at, EXCLUDED.abandoned_at),
		    completed_at = COALESCE(abandoned_checkouts.completed_at, EXCLUDED.completed_at),
		    reminder = CASE WHEN abandoned_checkouts.reminder = 'pending' AND EXCLUDED.completed_at IS NOT NULL
		                    THEN 'cancelled' ELSE abandoned_checkouts.reminder END,
		    reminder_note = CASE WHEN abandoned_checkouts.reminder = 'pending' AND EXCLUDED.completed_at IS NOT NULL
		                    THEN 'the shopper ordered' ELSE abandoned_checkouts.reminder_note END,
		    updated_at = now()
		RETURNING `+checkoutColumns,
		ch.Source, ch.ExternalID, ch.Email, clip(ch.Name, 200), ch.Currency, max(ch.Total, 0), raw,
		clip(ch.RecoveryURL, 2000), ch.StartedAt, ch.AbandonedAt, ch.CompletedAt)
	if err != nil {
		return row, fmt.Errorf("integrations: record checkout %s/%s: %w", ch.Source, ch.ExternalID, err)
	}
	return row, nil
}

// completeCheckout marks a checkout completed and cancels its pending
// reminder; it reports whether the checkout exists.
func completeCheckout(ctx context.Context, q sqlx.ExecerContext, source, externalID string, at time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE abandoned_checkouts SET completed_at = COALESCE(completed_at, $3),
		reminder = CASE WHEN reminder = 'pending' THEN 'cancelled' ELSE reminder END,
		reminder_note = CASE WHEN reminder = 'pending' THEN 'the shopper ordered' ELSE reminder_note END,
		updated_at = now()
		WHERE source = $1 AND external_id = $2`, source, externalID, at)
	if err != nil {
		return false, fmt.Errorf("integrations: complete checkout %s/%s: %w", source, externalID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// lockCheckout returns a checkout locked until the transaction ends, so
// two reminder jobs cannot both decide it.
func lockCheckout(ctx context.Context, q sqlx.QueryerContext, id int64) (checkoutRow, bool, error) {
	var row checkoutRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+checkoutColumns+` FROM abandoned_checkouts WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("integrations: checkout %d: %w", id, err)
	}
	return row, true, nil
}

// checkoutByID returns a checkout, and false when there is none.
func checkoutByID(ctx context.Context, q sqlx.QueryerContext, id int64) (checkoutRow, bool, error) {
	var row checkoutRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+checkoutColumns+` FROM abandoned_checkouts WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("integrations: checkout %d: %w", id, err)
	}
	return row, true, nil
}

func setReminder(ctx context.Context, q sqlx.ExecerContext, id int64, reminder, note string) error {
	_, err := q.ExecContext(ctx, `UPDATE abandoned_checkouts SET reminder = $2, reminder_note = $3,
		reminded_at = CASE WHEN $2 = 'queued' THEN now() END, updated_at = now() WHERE id = $1`, id, reminder, note)
	if err != nil {
		return fmt.Errorf("integrations: set reminder of checkout %d: %w", id, err)
	}
	return nil
}

// orderedSince reports whether the customer with email placed an order at
// or after since: the checkout turned into an order (or another one), and a
// reminder would only annoy. It reads commerce's tables, read-only.
func orderedSince(ctx context.Context, q sqlx.QueryerContext, email string, since time.Time) (bool, error) {
	if email == "" {
		return false, nil
	}
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM orders o JOIN customers c ON c.id = o.customer_id
		WHERE c.email = $1 AND o.placed_at >= $2)`, email, since)
	if err != nil {
		return false, fmt.Errorf("integrations: orders of %s: %w", email, err)
	}
	return ok, nil
}

// consent is what the reminder needs to know about a customer.
type consent struct {
	ID               int64      `db:"id"`
	MarketingConsent bool       `db:"marketing_consent"`
	UnsubscribedAt   *time.Time `db:"unsubscribed_at"`
}

// customerConsent returns the marketing consent of the customer with email,
// and false when no customer has it.
func customerConsent(ctx context.Context, q sqlx.QueryerContext, email string) (consent, bool, error) {
	var c consent
	if email == "" {
		return c, false, nil
	}
	err := sqlx.GetContext(ctx, q, &c, `SELECT id, marketing_consent, unsubscribed_at FROM customers WHERE email = $1`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("integrations: consent of %s: %w", email, err)
	}
	return c, true, nil
}
