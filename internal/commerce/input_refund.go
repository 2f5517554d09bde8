package commerce

import (
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

// RefundInput is money given back on an order. Amount is in minor units of
// Currency, which must be the order's. Reference is the payment system's id
// of the refund (a Stripe re_…, a return's "return:<id>"): a second refund
// with the same reference on the order is the same refund. Source says who
// reports it: return, stripe, shopify, woocommerce, api (the default) or
// dispute. In the API (POST /api/v1/orders/{id}/refunds) the order comes
// from the path and the source is always api.
type RefundInput struct {
	OrderID   int64  `json:"-"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
	Reason    string `json:"reason"`
	Source    string `json:"-"`
}

// Refund is one recorded refund of an order, unique per (OrderID, Reference).
type Refund struct {
	ID        int64     `db:"id" json:"id"`
	OrderID   int64     `db:"order_id" json:"order_id"`
	Amount    int64     `db:"amount_minor" json:"amount"`
	Currency  string    `db:"currency" json:"currency"`
	Reference string    `db:"reference" json:"reference"`
	Reason    string    `db:"reason" json:"reason"`
	Source    string    `db:"source" json:"source"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// The systems that report refunds (order_refunds.source).
const (
	RefundFromReturn      = "return"
	RefundFromStripe      = "stripe"
	RefundFromShopify     = "shopify"
	RefundFromWooCommerce = "woocommerce"
	RefundFromAPI         = "api"
	RefundFromDispute     = "dispute"
)

func validRefundSource(s string) bool {
	switch s {
	case RefundFromReturn, RefundFromStripe, RefundFromShopify, RefundFromWooCommerce, RefundFromAPI, RefundFromDispute:
		return true
	}
	return false
}

// validate normalizes a refund; what it must fit (the order's currency and
// what is left to refund) is checked against the order in the transaction.
func (in RefundInput) validate() (Refund, error) {
	var f fault.Fields
	r := Refund{
		OrderID:   in.OrderID,
		Amount:    in.Amount,
		Currency:  strings.ToUpper(strings.TrimSpace(in.Currency)),
		Reference: text(&f, "reference", in.Reference, 255, true, false),
		Reason:    text(&f, "reason", in.Reason, 1000, false, true),
		Source:    strings.TrimSpace(in.Source),
	}
	if in.OrderID <= 0 {
		return r, fault.Errorf(fault.NotFound, "There is no order %d.", in.OrderID)
	}
	if in.Amount < 1 {
		f.Add("amount", "must be at least 1")
	} else if in.Amount > maxAmount {
		f.Add("amount", "is too large")
	}
	if r.Currency == "" {
		f.Add("currency", "is required")
	} else if !ValidCurrency(r.Currency) {
		f.Add("currency", "must be an ISO 4217 code such as EUR")
	}
	if r.Source == "" {
		r.Source = RefundFromAPI
	} else if !validRefundSource(r.Source) {
		f.Add("source", "must be one of return, stripe, shopify, woocommerce, api, dispute")
	}
	return r, f.Err()
}
