package returns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/web"
)

// recordTimeout bounds recording the outcome of a resolution once Stripe
// has answered.
const recordTimeout = 10 * time.Second

// ErrResolutionFailed is returned (wrapped) by Resolve when Stripe or the
// replacement order failed: the return is left resolution_failed with the
// message for staff, ready for a retry.
var ErrResolutionFailed = errors.New("returns: resolution failed")

// attempt is a resolution about to be made, fixed in its first transaction.
type attempt struct {
	r        Return
	method   Resolution
	quote    Quote
	payment  string // the order's payment reference, for refunds
	customer stripeCustomer
	credit   string // CreditBalance or CreditPromoCode, fixed at the first attempt
	number   string // the order's number, for an exchange
}

// Quote prices resolving the received return id by method, as staff are
// shown it before they confirm; a retry shows the amounts of its first
// attempt.
func (s *Service) Quote(ctx context.Context, id int64, method Resolution) (Quote, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return Quote{}, err
	}
	return s.quote(ctx, s.db, r, method)
}

func (s *Service) quote(ctx context.Context, q sqlx.QueryerContext, r Return, method Resolution) (Quote, error) {
	p, err := LoadPolicy(ctx, q)
	if err != nil {
		return Quote{}, err
	}
	o, err := loadOrderFacts(ctx, q, anyCustomer, r.OrderID, false)
	if err != nil {
		return Quote{}, err
	}
	qt := QuoteFor(r, p, method, o.TotalMinor-o.RefundedMinor)
	if r.ResolvedMethod != nil && *r.ResolvedMethod == method && r.ResolvedMinor != nil {
		// A retry repeats its first attempt exactly (same Stripe idempotency key, same amount).
		qt.AmountMinor, qt.FeeMinor = *r.ResolvedMinor, r.FeeMinor
	}
	return qt, nil
}

// Resolve settles a received return by method: a Stripe refund of the
// received units' value less the restocking fee, store credit (Stripe
// balance or promotion code, per policy, with the bonus), or a replacement
// order. Stripe is called first, with an idempotency key from the return,
// and the outcome is recorded after in one transaction (with the order's
// refund and order.refunded), so a failure never leaves half a refund: the
// return becomes resolution_failed with the message for staff, and a retry
// repeats the same request. A return that has been attempted one way can
// only be retried that way. Errors: fault.NotFound, fault.Conflict for an
// illegal move or another method than the first attempt's, fault.Invalid
// when the method cannot work here (no Stripe, no payment reference, nothing
// to refund), and ErrResolutionFailed (wrapped) when the attempt failed.
func (s *Service) Resolve(ctx context.Context, id int64, actor string, method Resolution) (Return, error) {
	a, err := s.prepare(ctx, id, method)
	if err != nil {
		return Return{}, err
	}
	ref, detail, err := s.perform(ctx, a)
	// Stripe may take longer than the request's database deadline (its
	// client waits up to 30 s a try): what it did must still be recorded,
	// so the recording gets a deadline of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err != nil {
		msg := failureMessage(method, err)
		if ferr := s.fail(ctx, id, actor, msg); ferr != nil {
			return Return{}, errors.Join(ferr, err)
		}
		return Return{}, fmt.Errorf("%w: %s: %w", ErrResolutionFailed, msg, err)
	}
	r, err := s.settle(ctx, a, actor, ref, detail)
	if err != nil && !fault.Is(err, fault.Conflict) {
		// Stripe did it but we could not record it: say so, and let the retry
		// (same key, same answer) record it.
		if ferr := s.fail(ctx, id, actor, "Done in Stripe but not recorded here: press Retry to record it."); ferr != nil {
			return Return{}, errors.Join(ferr, err)
		}
	}
	return r, err
}

// prepare checks the move, fixes the method and amount of the attempt, and
// counts it, in a transaction of its own that ends before Stripe is called.
func (s *Service) prepare(ctx context.Context, id int64, method Resolution) (attempt, error) {
	var a attempt
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		r, err := getReturn(ctx, tx, true, "r.id = $1", id)
		if err != nil {
			return err
		}
		if err := fillReturn(ctx, tx, &r); err != nil {
			return err
		}
		if !method.Valid() {
			return fault.Field("method", "must be refund, credit or exchange")
		}
		if err := CheckMove(r.Status, method.Outcome(), Staff); err != nil {
			return err
		}
		if r.ResolvedMethod != nil && *r.ResolvedMethod != method {
			return fault.Errorf(fault.Conflict, "A %s was already attempted for this return; retry it rather than switch, so the shopper is never paid twice.", strings.ToLower(r.ResolvedMethod.Label()))
		}
		a = attempt{r: r, method: method}
		if a.quote, err = s.quote(ctx, tx, r, method); err != nil {
			return err
		}
		if err := s.canPerform(ctx, tx, &a); err != nil {
			return err
		}
		var credit *string
		if method == Credit {
			p, err := LoadPolicy(ctx, tx)
			if err != nil {
				return err
			}
			credit = &p.CreditMethod
		}
		// The first attempt's credit method stays: a retry must repeat it.
		err = tx.GetContext(ctx, &a.credit, `UPDATE return_requests SET resolved_method = $2, resolved_minor = $3, fee_minor = $4,
			credit_method = COALESCE(credit_method, $5), attempts = attempts + 1, updated_at = now()
			WHERE id = $1 RETURNING COALESCE(credit_method, '')`, r.ID, method, a.quote.AmountMinor, a.quote.FeeMinor, credit)
		if err != nil {
			return fmt.Errorf("returns: attempt on %d: %w", r.ID, err)
		}
		return nil
	})
	return a, err
}

// canPerform refuses, before anything is attempted, a method that cannot
// work for this return.
func (s *Service) canPerform(ctx context.Context, q sqlx.QueryerContext, a *attempt) error {
	switch a.method {
	case Refund, Credit:
		if s.stripe == nil {
			return fault.Errorf(fault.Invalid, "Stripe is not configured, so refunds and credits cannot be made here.")
		}
		if a.quote.AmountMinor <= 0 {
			return fault.Errorf(fault.Invalid, "There is nothing to %s: the received units are worth %s after fees and earlier refunds.",
				strings.ToLower(string(a.method)), web.Money(a.quote.AmountMinor, a.quote.Currency))
		}
	case Exchange:
		if s.commerce == nil {
			return fault.Errorf(fault.Invalid, "Exchanges are not available here.")
		}
	}
	var err error
	switch a.method {
	case Refund:
		err = sqlx.GetContext(ctx, q, &a.payment, `SELECT payment_reference FROM orders WHERE id = $1`, a.r.OrderID)
		if err == nil && !strings.HasPrefix(a.payment, "pi_") && !strings.HasPrefix(a.payment, "ch_") {
			return fault.Errorf(fault.Invalid, "The order has no Stripe payment to refund (no pi_ or ch_ reference). Refund it in your store, or resolve by store credit or exchange.")
		}
	case Credit:
		a.customer, err = customerForStripe(ctx, q, a.r.CustomerID)
	case Exchange:
		err = sqlx.GetContext(ctx, q, &a.number, `SELECT number FROM orders WHERE id = $1`, a.r.OrderID)
	}
	if err != nil {
		return fmt.Errorf("returns: prepare %s of %d: %w", a.method, a.r.ID, err)
	}
	return nil
}

// perform makes the external part of the attempt and returns its reference
// (Stripe refund id, promotion code or balance transaction, replacement
// order id) with details for the audit entry.
func (s *Service) perform(ctx context.Context, a attempt) (string, map[string]any, error) {
	switch a.method {
	case Refund:
		id, err := stripeRefund(s.stripe, a.r, a.payment, a.quote.AmountMinor)
		return id, map[string]any{"stripe_refund": id, "payment": a.payment}, err
	case Credit:
		cust, err := ensureStripeCustomer(s.stripe, a.customer)
		if err != nil {
			return "", nil, err
		}
		if cust, err = saveStripeCustomer(ctx, s.db, a.customer.ID, cust); err != nil {
			return "", nil, err
		}
		if a.credit == CreditBalance {
			t, err := stripeBalanceCredit(s.stripe, a.r, cust, a.quote.AmountMinor)
			return t, map[string]any{"stripe_customer": cust, "balance_transaction": t}, err
		}
		code, promo, err := stripePromoCredit(s.stripe, a.r, cust, a.quote.AmountMinor)
		return code, map[string]any{"stripe_customer": cust, "promotion_code": promo}, err
	case Exchange:
		o, err := s.exchangeOrder(ctx, a)
		return fmt.Sprint(o.ID), map[string]any{"replacement_order": o.ID, "number": o.Number}, err
	}
	return "", nil, fmt.Errorf("returns: unknown method %q", a.method)
}

// exchangeOrder records the replacement as an order of its own, at no
// charge, keyed by the RMA so a retry finds it.
func (s *Service) exchangeOrder(ctx context.Context, a attempt) (commerce.Order, error) {
	in := commerce.OrderInput{
		Source: "exchange", ExternalID: "RMA-" + strings.TrimPrefix(a.r.RMA, "R-"), Number: "EX-" + strings.TrimPrefix(a.r.RMA, "R-"),
		Customer: commerce.CustomerInput{Email: a.r.CustomerEmail, Name: a.r.CustomerName},
		Currency: a.r.Currency, DiscountCodes: []string{},
	}
	placed := s.now()
	if a.r.ReceivedAt != nil {
		placed = *a.r.ReceivedAt // stable across retries, so a retry is Unchanged
	}
	in.PlacedAt = placed.UTC().Format(time.RFC3339)
	for _, it := range a.r.Items {
		if it.Received() == 0 {
			continue
		}
		sku := it.ExchangeSKU
		if sku == "" {
			sku = it.SKU
		}
		title := it.Title
		if p, ok, err := productBySKU(ctx, s.db, sku); err != nil {
			return commerce.Order{}, err
		} else if ok {
			title = p.Title
		}
		in.Items = append(in.Items, commerce.ItemInput{SKU: sku, Title: title, Quantity: it.Received(), UnitPrice: 0})
	}
	o, _, err := s.commerce.UpsertOrder(ctx, in)
	return o, err
}

// failureMessage is what staff read about a failed attempt.
func failureMessage(method Resolution, err error) string {
	if method == Exchange {
		if de, ok := fault.As(err); ok && de.Kind != fault.Internal {
			return "The replacement order was refused: " + de.Error()
		}
		return "The replacement order could not be recorded. Nothing was changed; try again."
	}
	return stripeMessage(err)
}

// fail moves the return to resolution_failed with msg.
func (s *Service) fail(ctx context.Context, id int64, actor, msg string) error {
	_, err := s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		return s.move(ctx, tx, r, ResolutionFailed, Staff, actor, msg, change{ResolutionError: &msg}, nil)
	}, "r.id = $1", id)
	return err
}
