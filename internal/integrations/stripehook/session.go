package stripehook

import (
	"context"
	"fmt"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// orderInput maps a paid Checkout Session to an order. Its lines are the
// session's line items when the event carries them (only when expanded);
// otherwise the session's subtotal (or total) is one line. Discount,
// shipping and tax come from total_details; the amount paid is kept.
func orderInput(s session, placedFallback int64) (commerce.OrderInput, error) {
	cur := currencyOf(s.Currency)
	in := commerce.OrderInput{
		Source: Name, ExternalID: s.ID, Number: integrations.Text(s.meta("order_number", "order_id"), 255), Currency: cur,
		Customer:         commerce.CustomerInput{Email: s.email(), Name: integrations.Text(s.name(), 200)},
		PaymentReference: s.PaymentIntent.ID,
		PlacedAt:         unix(s.Created),
		ShippingAddress:  s.shippingAddress(),
	}
	if in.Number == "" {
		in.Number = s.ID
	}
	if in.PlacedAt == "" {
		in.PlacedAt = unix(placedFallback)
	}
	if in.PaymentReference == "" {
		in.PaymentReference = s.ID
	}
	// A bad amount is noted and the rest still read; it fails the session below.
	var convErr error
	conv := func(v int64) int64 {
		m, err := minor(v, cur)
		if err != nil && convErr == nil {
			convErr = err
		}
		return m
	}
	var t integrations.Totals
	if s.LineItems != nil {
		for _, li := range s.LineItems.Data {
			if li.Quantity < 1 {
				continue
			}
			sku := "stripe-line"
			if li.Price != nil {
				sku = firstOf(li.Price.Product.ID, li.Price.ID, sku)
			}
			unit := max(conv(li.AmountSubtotal), 0) / int64(li.Quantity)
			in.Items = append(in.Items, commerce.ItemInput{SKU: integrations.Text(sku, 100),
				Title: integrations.Text(firstOf(li.Description, "Item"), 500), Quantity: li.Quantity, UnitPrice: unit})
			t.Subtotal += unit * int64(li.Quantity)
		}
	}
	if len(in.Items) == 0 {
		amount := s.AmountSubtotal
		if amount == nil {
			amount = s.AmountTotal
		}
		if amount == nil {
			return in, integrations.Permanent(fmt.Errorf("stripe: session %s has no amount", s.ID))
		}
		t.Subtotal = max(conv(*amount), 0)
		in.Items = []commerce.ItemInput{{SKU: "stripe-checkout", Title: "Purchase " + in.Number, Quantity: 1, UnitPrice: t.Subtotal}}
	}
	if td := s.TotalDetails; td != nil {
		t.Discount, t.Shipping, t.Tax = conv(td.AmountDiscount), conv(td.AmountShipping), conv(td.AmountTax)
	}
	if s.AmountTotal != nil {
		t.Total = conv(*s.AmountTotal)
	}
	if convErr != nil {
		return in, integrations.Permanent(fmt.Errorf("stripe: session %s: %w", s.ID, convErr))
	}
	t = t.Balance()
	in.Subtotal, in.Discount, in.Shipping, in.Tax, in.Total = t.Subtotal, t.Discount, t.Shipping, t.Tax, t.Total
	if ref, dev := s.meta("referral_code", "ref", "aftercare_ref"), s.meta("device_id", "aftercare_device"); ref != "" || dev != "" {
		in.Attribution = &commerce.AttributionInput{ReferralCode: ref, DeviceID: dev}
	}
	return in, nil
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// applyCompleted records the order of a paid session, its promotion codes
// as discount codes (so a referral code redeemed at Stripe attributes the
// order), and the card's fingerprint when Stripe's API can tell it.
func (p *Provider) applyCompleted(ctx context.Context, e event) (string, error) {
	s, err := decodeSession(e.Data.Object)
	if err != nil {
		return "", err
	}
	switch {
	case s.Mode == "setup":
		return integrations.Ignored("session %s sets up a payment method; nothing was bought", s.ID), nil
	case s.PaymentStatus == "unpaid":
		return integrations.Ignored("session %s is not paid yet; its async_payment_succeeded event will record it", s.ID), nil
	}
	in, err := orderInput(s, e.Created)
	if err != nil {
		return "", err
	}
	if in.Customer.Email == "" {
		return integrations.Ignored("session %s has no customer email", s.ID), nil
	}
	for _, pc := range s.promotionCodes() {
		code := pc.field("code")
		if code == "" && p.lookup != nil {
			if code, err = p.lookup.PromotionCode(ctx, pc.ID); err != nil {
				return "", fmt.Errorf("stripe: promotion code %s: %w", pc.ID, err)
			}
		}
		// Without Stripe's API the id stands in: referral codes know theirs.
		in.DiscountCodes = append(in.DiscountCodes, integrations.Text(firstOf(code, pc.ID), 100))
	}
	if p.lookup != nil && s.PaymentIntent.ID != "" {
		if in.PaymentFingerprint, err = p.lookup.CardFingerprint(ctx, s.PaymentIntent.ID); err != nil {
			return "", fmt.Errorf("stripe: fingerprint of %s: %w", s.PaymentIntent.ID, err)
		}
	}
	o, out, err := p.d.Commerce.UpsertOrder(ctx, in)
	if err != nil {
		return "", err
	}
	if s.RecoveredFrom != "" && p.d.Checkouts != nil {
		// The shopper came back through the recovery link of an expired session.
		if _, err := p.d.Checkouts.Complete(ctx, Name, s.RecoveredFrom, o.PlacedAt); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("order %d %s", o.ID, out), nil
}

// applyExpired records an expired session as an abandoned checkout, with
// Stripe's recovery link when the session was created with recovery on.
func (p *Provider) applyExpired(ctx context.Context, e event) (string, error) {
	s, err := decodeSession(e.Data.Object)
	if err != nil {
		return "", err
	}
	if p.d.Checkouts == nil {
		return integrations.Ignored("abandoned checkouts are not kept"), nil
	}
	cur := currencyOf(s.Currency)
	ch := integrations.Checkout{Source: Name, ExternalID: s.ID, Email: s.email(), Name: integrations.Text(s.name(), 200), Currency: cur}
	if s.AmountTotal != nil {
		ch.Total, _ = minor(*s.AmountTotal, cur)
	}
	if ae := s.AfterExpiration; ae != nil && ae.Recovery != nil && ae.Recovery.Enabled {
		ch.RecoveryURL = ae.Recovery.URL
	}
	if s.LineItems != nil {
		for _, li := range s.LineItems.Data {
			sub, _ := minor(li.AmountSubtotal, cur)
			q := max(li.Quantity, 1)
			ch.Items = append(ch.Items, integrations.CheckoutItem{Title: integrations.Text(firstOf(li.Description, "Item"), 500),
				Quantity: q, UnitPrice: max(sub, 0) / int64(q)})
		}
	}
	started := time.Unix(s.Created, 0)
	if s.Created <= 0 {
		started = time.Unix(e.Created, 0)
	}
	ch.StartedAt, ch.AbandonedAt = started, started
	return p.d.Checkouts.Record(ctx, ch)
}
