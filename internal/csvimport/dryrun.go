package csvimport

import (
	"context"
	"fmt"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
)

// dryOrder says what importing an order would do without doing it: the
// checks commerce makes on an order's own fields (a dry run cannot ask it
// without writing), then a comparison with the order on record.
func (im *Importer) dryOrder(ctx context.Context, od *order) (commerce.Outcome, error) {
	if err := check(od.in, im.now()); err != nil {
		return "", err
	}
	old, err := im.svc.OrderByExternal(ctx, od.in.Source, od.in.ExternalID)
	if fault.KindOf(err) == fault.NotFound {
		return commerce.Created, nil
	}
	if err != nil {
		return "", err
	}
	if same(old, od.in) {
		return commerce.Unchanged, nil
	}
	return commerce.Updated, nil
}

// check is commerce's validation of an order, as far as it concerns the
// order alone; its field paths are commerce's.
func check(in commerce.OrderInput, now time.Time) error {
	var f fault.Fields
	email := strings.ToLower(strings.TrimSpace(in.Customer.Email))
	if a, err := netmail.ParseAddress(email); err != nil || a.Address != email {
		f.Add("customer.email", "must be an email address such as name@example.com")
	}
	if !commerce.ValidCurrency(strings.ToUpper(in.Currency)) {
		f.Add("currency", "must be an ISO 4217 code such as EUR")
	}
	if t, err := time.Parse(time.RFC3339Nano, in.PlacedAt); err != nil {
		f.Add("placed_at", "is required")
	} else if t.After(now.Add(24 * time.Hour)) {
		f.Add("placed_at", "must not be more than a day in the future")
	}
	for i, it := range in.Items {
		p := fmt.Sprintf("items[%d]", i)
		if it.SKU == "" {
			f.Add(p+".sku", "is required")
		}
		if it.Title == "" {
			f.Add(p+".title", "is required")
		}
		if it.Quantity < 1 {
			f.Add(p+".quantity", "must be at least 1")
		}
		if it.UnitPrice < 0 {
			f.Add(p+".unit_price", "must not be negative")
		}
	}
	for name, v := range map[string]int64{"discount": in.Discount, "shipping": in.Shipping, "tax": in.Tax, "total": in.Total} {
		if v < 0 {
			f.Add(name, "must not be negative")
		}
	}
	if want := in.Subtotal - in.Discount + in.Shipping + in.Tax; in.Total != want {
		f.Add("total", fmt.Sprintf("must be subtotal - discount + shipping + tax (%d)", want))
	}
	if a := in.ShippingAddress; a != nil {
		if strings.TrimSpace(a.Line1) == "" {
			f.Add("shipping_address.line1", "is required in an address")
		}
		if !commerce.ValidCountry(strings.ToUpper(strings.TrimSpace(a.Country))) {
			f.Add("shipping_address.country", "must be an ISO 3166-1 alpha-2 code such as DE")
		}
	}
	return f.Err()
}

// same reports whether the order on record already holds what in says.
func same(o commerce.Order, in commerce.OrderInput) bool {
	placed, err := time.Parse(time.RFC3339Nano, in.PlacedAt)
	number := firstOf(in.Number, in.ExternalID)
	if err != nil || !placed.Equal(o.PlacedAt) || o.Number != number || o.Currency != strings.ToUpper(in.Currency) ||
		o.Customer.Email != strings.ToLower(strings.TrimSpace(in.Customer.Email)) ||
		(in.Customer.Name != "" && o.Customer.Name != in.Customer.Name) ||
		o.SubtotalMinor != in.Subtotal || o.DiscountMinor != in.Discount || o.ShippingMinor != in.Shipping ||
		o.TaxMinor != in.Tax || o.TotalMinor != in.Total || o.PaymentReference != in.PaymentReference ||
		!slices.Equal([]string(o.DiscountCodes), nonNil(in.DiscountCodes)) || len(o.Items) != len(in.Items) {
		return false
	}
	for i, it := range in.Items {
		got := o.Items[i]
		if got.SKU != it.SKU || got.Title != it.Title || got.Quantity != it.Quantity || got.UnitPriceMinor != it.UnitPrice {
			return false
		}
	}
	ref := ""
	if in.Attribution != nil {
		ref = in.Attribution.ReferralCode
	}
	if o.ReferralCode != ref {
		return false
	}
	a := in.ShippingAddress
	switch {
	case a == nil:
		return o.ShippingAddress == nil
	case o.ShippingAddress == nil:
		return false
	}
	b := *o.ShippingAddress
	return b.Name == a.Name && b.Line1 == a.Line1 && b.Line2 == a.Line2 && b.City == a.City && b.Region == a.Region &&
		b.PostalCode == a.PostalCode && b.Country == strings.ToUpper(a.Country)
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
