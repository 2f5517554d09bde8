package commerce

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

// RecordRefund records money given back on an order inside the caller's
// transaction, so that a return (or a webhook inbox row) commits together
// with its refund. It is idempotent on (order, reference): a retry returns
// the stored refund as Unchanged and changes nothing; the same reference
// with another amount or currency is a fault.Conflict. A new refund adds to
// the order's refunded amount, makes the order refunded once nothing is
// left to refund and partially_refunded before (a cancelled order stays
// cancelled), and emits order.refunded (Full when nothing is left) in tx.
// The order's row lock makes concurrent refunds count each other. Errors:
// fault.NotFound for an unknown order; fault.Fields naming "currency" for
// another currency than the order's and "amount" for more than is left to
// refund, or for bad input.
func (s *Service) RecordRefund(ctx context.Context, tx *sqlx.Tx, in RefundInput) (Refund, Outcome, error) {
	r, err := in.validate()
	if err != nil {
		return r, "", err
	}
	o, err := orderByID(ctx, tx, r.OrderID, true)
	if err != nil {
		return r, "", err
	}
	// A retry is found before the amount is checked: the retry of a full
	// refund would otherwise exceed what is left.
	old, found, err := refundByReference(ctx, tx, o.ID, r.Reference)
	if err != nil {
		return r, "", err
	}
	if found {
		if old.Amount != r.Amount || old.Currency != r.Currency {
			return old, "", fault.Errorf(fault.Conflict, "Refund %s of order %d was recorded as %d %s.", r.Reference, o.ID, old.Amount, old.Currency)
		}
		return old, Unchanged, nil
	}
	if r.Currency != o.Currency {
		return r, "", fault.Field("currency", fmt.Sprintf("must be the order's currency, %s", o.Currency))
	}
	if left := o.TotalMinor - o.RefundedMinor; r.Amount > left {
		return r, "", fault.Field("amount", fmt.Sprintf("must not exceed the %d not refunded yet", left))
	}
	if r, err = insertRefund(ctx, tx, r); err != nil {
		return r, "", err
	}
	if o, err = addRefunded(ctx, tx, o.ID, r.Amount); err != nil {
		return r, "", err
	}
	ev := events.Event{
		Kind: events.OrderRefunded, OrderID: o.ID, CustomerID: o.CustomerID,
		Amount: r.Amount, Currency: r.Currency, Full: o.RefundedMinor == o.TotalMinor,
	}
	if err := s.emit(ctx, tx, ev); err != nil {
		return r, "", err
	}
	return r, Created, nil
}

// RefundOrder is RecordRefund in a transaction of its own, for refunds that
// change nothing else (the API, a payment webhook).
func (s *Service) RefundOrder(ctx context.Context, in RefundInput) (Refund, Outcome, error) {
	var r Refund
	var out Outcome
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		r, out, err = s.RecordRefund(ctx, tx, in)
		return err
	})
	return r, out, err
}

// CancelOrder records that the store cancelled an order: its status becomes
// cancelled and cancelled_at is set, and order.cancelled is emitted in the
// same transaction. It is idempotent: an order already cancelled is
// returned Unchanged with its first reason and time. Money is not touched;
// refunds are recorded on their own. Errors: fault.NotFound for an unknown
// order, fault.Fields naming "reason" when it is too long.
func (s *Service) CancelOrder(ctx context.Context, orderID int64, reason string) (Order, Outcome, error) {
	var f fault.Fields
	reason = text(&f, "reason", reason, 1000, false, true)
	if err := f.Err(); err != nil {
		return Order{}, "", err
	}
	if orderID <= 0 {
		return Order{}, "", fault.Errorf(fault.NotFound, "There is no order %d.", orderID)
	}
	var o Order
	var out Outcome
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if o, err = orderByID(ctx, tx, orderID, true); err != nil {
			return err
		}
		if o.CancelledAt != nil {
			out = Unchanged
			return s.fillOrder(ctx, tx, &o, false)
		}
		if o, err = cancelOrder(ctx, tx, orderID, reason, s.now()); err != nil {
			return err
		}
		out = Updated
		ev := events.Event{Kind: events.OrderCancelled, OrderID: o.ID, CustomerID: o.CustomerID, Status: o.Status}
		if err := s.emit(ctx, tx, ev); err != nil {
			return err
		}
		return s.fillOrder(ctx, tx, &o, false)
	})
	return o, out, err
}
