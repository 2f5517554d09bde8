package returns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	acdb "github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// errReturnNotFound is the one answer for a missing return and for another
// customer's return.
var errReturnNotFound = fault.Errorf(fault.NotFound, "We couldn't find that return.")

const returnColumns = `r.id, r.rma, r.order_id, r.customer_id, r.idempotency_key, r.status, r.resolution, r.withdrawal,
	r.currency, r.value_minor, r.review_note, r.reject_reason, r.condition_note, r.resolved_method, r.resolved_minor,
	r.fee_minor, r.resolution_ref, r.resolution_error, r.attempts, r.window_ends_at, r.status_changed_at,
	r.received_at, r.resolved_at, r.created_at, r.updated_at,
	o.number AS order_number, c.email AS customer_email, c.name AS customer_name`

const returnFrom = ` FROM return_requests r JOIN orders o ON o.id = r.order_id JOIN customers c ON c.id = r.customer_id`

// getReturn reads one return by a condition on r; lock takes its row lock.
func getReturn(ctx context.Context, q sqlx.QueryerContext, lock bool, where string, args ...any) (Return, error) {
	var r Return
	query := `SELECT ` + returnColumns + returnFrom + ` WHERE ` + where
	if lock {
		query += ` FOR UPDATE OF r`
	}
	err := sqlx.GetContext(ctx, q, &r, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errReturnNotFound
	}
	if err != nil {
		return r, fmt.Errorf("returns: read return: %w", err)
	}
	return r, nil
}

// newReturn is a validated request about to be stored.
type newReturn struct {
	RMA            string
	OrderID        int64
	CustomerID     int64
	IdempotencyKey string
	Resolution     Resolution
	Withdrawal     bool
	Currency       string
	ValueMinor     int64
	ReviewNote     string
	WindowEndsAt   time.Time
	Items          []newItem
}

type newItem struct {
	OrderItemID int64
	Quantity    int
	Reason      string
	Comment     string
	ExchangeSKU string
	ValueMinor  int64
	Photos      []CheckedPhoto
}

// insertReturn stores r with its items and photos. It returns false,
// without error, when the RMA is taken, so the caller draws another.
func insertReturn(ctx context.Context, tx *sqlx.Tx, r newReturn) (int64, bool, error) {
	var id int64
	// The savepoint lets a clash of RMA numbers be retried in the same transaction.
	if _, err := tx.ExecContext(ctx, `SAVEPOINT new_return`); err != nil {
		return 0, false, fmt.Errorf("returns: savepoint: %w", err)
	}
	err := tx.GetContext(ctx, &id, `INSERT INTO return_requests (rma, order_id, customer_id, idempotency_key, resolution,
		withdrawal, currency, value_minor, review_note, window_ends_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		r.RMA, r.OrderID, r.CustomerID, r.IdempotencyKey, r.Resolution, r.Withdrawal, r.Currency, r.ValueMinor,
		r.ReviewNote, r.WindowEndsAt)
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Code == "23505" && pe.Constraint == "return_requests_rma_key" {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT new_return`); err != nil {
			return 0, false, fmt.Errorf("returns: rollback to savepoint: %w", err)
		}
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("returns: insert return: %w", err)
	}
	for _, it := range r.Items {
		var itemID int64
		err := tx.GetContext(ctx, &itemID, `INSERT INTO return_items (return_id, order_item_id, quantity, reason, comment, exchange_sku, value_minor)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			id, it.OrderItemID, it.Quantity, it.Reason, it.Comment, it.ExchangeSKU, it.ValueMinor)
		if err != nil {
			return 0, false, fmt.Errorf("returns: insert item: %w", err)
		}
		for _, p := range it.Photos {
			_, err := tx.ExecContext(ctx, `INSERT INTO return_photos (return_id, return_item_id, content_type, width, height, data)
				VALUES ($1, $2, $3, $4, $5, $6)`, id, itemID, p.ContentType, p.Width, p.Height, p.Data)
			if err != nil {
				return 0, false, fmt.Errorf("returns: insert photo: %w", err)
			}
		}
	}
	return id, true, nil
}

// fillReturn loads a return's items (with the order lines' titles), history
// and photo list.
func fillReturn(ctx context.Context, q sqlx.QueryerContext, r *Return) error {
	r.Items = []Item{}
	err := sqlx.SelectContext(ctx, q, &r.Items, `
		SELECT ri.id, ri.return_id, ri.order_item_id, ri.quantity, ri.reason, ri.comment, ri.exchange_sku, ri.value_minor,
		       ri.received_qty, ri.damaged_qty, oi.line_no, oi.sku, oi.title, oi.unit_price_minor
		FROM return_items ri JOIN order_items oi ON oi.id = ri.order_item_id
		WHERE ri.return_id = $1 ORDER BY oi.line_no`, r.ID)
	if err != nil {
		return fmt.Errorf("returns: items of return %d: %w", r.ID, err)
	}
	r.Events = []Event{}
	err = sqlx.SelectContext(ctx, q, &r.Events, `SELECT e.id, e.return_id, e.status, e.actor, e.note, e.created_at,
		       COALESCE(s.name, '') AS actor_name
		FROM return_events e LEFT JOIN staff s ON e.actor = 'staff:' || s.id
		WHERE e.return_id = $1 ORDER BY e.id DESC`, r.ID)
	if err != nil {
		return fmt.Errorf("returns: history of return %d: %w", r.ID, err)
	}
	r.Photos = []Photo{}
	err = sqlx.SelectContext(ctx, q, &r.Photos, `SELECT id, return_id, return_item_id, content_type, width, height,
		octet_length(data) AS size, created_at FROM return_photos WHERE return_id = $1 ORDER BY id`, r.ID)
	if err != nil {
		return fmt.Errorf("returns: photos of return %d: %w", r.ID, err)
	}
	return nil
}

// returnsOfOrder lists the returns of one order of a customer, newest first.
func returnsOfOrder(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64) ([]Return, error) {
	out := []Return{}
	err := acdb.Select(ctx, q, &out, `SELECT `+returnColumns+returnFrom+`
		WHERE r.order_id = $1 AND r.customer_id = $2 ORDER BY r.id DESC`, orderID, customerID)
	if err != nil {
		return nil, fmt.Errorf("returns: returns of order %d: %w", orderID, err)
	}
	for i := range out {
		if err := fillReturn(ctx, q, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// change is what a status change writes on the return row besides status.
type change struct {
	RejectReason    *string
	ConditionNote   *string
	ResolvedMethod  *Resolution
	ResolvedMinor   *int64
	FeeMinor        *int64
	ResolutionRef   *string
	ResolutionError *string
	Received        bool // set received_at
	Resolved        bool // set resolved_at
}

// saveStatus writes the new status and the changed columns.
func saveStatus(ctx context.Context, tx *sqlx.Tx, id int64, to Status, c change) error {
	_, err := tx.ExecContext(ctx, `UPDATE return_requests SET
		status = $2,
		status_changed_at = CASE WHEN status = $2 THEN status_changed_at ELSE now() END,
		reject_reason = COALESCE($3, reject_reason),
		condition_note = COALESCE($4, condition_note),
		resolved_method = COALESCE($5, resolved_method),
		resolved_minor = COALESCE($6, resolved_minor),
		fee_minor = COALESCE($7, fee_minor),
		resolution_ref = COALESCE($8, resolution_ref),
		resolution_error = COALESCE($9, resolution_error),
		received_at = CASE WHEN $10 THEN now() ELSE received_at END,
		resolved_at = CASE WHEN $11 THEN now() ELSE resolved_at END,
		updated_at = now()
		WHERE id = $1`, id, to, c.RejectReason, c.ConditionNote, c.ResolvedMethod, c.ResolvedMinor, c.FeeMinor,
		c.ResolutionRef, c.ResolutionError, c.Received, c.Resolved)
	if err != nil {
		return fmt.Errorf("returns: save status of %d: %w", id, err)
	}
	return nil
}

func insertEvent(ctx context.Context, tx *sqlx.Tx, returnID int64, to Status, actor, note string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO return_events (return_id, status, actor, note) VALUES ($1, $2, $3, $4)`,
		returnID, to, actor, note)
	if err != nil {
		return fmt.Errorf("returns: history of %d: %w", returnID, err)
	}
	return nil
}

// saveReceipt records the units checked in per item.
func saveReceipt(ctx context.Context, tx *sqlx.Tx, returnID int64, received, damaged map[int64]int) error {
	for itemID, n := range received {
		_, err := tx.ExecContext(ctx, `UPDATE return_items SET received_qty = $3, damaged_qty = $4 WHERE id = $2 AND return_id = $1`,
			returnID, itemID, n, damaged[itemID])
		if err != nil {
			return fmt.Errorf("returns: receipt of item %d: %w", itemID, err)
		}
	}
	return nil
}

// photoData returns a photo of a return with its bytes.
func photoData(ctx context.Context, q sqlx.QueryerContext, returnID, photoID int64) (string, []byte, error) {
	var row struct {
		ContentType string `db:"content_type"`
		Data        []byte `db:"data"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT content_type, data FROM return_photos WHERE id = $1 AND return_id = $2`, photoID, returnID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, fault.Errorf(fault.NotFound, "We couldn't find that photo.")
	}
	if err != nil {
		return "", nil, fmt.Errorf("returns: photo %d: %w", photoID, err)
	}
	return row.ContentType, row.Data, nil
}
