package journey

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/mail"
)

// ReturnRequests reads open returns from the returns feature's table when
// it exists; a store without it has no returns. It is the default
// OpenReturns until cmd wires the returns feature's own answer.
type ReturnRequests struct{ DB sqlx.QueryerContext }

// OpenReturns reports whether order orderID has a return that is neither
// finished nor refused.
func (r ReturnRequests) OpenReturns(ctx context.Context, orderID int64) (bool, error) {
	var exists bool
	if err := sqlx.GetContext(ctx, r.DB, &exists, `SELECT to_regclass('return_requests') IS NOT NULL`); err != nil {
		return false, fmt.Errorf("journey: look for returns: %w", err)
	}
	if !exists {
		return false, nil
	}
	var open bool
	err := sqlx.GetContext(ctx, r.DB, &open, `SELECT EXISTS (SELECT 1 FROM return_requests WHERE order_id = $1
		AND status NOT IN ('rejected', 'cancelled', 'refunded', 'credited', 'exchanged'))`, orderID)
	if err != nil {
		return false, fmt.Errorf("journey: open returns of order %d: %w", orderID, err)
	}
	return open, nil
}

// OrderSettled says why an email about order orderID should not go ("" if
// it may): the order was refunded or cancelled, or has a return open.
func (e *Engine) OrderSettled(ctx context.Context, q sqlx.QueryerContext, orderID int64) (string, error) {
	if orderID == 0 {
		return "", nil
	}
	var status string
	if err := sqlx.GetContext(ctx, q, &status, `SELECT status FROM orders WHERE id = $1`, orderID); err != nil {
		return "", fmt.Errorf("journey: order %d: %w", orderID, err)
	}
	switch status {
	case "refunded":
		return "the order was refunded", nil
	case "cancelled":
		return "the order was cancelled", nil
	}
	open, err := e.returns.OpenReturns(ctx, orderID)
	if err != nil {
		return "", err
	}
	if open {
		return "the order has a return open", nil
	}
	return "", nil
}

// Reachable says why marketing email may not go to customerID ("" if it
// may): see mail.MarketingRefusal.
func (e *Engine) Reachable(ctx context.Context, q sqlx.QueryerContext, customerID int64) (string, error) {
	return mail.MarketingRefusal(ctx, q, customerID)
}

// Settled runs both checks for a step: the customer may get marketing
// email and the step's order is settled.
func (e *Engine) Settled(ctx context.Context, q sqlx.QueryerContext, st Step) (string, error) {
	if why, err := e.Reachable(ctx, q, st.CustomerID); why != "" || err != nil {
		return why, err
	}
	return e.OrderSettled(ctx, q, st.OrderID)
}
