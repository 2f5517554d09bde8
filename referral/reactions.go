package referral

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/referral/program"
)

// MailInvite is the email that asks a happy customer to refer friends.
const MailInvite = "referral_invite"

// Subscribe registers the program's reactions on bus: attribution on
// order.created; voids on order.refunded and order.cancelled; a fresh look
// at holds on return.changed and on delivery; the referral invite after a
// delivery and after a 4-5 star review.
func (s *Service) Subscribe(bus *events.Bus) {
	bus.Subscribe(events.OrderCreated, "referral.attribute", s.OrderCreated)
	bus.Subscribe(events.OrderRefunded, "referral.refunded", s.OrderRefunded)
	bus.Subscribe(events.OrderCancelled, "referral.cancelled", s.OrderCancelled)
	bus.Subscribe(events.ReturnChanged, "referral.return_changed", s.ReturnChanged)
	bus.Subscribe(events.ShipmentStatusChanged, "referral.delivered", s.ShipmentChanged)
	bus.Subscribe(events.ReviewSubmitted, "referral.review", s.ReviewSubmitted)
}

// OrderRefunded voids (or claws back) the reward an order earned when the
// refund is a dispute, covers the whole order, or leaves less than the
// friend offer's minimum; a small partial refund keeps it.
func (s *Service) OrderRefunded(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	o, err := s.orders.Order(ctx, ev.OrderID)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := program.Load(ctx, tx)
	if err != nil {
		return err
	}
	reason := refundVoidReason(o, ev.Full, p)
	if reason == "" {
		return nil
	}
	_, err = s.rewards.VoidOrder(ctx, tx, o.ID, reason)
	return err
}

// refundVoidReason is why a refunded order's reward is void, or "".
func refundVoidReason(o commerce.Order, full bool, p program.Settings) string {
	for _, r := range o.Refunds {
		if r.Source == commerce.RefundFromDispute {
			return "Your friend's payment was disputed."
		}
	}
	if full || o.RefundedMinor >= o.TotalMinor {
		return "Your friend's order was refunded."
	}
	if min := p.Friend.MinimumMinor; min > 0 && o.Currency == p.Currency && o.TotalMinor-o.RefundedMinor < min {
		return "Most of your friend's order was refunded."
	}
	return ""
}

// OrderCancelled voids (or claws back) the reward a cancelled order earned.
func (s *Service) OrderCancelled(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	_, err := s.rewards.VoidOrder(ctx, tx, ev.OrderID, "Your friend's order was cancelled.")
	return err
}

// ReturnChanged looks again at the holds of the return's order: an open
// return keeps a reward waiting, a closed one may release it.
func (s *Service) ReturnChanged(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	if ev.OrderID == 0 {
		return nil // the periodic sweep looks at every hold anyway
	}
	return s.rewards.Evaluate(ctx, tx, ev.OrderID)
}

// ShipmentChanged, on a delivery, dates the order's holds and sends the
// referral invite (when the program asks after deliveries). History being
// loaded sends nothing.
func (s *Service) ShipmentChanged(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	if ev.Status != string(commerce.Delivered) || ev.OrderID == 0 {
		return nil
	}
	if err := s.rewards.Evaluate(ctx, tx, ev.OrderID); err != nil {
		return err
	}
	if ev.Historic {
		return nil
	}
	p, err := program.Load(ctx, tx)
	if err != nil || !p.Enabled || !p.AskAfterDelivery {
		return err
	}
	var customerID int64
	if err := tx.GetContext(ctx, &customerID, `SELECT customer_id FROM orders WHERE id = $1`, ev.OrderID); err != nil {
		return fmt.Errorf("referral: customer of order %d: %w", ev.OrderID, err)
	}
	return s.invite(ctx, tx, customerID, ev.OrderID)
}

// ReviewSubmitted sends the referral invite after a 4 or 5 star review
// (when the program asks after reviews).
func (s *Service) ReviewSubmitted(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	if ev.Rating < 4 || ev.Historic || ev.CustomerID == 0 {
		return nil
	}
	p, err := program.Load(ctx, tx)
	if err != nil || !p.Enabled || !p.AskAfterReview {
		return err
	}
	return s.invite(ctx, tx, ev.CustomerID, ev.OrderID)
}

// invite queues the referral invite to a customer: marketing mail, so
// delivery respects consent, unsubscribes and the frequency cap. One
// invite per order (or per customer, without an order), whichever moment
// comes first.
func (s *Service) invite(ctx context.Context, tx *sqlx.Tx, customerID, orderID int64) error {
	if s.outbox == nil {
		return nil
	}
	if _, err := s.EnsureCode(ctx, tx, customerID); err != nil {
		return err
	}
	_, email, err := customerNameEmail(ctx, tx, customerID)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s:%d:%d", MailInvite, customerID, orderID)
	return s.outbox.Queue(ctx, tx, mail.Queued{Kind: MailInvite, DedupeKey: key, To: email, CustomerID: customerID, OrderID: orderID, Marketing: true})
}
