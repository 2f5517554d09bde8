package integrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Resources remembers, per provider, what Aftercare knows of the other
// system's records (webhook_resources): the newest version of each that
// was applied, and which of our records it became.
type Resources struct {
	db *sqlx.DB
}

// NewResources returns the resource memory over db.
func NewResources(db *sqlx.DB) *Resources { return &Resources{db: db} }

// Advance records that version of the resource (provider, kind, id) is
// being applied and reports whether it is at least as new as every version
// applied before. Providers deliver out of order; an older update that
// arrives late must not overwrite a newer one. A zero version always
// advances without being recorded (the provider gave no time).
func (r *Resources) Advance(ctx context.Context, provider, kind, externalID string, version time.Time) (bool, error) {
	if version.IsZero() {
		return true, nil
	}
	var ok bool
	err := r.db.GetContext(ctx, &ok, `
		INSERT INTO webhook_resources (provider, kind, external_id, version) VALUES ($1, $2, $3, $4)
		ON CONFLICT (provider, kind, external_id) DO UPDATE
		SET version = EXCLUDED.version, updated_at = now()
		WHERE webhook_resources.version IS NULL OR webhook_resources.version <= EXCLUDED.version
		RETURNING true`, provider, kind, externalID, version)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("integrations: advance %s %s %s: %w", provider, kind, externalID, err)
	}
	return ok, nil
}

// Link records that the resource (provider, kind, id) became our record
// internalID (a Shopify fulfillment, our shipment).
func (r *Resources) Link(ctx context.Context, provider, kind, externalID string, internalID int64) error {
	_, err := r.db.ExecContext(ctx, `
		INSERT INTO webhook_resources (provider, kind, external_id, internal_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (provider, kind, external_id) DO UPDATE SET internal_id = EXCLUDED.internal_id, updated_at = now()`,
		provider, kind, externalID, internalID)
	if err != nil {
		return fmt.Errorf("integrations: link %s %s %s: %w", provider, kind, externalID, err)
	}
	return nil
}

// Linked returns the record the resource became, and false if none.
func (r *Resources) Linked(ctx context.Context, provider, kind, externalID string) (int64, bool, error) {
	var id sql.NullInt64
	err := r.db.GetContext(ctx, &id, `SELECT internal_id FROM webhook_resources
		WHERE provider = $1 AND kind = $2 AND external_id = $3`, provider, kind, externalID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("integrations: linked %s %s %s: %w", provider, kind, externalID, err)
	}
	return id.Int64, id.Valid, nil
}

// OrderByPayment returns the id of the order paid by reference (a Stripe
// PaymentIntent or charge id, as stored in orders.payment_reference), and
// false when there is none. Several orders of one payment cannot be told
// apart: the oldest is taken.
func (r *Resources) OrderByPayment(ctx context.Context, reference string) (int64, bool, error) {
	if reference == "" {
		return 0, false, nil
	}
	var id int64
	err := r.db.GetContext(ctx, &id, `SELECT id FROM orders WHERE payment_reference = $1 ORDER BY id LIMIT 1`, reference)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("integrations: order paid by %s: %w", reference, err)
	}
	return id, true, nil
}
