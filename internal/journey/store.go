package journey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

const stepColumns = `id, kind, key, customer_id, COALESCE(order_id, 0) AS order_id, COALESCE(shipment_id, 0) AS shipment_id,
	COALESCE(order_item_id, 0) AS order_item_id, due_at, state, reason, COALESCE(message_id, 0) AS message_id`

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// insertStep adds st unless its key exists; it returns the step's id and
// whether it was inserted.
func insertStep(ctx context.Context, tx *sqlx.Tx, st Step) (int64, bool, error) {
	var id int64
	err := tx.GetContext(ctx, &id, `INSERT INTO journey_steps (kind, key, customer_id, order_id, shipment_id, order_item_id, due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING id`,
		st.Kind, st.Key, st.CustomerID, nullID(st.OrderID), nullID(st.ShipmentID), nullID(st.OrderItemID), st.DueAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("journey: schedule %s: %w", st.Key, err)
	}
	return id, true, nil
}

// hastenStep moves the scheduled step with key to due if that is sooner.
func hastenStep(ctx context.Context, tx *sqlx.Tx, key string, due time.Time) (int64, bool, error) {
	var id int64
	err := tx.GetContext(ctx, &id, `UPDATE journey_steps SET due_at = $2
		WHERE key = $1 AND state = 'scheduled' AND due_at > $2 RETURNING id`, key, due)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("journey: hasten %s: %w", key, err)
	}
	return id, true, nil
}

func lockStep(ctx context.Context, tx *sqlx.Tx, id int64) (Step, error) {
	var st Step
	err := tx.GetContext(ctx, &st, `SELECT `+stepColumns+` FROM journey_steps WHERE id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fault.Errorf(fault.NotFound, "There is no journey step %d.", id)
	}
	if err != nil {
		return st, fmt.Errorf("journey: step %d: %w", id, err)
	}
	return st, nil
}

// StepByKey returns the step with key, read through q; fault.NotFound when
// there is none. Composers find their step by the message's dedupe key.
func StepByKey(ctx context.Context, q sqlx.QueryerContext, key string) (Step, error) {
	var st Step
	err := sqlx.GetContext(ctx, q, &st, `SELECT `+stepColumns+` FROM journey_steps WHERE key = $1`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fault.Errorf(fault.NotFound, "There is no journey step %s.", key)
	}
	if err != nil {
		return st, fmt.Errorf("journey: step %s: %w", key, err)
	}
	return st, nil
}

func finishStep(ctx context.Context, tx *sqlx.Tx, id int64, out Outcome, at time.Time) error {
	state := StateSent
	if out.Skip != "" || out.MessageID == 0 {
		state = StateSkipped
	}
	_, err := tx.ExecContext(ctx, `UPDATE journey_steps SET state = $2, reason = $3, message_id = $4, done_at = $5 WHERE id = $1`,
		id, state, out.Skip, nullID(out.MessageID), at)
	if err != nil {
		return fmt.Errorf("journey: finish step %d: %w", id, err)
	}
	return nil
}

func customerEmail(ctx context.Context, q sqlx.QueryerContext, id int64) (string, error) {
	var email string
	if err := sqlx.GetContext(ctx, q, &email, `SELECT email FROM customers WHERE id = $1`, id); err != nil {
		return "", fmt.Errorf("journey: customer %d: %w", id, err)
	}
	return email, nil
}

// StepRow is a step as the staff's journey page lists it.
type StepRow struct {
	Step
	Email  string `db:"email"`
	Number string `db:"number"`
}

// listSteps returns scheduled steps soonest first, then recent done ones.
func listSteps(ctx context.Context, q sqlx.QueryerContext, scheduled bool, limit int) ([]StepRow, error) {
	order := `s.done_at DESC, s.id DESC`
	cond := `s.state <> 'scheduled'`
	if scheduled {
		order, cond = `s.due_at, s.id`, `s.state = 'scheduled'`
	}
	var out []StepRow
	err := sqlx.SelectContext(ctx, q, &out, `SELECT s.id, s.kind, s.key, s.customer_id, COALESCE(s.order_id, 0) AS order_id,
		COALESCE(s.shipment_id, 0) AS shipment_id, COALESCE(s.order_item_id, 0) AS order_item_id, s.due_at, s.state, s.reason,
		COALESCE(s.message_id, 0) AS message_id, c.email, COALESCE(o.number, '') AS number
		FROM journey_steps s JOIN customers c ON c.id = s.customer_id LEFT JOIN orders o ON o.id = s.order_id
		WHERE `+cond+` ORDER BY `+order+` LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("journey: list steps: %w", err)
	}
	return out, nil
}
