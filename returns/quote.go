package returns

// Quote is what resolving a received return by Method gives the shopper, in
// minor units of Currency.
type Quote struct {
	Method   Resolution
	Currency string
	// ReceivedValueMinor is what the shopper paid for the units received.
	ReceivedValueMinor int64
	// FeeMinor is the restocking fee kept from a refund.
	FeeMinor int64
	// BonusMinor is added to store credit.
	BonusMinor int64
	// AmountMinor is the money refunded or credited; 0 for an exchange.
	AmountMinor int64
	// Capped is set when the refund was cut to what is left to refund on
	// the order.
	Capped bool
}

// QuoteFor prices resolving r (received, with its items' received counts)
// by method under p. leftToRefund is what the order has not refunded yet: a
// refund never exceeds it. The restocking fee applies to refunds of units
// returned for the shopper's own reasons; the credit bonus to credits.
func QuoteFor(r Return, p Policy, method Resolution, leftToRefund int64) Quote {
	q := Quote{Method: method, Currency: r.Currency}
	var feeBase int64
	for _, it := range r.Items {
		if it.Quantity <= 0 {
			continue
		}
		v := it.ValueMinor * int64(it.Received()) / int64(it.Quantity)
		q.ReceivedValueMinor += v
		if !storeFault(it.Reason) {
			feeBase += v
		}
	}
	switch method {
	case Refund:
		q.FeeMinor = feeBase * int64(p.RestockingFeePct) / 100
		q.AmountMinor = q.ReceivedValueMinor - q.FeeMinor
		if q.AmountMinor > leftToRefund {
			q.AmountMinor, q.Capped = max(0, leftToRefund), true
		}
	case Credit:
		q.BonusMinor = q.ReceivedValueMinor * int64(p.CreditBonusPct) / 100
		q.AmountMinor = q.ReceivedValueMinor + q.BonusMinor
	}
	return q
}
