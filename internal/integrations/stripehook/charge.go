package stripehook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// charge is the part of a Charge that refunds need. API versions before
// 2022-11-15 embed the charge's refunds; later ones leave them out unless
// expanded, and the event's previous_attributes tell what changed.
type charge struct {
	ID             string     `json:"id"`
	Object         string     `json:"object"`
	AmountRefunded int64      `json:"amount_refunded"`
	Currency       string     `json:"currency"`
	PaymentIntent  expandable `json:"payment_intent"`
	Refunds        *struct {
		Data []struct {
			ID     string `json:"id"`
			Amount int64  `json:"amount"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"data"`
	} `json:"refunds"`
}

// orderOf finds the order a payment paid: by its PaymentIntent, else by the
// charge itself (a store that sent charge ids as payment references).
func (p *Provider) orderOf(ctx context.Context, paymentIntent, chargeID string) (commerce.Order, bool, error) {
	for _, ref := range []string{paymentIntent, chargeID} {
		id, ok, err := p.d.Resources.OrderByPayment(ctx, ref)
		if err != nil {
			return commerce.Order{}, false, err
		}
		if ok {
			o, err := p.d.Commerce.Order(ctx, id)
			return o, err == nil, err
		}
	}
	return commerce.Order{}, false, nil
}

// applyRefunded records the refunds of a charge on the order it paid:
// each succeeded refund the event lists, or else the amount refunded since
// the previous state of the charge.
func (p *Provider) applyRefunded(ctx context.Context, e event) (string, error) {
	var ch charge
	if err := json.Unmarshal(e.Data.Object, &ch); err != nil || ch.ID == "" || (ch.Object != "" && ch.Object != "charge") {
		return "", integrations.Permanent(fmt.Errorf("stripe: the event's object is not a charge (%v)", err))
	}
	o, found, err := p.orderOf(ctx, ch.PaymentIntent.ID, ch.ID)
	if err != nil {
		return "", err
	}
	if !found {
		return integrations.Ignored("no order was paid by %s", firstOf(ch.PaymentIntent.ID, ch.ID)), nil
	}
	type part struct {
		ref, reason string
		amount      int64
	}
	var parts []part
	if ch.Refunds != nil && len(ch.Refunds.Data) > 0 {
		for _, r := range ch.Refunds.Data {
			if r.Status == "succeeded" && r.ID != "" && r.Amount > 0 {
				parts = append(parts, part{ref: r.ID, reason: r.Reason, amount: r.Amount})
			}
		}
	} else {
		var prev struct {
			AmountRefunded *int64 `json:"amount_refunded"`
		}
		json.Unmarshal(e.Data.PreviousAttributes, &prev) //nolint:errcheck // absent: the whole amount is new
		before := int64(0)
		if prev.AmountRefunded != nil {
			before = *prev.AmountRefunded
		}
		if delta := ch.AmountRefunded - before; delta > 0 {
			parts = append(parts, part{ref: fmt.Sprintf("stripe-charge:%s:refunded:%d", ch.ID, ch.AmountRefunded), amount: delta})
		}
	}
	var notes []string
	for _, pt := range parts {
		amount, err := minor(pt.amount, currencyOf(ch.Currency))
		if err != nil {
			return "", integrations.Permanent(fmt.Errorf("stripe: refund %s: %w", pt.ref, err))
		}
		r, out, err := p.d.Commerce.RefundOrder(ctx, commerce.RefundInput{OrderID: o.ID, Amount: amount, Currency: currencyOf(ch.Currency),
			Reference: pt.ref, Reason: integrations.Text(strings.ReplaceAll(pt.reason, "_", " "), 1000), Source: commerce.RefundFromStripe})
		if err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("refund %d (%s) %s", r.ID, pt.ref, out))
	}
	if len(notes) == 0 {
		return integrations.Ignored("charge %s lists no succeeded refund", ch.ID), nil
	}
	return fmt.Sprintf("order %d: %s", o.ID, strings.Join(notes, ", ")), nil
}

// dispute is the part of a Dispute that its refund needs.
type dispute struct {
	ID            string     `json:"id"`
	Object        string     `json:"object"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	Reason        string     `json:"reason"`
	Charge        expandable `json:"charge"`
	PaymentIntent expandable `json:"payment_intent"`
}

// applyDispute records a dispute as a refund of its order (source
// "dispute"): the money is held from the store, and a referral reward on it
// must wait or be voided. It never records more than is left to refund.
func (p *Provider) applyDispute(ctx context.Context, e event) (string, error) {
	var d dispute
	if err := json.Unmarshal(e.Data.Object, &d); err != nil || d.ID == "" || (d.Object != "" && d.Object != "dispute") {
		return "", integrations.Permanent(fmt.Errorf("stripe: the event's object is not a dispute (%v)", err))
	}
	o, found, err := p.orderOf(ctx, d.PaymentIntent.ID, d.Charge.ID)
	if err != nil {
		return "", err
	}
	if !found {
		return integrations.Ignored("no order was paid by %s", firstOf(d.PaymentIntent.ID, d.Charge.ID)), nil
	}
	amount, err := minor(d.Amount, currencyOf(d.Currency))
	if err != nil {
		return "", integrations.Permanent(fmt.Errorf("stripe: dispute %s: %w", d.ID, err))
	}
	for _, r := range o.Refunds {
		if r.Reference == d.ID {
			return fmt.Sprintf("order %d: dispute refund %d %s", o.ID, r.ID, commerce.Unchanged), nil
		}
	}
	left := o.TotalMinor - o.RefundedMinor
	if left <= 0 {
		return integrations.Ignored("order %d is refunded in full already", o.ID), nil
	}
	if amount = min(amount, left); amount <= 0 {
		return integrations.Ignored("dispute %s holds no money", d.ID), nil
	}
	r, out, err := p.d.Commerce.RefundOrder(ctx, commerce.RefundInput{OrderID: o.ID, Amount: amount, Currency: currencyOf(d.Currency),
		Reference: d.ID, Reason: integrations.Text("Dispute: "+strings.ReplaceAll(d.Reason, "_", " "), 1000), Source: commerce.RefundFromDispute})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("order %d: dispute refund %d %s", o.ID, r.ID, out), nil
}
