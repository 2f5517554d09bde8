package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

type id = integrations.ID
type money = integrations.Decimal

// order is the part of a Shopify order that Aftercare reads.
type order struct {
	ID                  id     `json:"id"`
	Name                string `json:"name"`
	OrderNumber         id     `json:"order_number"`
	Email               string `json:"email"`
	ContactEmail        string `json:"contact_email"`
	CreatedAt           string `json:"created_at"`
	ProcessedAt         string `json:"processed_at"`
	UpdatedAt           string `json:"updated_at"`
	CancelledAt         string `json:"cancelled_at"`
	CancelReason        string `json:"cancel_reason"`
	Currency            string `json:"currency"`
	TotalPrice          money  `json:"total_price"`
	TotalDiscounts      money  `json:"total_discounts"`
	TotalLineItemsPrice money  `json:"total_line_items_price"`
	CheckoutToken       string `json:"checkout_token"`
	LandingSite         string `json:"landing_site"`
	DiscountCodes       []struct {
		Code string `json:"code"`
	} `json:"discount_codes"`
	NoteAttributes []struct {
		Name  string `json:"name"`
		Value id     `json:"value"`
	} `json:"note_attributes"`
	LineItems     []lineItem `json:"line_items"`
	ShippingLines []struct {
		Price money `json:"price"`
	} `json:"shipping_lines"`
	Customer *struct {
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"customer"`
	ShippingAddress *address `json:"shipping_address"`
	BillingAddress  *address `json:"billing_address"`
	PaymentDetails  *struct {
		CreditCardBin     string `json:"credit_card_bin"`
		CreditCardNumber  string `json:"credit_card_number"`
		CreditCardCompany string `json:"credit_card_company"`
	} `json:"payment_details"`
}

type lineItem struct {
	ID        id     `json:"id"`
	SKU       string `json:"sku"`
	VariantID id     `json:"variant_id"`
	ProductID id     `json:"product_id"`
	Title     string `json:"title"`
	Name      string `json:"name"`
	Quantity  int    `json:"quantity"`
	Price     money  `json:"price"`
}

// skuOf is the SKU a line is recorded under: its own, or for a line
// without one a stable stand-in from the variant, product or line id, so
// that fulfillments of it can name it the same way.
func skuOf(sku string, variantID, productID, lineID id) string {
	switch {
	case strings.TrimSpace(sku) != "":
		return strings.TrimSpace(sku)
	case variantID != "":
		return "shopify-variant-" + string(variantID)
	case productID != "":
		return "shopify-product-" + string(productID)
	}
	return "shopify-line-" + string(lineID)
}

// decodeOrder reads an order webhook body (bare, or wrapped as the REST
// API answers: {"order": …}).
func decodeOrder(body []byte) (order, error) {
	var wrapped struct {
		Order *order `json:"order"`
	}
	if err := json.Unmarshal(body, &wrapped); err == nil && wrapped.Order != nil {
		return *wrapped.Order, nil
	}
	var o order
	if err := json.Unmarshal(body, &o); err != nil {
		return o, integrations.Permanent(fmt.Errorf("shopify: order body: %w", err))
	}
	return o, nil
}

// errNoEmail marks an order Aftercare cannot keep: without an email (a
// point-of-sale sale to nobody in particular) there is no shopper to serve.
var errNoEmail = fmt.Errorf("shopify: order has no email")

// orderInput maps a Shopify order to commerce's. Amounts are parsed
// exactly in the order's currency; totals are balanced so that the amount
// paid (total_price) is kept (see integrations.Totals.Balance).
func orderInput(o order) (commerce.OrderInput, error) {
	cur := strings.ToUpper(strings.TrimSpace(o.Currency))
	in := commerce.OrderInput{
		Source: Name, ExternalID: string(o.ID), Number: strings.TrimSpace(o.Name), Currency: cur,
		Customer: commerce.CustomerInput{Email: firstOf(o.Email, o.ContactEmail)},
	}
	if o.ID == "" {
		return in, integrations.Permanent(fmt.Errorf("shopify: order has no id"))
	}
	if in.Number == "" {
		in.Number = string(o.OrderNumber)
	}
	if c := o.Customer; c != nil {
		in.Customer.Email = firstOf(in.Customer.Email, c.Email)
		in.Customer.Name = integrations.Text(c.FirstName+" "+c.LastName, 200)
	}
	if in.Customer.Email == "" {
		return in, errNoEmail
	}
	if in.Customer.Name == "" && o.BillingAddress != nil {
		in.Customer.Name = integrations.Text(o.BillingAddress.fullName(), 200)
	}
	placed, err := integrations.ParseTime(firstOf(o.ProcessedAt, o.CreatedAt))
	if err != nil {
		return in, integrations.Permanent(fmt.Errorf("shopify: order %s: %w", o.ID, err))
	}
	in.PlacedAt = placed
	var t integrations.Totals
	for _, li := range o.LineItems {
		if li.Quantity < 1 {
			continue
		}
		price, err := li.Price.Minor(cur)
		if err != nil {
			return in, integrations.Permanent(fmt.Errorf("shopify: line %s: %w", li.ID, err))
		}
		in.Items = append(in.Items, commerce.ItemInput{
			SKU:      integrations.Text(skuOf(li.SKU, li.VariantID, li.ProductID, li.ID), 100),
			Title:    integrations.Text(firstOf(li.Name, li.Title, "Item"), 500),
			Quantity: li.Quantity, UnitPrice: max(price, 0),
		})
		t.Subtotal += int64(li.Quantity) * max(price, 0)
	}
	if len(in.Items) == 0 {
		// An order with no lines left still happened; keep it as one line.
		sum, _ := o.TotalLineItemsPrice.Minor(cur)
		in.Items = []commerce.ItemInput{{SKU: "shopify-order", Title: "Order " + in.Number, Quantity: 1, UnitPrice: max(sum, 0)}}
		t.Subtotal = max(sum, 0)
	}
	for _, sl := range o.ShippingLines {
		v, err := sl.Price.Minor(cur)
		if err != nil {
			return in, integrations.Permanent(fmt.Errorf("shopify: shipping line: %w", err))
		}
		t.Shipping += v
	}
	if t.Discount, err = o.TotalDiscounts.Minor(cur); err != nil {
		return in, integrations.Permanent(fmt.Errorf("shopify: total_discounts: %w", err))
	}
	if t.Total, err = o.TotalPrice.Minor(cur); err != nil {
		return in, integrations.Permanent(fmt.Errorf("shopify: total_price: %w", err))
	}
	t = t.Balance()
	in.Subtotal, in.Discount, in.Shipping, in.Tax, in.Total = t.Subtotal, t.Discount, t.Shipping, t.Tax, t.Total
	for _, dc := range o.DiscountCodes {
		if c := strings.TrimSpace(dc.Code); c != "" {
			in.DiscountCodes = append(in.DiscountCodes, c)
		}
	}
	in.ShippingAddress = o.ShippingAddress.input()
	in.PaymentFingerprint = o.fingerprint()
	in.Attribution = o.attribution()
	return in, nil
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// applyOrder records an order (create, update, paid or cancelled), then
// its cancellation, and completes the checkout it came from.
func (p *Provider) applyOrder(ctx context.Context, body []byte) (string, error) {
	o, err := decodeOrder(body)
	if err != nil {
		return "", err
	}
	in, err := orderInput(o)
	if err == errNoEmail {
		return integrations.Ignored("order %s has no email address", o.ID), nil
	}
	if err != nil {
		return "", err
	}
	if updated, err := time.Parse(time.RFC3339, o.UpdatedAt); err == nil {
		newest, err := p.d.Resources.Advance(ctx, Name, "order", in.ExternalID, updated)
		if err != nil {
			return "", err
		}
		if !newest {
			return integrations.Ignored("a newer version of order %s was applied already", o.ID), nil
		}
	}
	rec, out, err := p.d.Commerce.UpsertOrder(ctx, in)
	if err != nil {
		return "", err
	}
	outcome := fmt.Sprintf("order %d %s", rec.ID, out)
	if strings.TrimSpace(o.CancelledAt) != "" {
		if _, cout, err := p.d.Commerce.CancelOrder(ctx, rec.ID, o.CancelReason); err != nil {
			return "", err
		} else if cout != commerce.Unchanged {
			outcome += ", cancelled"
		}
	}
	if o.CheckoutToken != "" && p.d.Checkouts != nil {
		if _, err := p.d.Checkouts.Complete(ctx, Name, o.CheckoutToken, rec.PlacedAt); err != nil {
			return "", err
		}
	}
	return outcome, nil
}
