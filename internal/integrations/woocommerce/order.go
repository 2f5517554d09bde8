package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/integrations"
)

type id = integrations.ID
type money = integrations.Decimal

// order is the part of a WooCommerce order (REST API v3) Aftercare reads.
// Totals are decimal strings, line prices numbers, names carry HTML
// entities, and dates have no zone (the *_gmt twins are UTC).
type order struct {
	ID              id     `json:"id"`
	Number          id     `json:"number"`
	Status          string `json:"status"`
	Currency        string `json:"currency"`
	DateCreatedGMT  string `json:"date_created_gmt"`
	DateModifiedGMT string `json:"date_modified_gmt"`
	DatePaidGMT     string `json:"date_paid_gmt"`
	DiscountTotal   money  `json:"discount_total"`
	ShippingTotal   money  `json:"shipping_total"`
	Total           money  `json:"total"`
	TransactionID   string `json:"transaction_id"`
	Billing         struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"billing"`
	Shipping struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Address1  string `json:"address_1"`
		Address2  string `json:"address_2"`
		City      string `json:"city"`
		State     string `json:"state"`
		Postcode  string `json:"postcode"`
		Country   string `json:"country"`
	} `json:"shipping"`
	LineItems []struct {
		ID          id     `json:"id"`
		Name        string `json:"name"`
		ProductID   id     `json:"product_id"`
		VariationID id     `json:"variation_id"`
		Quantity    int    `json:"quantity"`
		Subtotal    money  `json:"subtotal"`
		SKU         string `json:"sku"`
	} `json:"line_items"`
	CouponLines []struct {
		Code string `json:"code"`
	} `json:"coupon_lines"`
	Refunds []struct {
		ID     id     `json:"id"`
		Reason string `json:"reason"`
		Total  money  `json:"total"`
	} `json:"refunds"`
	MetaData []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"meta_data"`
}

func decodeOrder(body []byte) (order, error) {
	var o order
	if err := json.Unmarshal(body, &o); err != nil {
		return o, integrations.Permanent(fmt.Errorf("woocommerce: order body: %w", err))
	}
	if o.ID == "" {
		return o, integrations.Permanent(fmt.Errorf("woocommerce: order without id"))
	}
	return o, nil
}

// paid reports whether the shopper has paid: WooCommerce records pending,
// failed and draft orders too, which are no purchase yet.
func (o order) paid() bool {
	return strings.TrimSpace(o.DatePaidGMT) != "" || o.Status == "processing" || o.Status == "completed"
}

// skuOf is a line's SKU, or a stable stand-in from its product.
func skuOf(sku string, productID, variationID id) string {
	switch {
	case strings.TrimSpace(sku) != "":
		return strings.TrimSpace(sku)
	case variationID != "" && variationID != "0":
		return "woocommerce-" + string(productID) + "-" + string(variationID)
	}
	return "woocommerce-" + string(productID)
}

var errNoEmail = fmt.Errorf("woocommerce: order has no billing email")

// orderInput maps a WooCommerce order to commerce's, keeping the amount
// paid (see integrations.Totals.Balance: the tax is what remains).
func orderInput(o order) (commerce.OrderInput, error) {
	cur := strings.ToUpper(strings.TrimSpace(o.Currency))
	in := commerce.OrderInput{
		Source: Name, ExternalID: string(o.ID), Number: firstOf(string(o.Number), string(o.ID)), Currency: cur,
		Customer: commerce.CustomerInput{
			Email: strings.TrimSpace(o.Billing.Email),
			Name:  integrations.Text(html.UnescapeString(o.Billing.FirstName+" "+o.Billing.LastName), 200),
		},
		PaymentReference: integrations.Text(o.TransactionID, 255),
	}
	if in.Customer.Email == "" {
		return in, errNoEmail
	}
	placed, err := integrations.ParseTime(o.DateCreatedGMT)
	if err != nil {
		return in, integrations.Permanent(fmt.Errorf("woocommerce: order %s: %w", o.ID, err))
	}
	in.PlacedAt = placed
	var t integrations.Totals
	for _, li := range o.LineItems {
		if li.Quantity < 1 {
			continue
		}
		sub, err := li.Subtotal.Minor(cur)
		if err != nil {
			return in, integrations.Permanent(fmt.Errorf("woocommerce: line %s: %w", li.ID, err))
		}
		// The unit price before discounts; a remainder of the division lands
		// in the balance below.
		unit := max(sub, 0) / int64(li.Quantity)
		in.Items = append(in.Items, commerce.ItemInput{
			SKU:   integrations.Text(skuOf(li.SKU, li.ProductID, li.VariationID), 100),
			Title: integrations.Text(firstOf(html.UnescapeString(li.Name), "Item"), 500), Quantity: li.Quantity, UnitPrice: unit,
		})
		t.Subtotal += unit * int64(li.Quantity)
	}
	if len(in.Items) == 0 {
		return in, integrations.Permanent(fault.Field("line_items", "the order has no line with a quantity"))
	}
	if t.Discount, err = o.DiscountTotal.Minor(cur); err == nil {
		if t.Shipping, err = o.ShippingTotal.Minor(cur); err == nil {
			t.Total, err = o.Total.Minor(cur)
		}
	}
	if err != nil {
		return in, integrations.Permanent(fmt.Errorf("woocommerce: order %s totals: %w", o.ID, err))
	}
	t = t.Balance()
	in.Subtotal, in.Discount, in.Shipping, in.Tax, in.Total = t.Subtotal, t.Discount, t.Shipping, t.Tax, t.Total
	for _, c := range o.CouponLines {
		if code := strings.TrimSpace(c.Code); code != "" {
			in.DiscountCodes = append(in.DiscountCodes, code)
		}
	}
	in.ShippingAddress = o.address()
	in.Attribution = o.attribution()
	return in, nil
}

func (o order) address() *commerce.AddressInput {
	s := o.Shipping
	if strings.TrimSpace(s.Address1) == "" || !commerce.ValidCountry(strings.ToUpper(strings.TrimSpace(s.Country))) {
		return nil
	}
	return &commerce.AddressInput{Name: integrations.Text(html.UnescapeString(s.FirstName+" "+s.LastName), 200),
		Line1: html.UnescapeString(s.Address1), Line2: html.UnescapeString(s.Address2), City: html.UnescapeString(s.City),
		Region: s.State, PostalCode: s.Postcode, Country: s.Country}
}

// attribution reads a referral code and device id that the storefront
// saved as order meta (referral_code or _aftercare_ref, device_id or
// _aftercare_device).
func (o order) attribution() *commerce.AttributionInput {
	var a commerce.AttributionInput
	for _, m := range o.MetaData {
		var v integrations.ID
		if json.Unmarshal(m.Value, &v) != nil {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(m.Key)) {
		case "referral_code", "_referral_code", "aftercare_ref", "_aftercare_ref":
			a.ReferralCode = string(v)
		case "device_id", "_device_id", "aftercare_device", "_aftercare_device":
			a.DeviceID = string(v)
		}
	}
	if a == (commerce.AttributionInput{}) {
		return nil
	}
	return &a
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// applyOrder records a paid order (or updates one already recorded), then
// its cancellation and each of its refunds.
func (p *Provider) applyOrder(ctx context.Context, body []byte) (string, error) {
	o, err := decodeOrder(body)
	if err != nil {
		return "", err
	}
	if !o.paid() {
		if _, err := p.d.Commerce.OrderByExternal(ctx, Name, string(o.ID)); fault.KindOf(err) == fault.NotFound {
			return integrations.Ignored("order %s is %s, not paid yet", o.ID, o.Status), nil
		} else if err != nil {
			return "", err
		}
	}
	in, err := orderInput(o)
	if err == errNoEmail {
		return integrations.Ignored("order %s has no billing email", o.ID), nil
	}
	if err != nil {
		return "", err
	}
	if modified, err := time.Parse("2006-01-02T15:04:05", o.DateModifiedGMT); err == nil {
		newest, err := p.d.Resources.Advance(ctx, Name, "order", in.ExternalID, modified)
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
	if o.Status == "cancelled" {
		if _, cout, err := p.d.Commerce.CancelOrder(ctx, rec.ID, "cancelled in WooCommerce"); err != nil {
			return "", err
		} else if cout != commerce.Unchanged {
			outcome += ", cancelled"
		}
	}
	for _, r := range o.Refunds {
		amount, err := r.Total.Minor(rec.Currency)
		if err != nil {
			return "", integrations.Permanent(fmt.Errorf("woocommerce: refund %s: %w", r.ID, err))
		}
		if amount < 0 {
			amount = -amount // WooCommerce lists refunds as negative amounts
		}
		if amount == 0 || r.ID == "" {
			continue
		}
		ref, rout, err := p.d.Commerce.RefundOrder(ctx, commerce.RefundInput{OrderID: rec.ID, Amount: amount, Currency: rec.Currency,
			Reference: "woocommerce-refund:" + string(r.ID), Reason: integrations.Text(html.UnescapeString(r.Reason), 1000),
			Source: commerce.RefundFromWooCommerce})
		if err != nil {
			return "", err
		}
		if rout == commerce.Created {
			outcome += fmt.Sprintf(", refund %d of %d", ref.ID, amount)
		}
	}
	return outcome, nil
}
