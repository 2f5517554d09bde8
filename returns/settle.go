package returns

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/web"
)

// settle records a performed attempt in one transaction: the return's new
// status, the order's refund (through commerce, which emits order.refunded)
// or, for a credit, order.refunded itself, with history, audit and email.
// A return already settled with the same reference is returned unchanged.
func (s *Service) settle(ctx context.Context, a attempt, actor, ref string, detail map[string]any) (Return, error) {
	to := a.method.Outcome()
	return s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		if r.Status == to && r.ResolutionRef == ref {
			return nil // a concurrent attempt recorded this very outcome
		}
		if err := CheckMove(r.Status, to, Staff); err != nil {
			return err
		}
		amount := a.quote.AmountMinor
		switch a.method {
		case Refund:
			_, _, err := s.commerce.RecordRefund(ctx, tx, commerce.RefundInput{
				OrderID: r.OrderID, Amount: amount, Currency: r.Currency, Reference: ref,
				Reason: "Return " + r.RMA, Source: commerce.RefundFromReturn,
			})
			if err != nil {
				return fmt.Errorf("returns: record refund of %s: %w", r.RMA, err)
			}
		case Credit:
			if err := s.emitCredit(ctx, tx, r, a.quote); err != nil {
				return err
			}
		}
		empty := ""
		c := change{ResolvedMethod: &a.method, FeeMinor: &a.quote.FeeMinor, ResolutionRef: &ref, ResolutionError: &empty, Resolved: true}
		if a.method != Exchange {
			c.ResolvedMinor = &amount
		}
		if detail == nil {
			detail = map[string]any{}
		}
		detail["amount"], detail["fee"], detail["bonus"] = amount, a.quote.FeeMinor, a.quote.BonusMinor
		return s.move(ctx, tx, r, to, Staff, actor, settleNote(a, detail), c, detail)
	}, "r.id = $1", a.r.ID)
}

// emitCredit tells the other features that value went back to the shopper
// as credit (order.refunded), so that, for one, a referral reward on the
// order is voided. Amount is the value of the units returned, not the bonus.
func (s *Service) emitCredit(ctx context.Context, tx *sqlx.Tx, r *Return, q Quote) error {
	if s.bus == nil {
		return nil
	}
	full, err := fullyReturned(ctx, tx, r.OrderID, r.ID)
	if err != nil {
		return err
	}
	return s.bus.Emit(ctx, tx, events.Event{
		Kind: events.OrderRefunded, OrderID: r.OrderID, CustomerID: r.CustomerID, ReturnID: r.ID,
		Amount: q.ReceivedValueMinor, Currency: r.Currency, Full: full,
	})
}

// fullyReturned reports whether every unit of the order has come back in
// returns refunded or credited, counting returnID as one of them.
func fullyReturned(ctx context.Context, q sqlx.QueryerContext, orderID, returnID int64) (bool, error) {
	var full bool
	err := sqlx.GetContext(ctx, q, &full, `
		SELECT COALESCE(bool_and(COALESCE(back.units, 0) >= oi.quantity), false)
		FROM order_items oi
		LEFT JOIN (SELECT ri.order_item_id, sum(COALESCE(ri.received_qty, 0)) AS units
		           FROM return_items ri JOIN return_requests r ON r.id = ri.return_id
		           WHERE r.order_id = $1 AND (r.status IN ('refunded', 'credited') OR r.id = $2)
		           GROUP BY ri.order_item_id) back ON back.order_item_id = oi.id
		WHERE oi.order_id = $1`, orderID, returnID)
	if err != nil {
		return false, fmt.Errorf("returns: fully returned %d: %w", orderID, err)
	}
	return full, nil
}

func settleNote(a attempt, detail map[string]any) string {
	q := a.quote
	switch a.method {
	case Refund:
		note := fmt.Sprintf("Refunded %s to the original payment", web.Money(q.AmountMinor, q.Currency))
		if q.FeeMinor > 0 {
			note += fmt.Sprintf(" (restocking fee %s)", web.Money(q.FeeMinor, q.Currency))
		}
		return note + "."
	case Credit:
		note := fmt.Sprintf("Store credit of %s", web.Money(q.AmountMinor, q.Currency))
		if q.BonusMinor > 0 {
			note += fmt.Sprintf(" (bonus %s included)", web.Money(q.BonusMinor, q.Currency))
		}
		return note + "."
	}
	return fmt.Sprintf("Replacement order %v recorded.", detail["number"])
}
