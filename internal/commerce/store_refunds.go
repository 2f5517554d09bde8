package commerce

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

const refundColumns = `id, order_id, amount_minor, currency, reference, reason, source, created_at`

// refundByReference returns the order's refund with this reference, and
// false when there is none.
func refundByReference(ctx context.Context, q sqlx.QueryerContext, orderID int64, reference string) (Refund, bool, error) {
	var r Refund
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+refundColumns+` FROM order_refunds
		WHERE order_id = $1 AND reference = $2`, orderID, reference)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("commerce: refund %q of order %d: %w", reference, orderID, err)
	}
	return r, true, nil
}

// insertRefund stores a refund; the caller holds the order's lock and has
// checked that no refund with its reference exists.
func insertRefund(ctx context.Context, q sqlx.QueryerContext, r Refund) (Refund, error) {
	var got Refund
	err := sqlx.GetContext(ctx, q, &got, `
		INSERT INTO order_refunds (order_id, amount_minor, currency, reference, reason, source)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+refundColumns,
		r.OrderID, r.Amount, r.Currency, r.Reference, r.Reason, r.Source)
	if err != nil {
		return got, fmt.Errorf("commerce: insert refund %q of order %d: %w", r.Reference, r.OrderID, err)
	}
	return got, nil
}

// addRefunded adds amount to the order's refunds and sets its status: a
// cancelled order stays cancelled, any other becomes refunded when nothing
// is left to refund, else partially_refunded.
func addRefunded(ctx context.Context, q sqlx.QueryerContext, orderID, amount int64) (Order, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `
		UPDATE orders SET refunded_minor = refunded_minor + $2,
		       status = CASE WHEN status = 'cancelled' THEN status
		                     WHEN refunded_minor + $2 = total_minor THEN 'refunded'
		                     ELSE 'partially_refunded' END,
		       updated_at = now()
		WHERE id = $1
		RETURNING `+orderColumns, orderID, amount)
	if err != nil {
		return o, fmt.Errorf("commerce: add refund to order %d: %w", orderID, err)
	}
	return o, nil
}

// refundsOfOrder returns an order's refunds, oldest first.
func refundsOfOrder(ctx context.Context, q sqlx.QueryerContext, orderID int64) ([]Refund, error) {
	rs := []Refund{}
	err := sqlx.SelectContext(ctx, q, &rs, `SELECT `+refundColumns+` FROM order_refunds
		WHERE order_id = $1 ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("commerce: refunds of order %d: %w", orderID, err)
	}
	return rs, nil
}

// cancelOrder marks the order cancelled at now with reason.
func cancelOrder(ctx context.Context, q sqlx.QueryerContext, orderID int64, reason string, now time.Time) (Order, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `
		UPDATE orders SET status = 'cancelled', cancelled_at = $2, cancel_reason = $3, updated_at = now()
		WHERE id = $1
		RETURNING `+orderColumns, orderID, now, reason)
	if err != nil {
		return o, fmt.Errorf("commerce: cancel order %d: %w", orderID, err)
	}
	return o, nil
}
