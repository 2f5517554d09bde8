package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// refund is the part of a Shopify refund that Aftercare reads: the money
// moved is in its successful refund transactions (refund line items say
// what came back, which returns track on their own).
type refund struct {
	ID           id     `json:"id"`
	OrderID      id     `json:"order_id"`
	Note         string `json:"note"`
	Transactions []struct {
		ID       id     `json:"id"`
		Kind     string `json:"kind"`
		Status   string `json:"status"`
		Amount   money  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"transactions"`
}

func decodeRefund(body []byte) (refund, error) {
	var r refund
	if err := json.Unmarshal(body, &r); err != nil {
		return r, integrations.Permanent(fmt.Errorf("shopify: refund body: %w", err))
	}
	if r.ID == "" || r.OrderID == "" {
		return r, integrations.Permanent(fmt.Errorf("shopify: refund without id or order_id"))
	}
	return r, nil
}

// amount is the money the refund gave back, in minor units of currency
// (transactions often carry no currency of their own: the order's applies).
func (r refund) amount(currency string) (int64, error) {
	var sum int64
	for _, t := range r.Transactions {
		if t.Kind != "refund" || t.Status != "success" {
			continue
		}
		cur := strings.ToUpper(strings.TrimSpace(t.Currency))
		if cur != "" && commerce.ValidCurrency(cur) && cur != currency && cur != "XXX" {
			return 0, fmt.Errorf("transaction %s is in %s, the order in %s", t.ID, cur, currency)
		}
		v, err := t.Amount.Minor(currency)
		if err != nil {
			return 0, fmt.Errorf("transaction %s: %w", t.ID, err)
		}
		sum += v
	}
	return sum, nil
}

// applyRefund records the money of a Shopify refund on its order.
func (p *Provider) applyRefund(ctx context.Context, body []byte) (string, error) {
	r, err := decodeRefund(body)
	if err != nil {
		return "", err
	}
	o, err := p.d.Commerce.OrderByExternal(ctx, Name, string(r.OrderID))
	if err != nil {
		return "", err // not found: the order's webhook may still be on its way
	}
	amount, err := r.amount(o.Currency)
	if err != nil {
		return "", integrations.Permanent(fmt.Errorf("shopify: refund %s: %w", r.ID, err))
	}
	if amount <= 0 {
		return integrations.Ignored("refund %s gave no money back (a restock or an adjustment)", r.ID), nil
	}
	rec, out, err := p.d.Commerce.RefundOrder(ctx, commerce.RefundInput{
		OrderID: o.ID, Amount: amount, Currency: o.Currency, Reference: "shopify-refund:" + string(r.ID),
		Reason: integrations.Text(r.Note, 1000), Source: commerce.RefundFromShopify,
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("order %d: refund %d of %d %s", o.ID, rec.ID, amount, out), nil
}
