package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/integrations"
)

// checkout is the part of a Shopify checkout (checkouts/update) that the
// abandoned-checkout reminder needs.
type checkout struct {
	ID                   id     `json:"id"`
	Token                string `json:"token"`
	Email                string `json:"email"`
	CreatedAt            string `json:"created_at"`
	UpdatedAt            string `json:"updated_at"`
	CompletedAt          string `json:"completed_at"`
	Currency             string `json:"currency"`
	PresentmentCurrency  string `json:"presentment_currency"`
	TotalPrice           money  `json:"total_price"`
	AbandonedCheckoutURL string `json:"abandoned_checkout_url"`
	LineItems            []struct {
		Title        string `json:"title"`
		VariantTitle string `json:"variant_title"`
		SKU          string `json:"sku"`
		Quantity     int    `json:"quantity"`
		Price        money  `json:"price"`
	} `json:"line_items"`
	Customer *struct {
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"customer"`
	BillingAddress *address `json:"billing_address"`
}

// checkoutOf maps a Shopify checkout to one the reminder keeps. Its
// external id is the token, which orders name as checkout_token.
func checkoutOf(body []byte) (integrations.Checkout, error) {
	var c checkout
	if err := json.Unmarshal(body, &c); err != nil {
		return integrations.Checkout{}, integrations.Permanent(fmt.Errorf("shopify: checkout body: %w", err))
	}
	ch := integrations.Checkout{
		Source: Name, ExternalID: firstOf(c.Token, string(c.ID)), Email: c.Email,
		Currency:    strings.ToUpper(firstOf(c.PresentmentCurrency, c.Currency)),
		RecoveryURL: webURL(c.AbandonedCheckoutURL),
	}
	if ch.ExternalID == "" {
		return ch, integrations.Permanent(fmt.Errorf("shopify: checkout without token or id"))
	}
	if cu := c.Customer; cu != nil {
		ch.Email = firstOf(ch.Email, cu.Email)
		ch.Name = strings.TrimSpace(cu.FirstName + " " + cu.LastName)
	}
	if ch.Name == "" && c.BillingAddress != nil {
		ch.Name = c.BillingAddress.fullName()
	}
	ch.Total, _ = c.TotalPrice.Minor(ch.Currency)
	for _, li := range c.LineItems {
		price, _ := li.Price.Minor(ch.Currency)
		title := li.Title
		if li.VariantTitle != "" {
			title += " – " + li.VariantTitle
		}
		ch.Items = append(ch.Items, integrations.CheckoutItem{
			Title: integrations.Text(title, 500), SKU: integrations.Text(li.SKU, 100), Quantity: max(li.Quantity, 1), UnitPrice: max(price, 0),
		})
	}
	ch.StartedAt = stamp(c.CreatedAt)
	ch.AbandonedAt = stamp(firstOf(c.UpdatedAt, c.CreatedAt))
	if c.CompletedAt != "" {
		t := stamp(c.CompletedAt)
		ch.CompletedAt = &t
	}
	return ch, nil
}

// stamp reads a time, or now when Shopify's is missing or unreadable.
func stamp(s string) time.Time {
	if v, err := integrations.ParseTime(s); err == nil {
		t, _ := time.Parse(time.RFC3339Nano, v)
		return t
	}
	return time.Now()
}

// applyCheckout records a checkout for the reminder (or its completion).
func (p *Provider) applyCheckout(ctx context.Context, body []byte) (string, error) {
	ch, err := checkoutOf(body)
	if err != nil {
		return "", err
	}
	if p.d.Checkouts == nil {
		return integrations.Ignored("abandoned checkouts are not kept"), nil
	}
	return p.d.Checkouts.Record(ctx, ch)
}
