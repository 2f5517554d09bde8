package commerce

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

// OrderInput is an order as a store sends it (POST /api/v1/orders). Amounts
// are integers in minor units of Currency. Source names the sending system
// and defaults to "api".
type OrderInput struct {
	Source           string        `json:"source"`
	ExternalID       string        `json:"external_id"`
	Number           string        `json:"number"`
	Customer         CustomerInput `json:"customer"`
	PlacedAt         string        `json:"placed_at"`
	Currency         string        `json:"currency"`
	Items            []ItemInput   `json:"items"`
	Subtotal         int64         `json:"subtotal"`
	Discount         int64         `json:"discount"`
	Shipping         int64         `json:"shipping"`
	Tax              int64         `json:"tax"`
	Total            int64         `json:"total"`
	DiscountCodes    []string      `json:"discount_codes"`
	PaymentReference string        `json:"payment_reference"`
	// ShippingAddress, PaymentFingerprint (such as a Stripe card
	// fingerprint) and Attribution feed fraud checks and referral
	// attribution; each may be left out.
	ShippingAddress    *AddressInput     `json:"shipping_address"`
	PaymentFingerprint string            `json:"payment_fingerprint"`
	Attribution        *AttributionInput `json:"attribution"`
}

// CustomerInput is the buyer of an order.
type CustomerInput struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	// MarketingConsent, when sent, records whether the shopper agreed at
	// checkout to marketing email (review requests, offers). Absent keeps
	// what is stored; an unsubscribe is never undone by an order.
	MarketingConsent *bool `json:"marketing_consent"`
}

// ItemInput is one line of an order.
type ItemInput struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// orderData is a validated, normalized order. Its JSON form is canonical:
// the same order always encodes to the same bytes, whatever the order of
// keys, white space, email case or time zone it was sent with. Fields added
// after the first release are omitted when empty, so that an order sent
// without them keeps the hash it was stored with.
type orderData struct {
	Source           string     `json:"source"`
	ExternalID       string     `json:"external_id"`
	Number           string     `json:"number"`
	Email            string     `json:"email"`
	Name             string     `json:"name"`
	PlacedAt         time.Time  `json:"placed_at"`
	Currency         string     `json:"currency"`
	Items            []itemData `json:"items"`
	Subtotal         int64      `json:"subtotal"`
	Discount         int64      `json:"discount"`
	Shipping         int64      `json:"shipping"`
	Tax              int64      `json:"tax"`
	Total            int64      `json:"total"`
	DiscountCodes    []string   `json:"discount_codes"`
	PaymentReference string     `json:"payment_reference"`

	ShippingAddress    *Address `json:"shipping_address,omitempty"`
	PaymentFingerprint string   `json:"payment_fingerprint,omitempty"`
	ReferralCode       string   `json:"referral_code,omitempty"`
	DeviceID           string   `json:"device_id,omitempty"`
	MarketingConsent   *bool    `json:"marketing_consent,omitempty"`
}

type itemData struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// validSource reports whether s names a sending system: 1 to 32 of
// a-z, 0-9, _ and -.
func validSource(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) < 0
}

// validate normalizes in and returns every problem as a fault.Fields error
// whose field names are JSON paths into the request (items[2].quantity).
func (in OrderInput) validate(now time.Time) (orderData, error) {
	var f fault.Fields
	d := orderData{
		Source:           strings.TrimSpace(in.Source),
		ExternalID:       text(&f, "external_id", in.ExternalID, 255, true, false),
		Number:           text(&f, "number", in.Number, 255, false, false),
		Email:            email(&f, "customer.email", in.Customer.Email),
		Name:             text(&f, "customer.name", in.Customer.Name, 200, false, false),
		Currency:         strings.ToUpper(strings.TrimSpace(in.Currency)),
		Subtotal:         in.Subtotal,
		Discount:         in.Discount,
		Shipping:         in.Shipping,
		Tax:              in.Tax,
		Total:            in.Total,
		PaymentReference: text(&f, "payment_reference", in.PaymentReference, 255, false, false),
		DiscountCodes:    []string{},

		ShippingAddress:    in.ShippingAddress.validate(&f, "shipping_address"),
		PaymentFingerprint: text(&f, "payment_fingerprint", in.PaymentFingerprint, 255, false, false),
		MarketingConsent:   in.Customer.MarketingConsent,
	}
	if a := in.Attribution; a != nil {
		d.ReferralCode = text(&f, "attribution.referral_code", a.ReferralCode, 64, false, false)
		d.DeviceID = text(&f, "attribution.device_id", a.DeviceID, 255, false, false)
	}
	if d.Source == "" {
		d.Source = "api"
	} else if !validSource(d.Source) {
		f.Add("source", "must be 1 to 32 characters of a-z, 0-9, _ and -")
	}
	if d.Number == "" {
		d.Number = d.ExternalID
	}
	d.PlacedAt, _ = instant(&f, "placed_at", in.PlacedAt, now, true)
	if !ValidCurrency(d.Currency) {
		f.Add("currency", "must be an ISO 4217 code such as EUR")
	}
	for i, c := range in.DiscountCodes {
		if c = text(&f, fmt.Sprintf("discount_codes[%d]", i), c, 100, true, false); c != "" {
			d.DiscountCodes = append(d.DiscountCodes, c)
		}
	}
	if len(in.DiscountCodes) > 50 {
		f.Add("discount_codes", "must list at most 50 codes")
	}
	d.Items = validateItems(&f, in.Items)
	amount(&f, "subtotal", d.Subtotal)
	amount(&f, "discount", d.Discount)
	amount(&f, "shipping", d.Shipping)
	amount(&f, "tax", d.Tax)
	amount(&f, "total", d.Total)
	if err := f.Err(); err != nil {
		return d, err
	}
	// Sums are checked only on valid amounts, which cannot overflow.
	var sum int64
	for _, it := range d.Items {
		sum += int64(it.Quantity) * it.UnitPrice
	}
	if d.Subtotal != sum {
		f.Add("subtotal", fmt.Sprintf("must be the sum of quantity × unit_price over items (%d)", sum))
	}
	if want := d.Subtotal - d.Discount + d.Shipping + d.Tax; d.Total != want {
		f.Add("total", fmt.Sprintf("must be subtotal - discount + shipping + tax (%d)", want))
	}
	return d, f.Err()
}

func validateItems(f *fault.Fields, items []ItemInput) []itemData {
	if len(items) == 0 {
		f.Add("items", "must list at least one item")
		return nil
	}
	if len(items) > MaxOrderItems {
		f.Add("items", fmt.Sprintf("must list at most %d items", MaxOrderItems))
		return nil
	}
	out := make([]itemData, len(items))
	for i, it := range items {
		p := fmt.Sprintf("items[%d]", i)
		out[i] = itemData{
			SKU:       text(f, p+".sku", it.SKU, 100, true, false),
			Title:     text(f, p+".title", it.Title, 500, true, false),
			Quantity:  it.Quantity,
			UnitPrice: it.UnitPrice,
		}
		if it.Quantity < 1 {
			f.Add(p+".quantity", "must be at least 1")
		} else if it.Quantity > maxQuantity {
			f.Add(p+".quantity", fmt.Sprintf("must be at most %d", maxQuantity))
		}
		amount(f, p+".unit_price", it.UnitPrice)
		if it.Quantity >= 1 && it.Quantity <= maxQuantity && it.UnitPrice > 0 && it.UnitPrice <= maxAmount &&
			int64(it.Quantity) > maxAmount/it.UnitPrice {
			f.Add(p+".quantity", "makes the line amount too large")
		}
	}
	return out
}

// hash is the SHA-256 of the canonical form; equal hashes mean a retry.
func (d orderData) hash() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic("commerce: order data cannot be encoded: " + err.Error()) // plain strings and numbers only
	}
	h := sha256.Sum256(b)
	return h[:]
}

// ProductInput is a product as a store sends it (PUT /api/v1/products/{sku}).
// It replaces the product's fields; Returnable defaults to true.
type ProductInput struct {
	Title         string `json:"title"`
	ImageURL      string `json:"image_url"`
	ProductURL    string `json:"product_url"`
	Returnable    *bool  `json:"returnable"`
	ReplenishDays *int   `json:"replenish_days"`
	GuideMD       string `json:"guide_md"`
	GuideVideoURL string `json:"guide_video_url"`
}

func (in ProductInput) validate(sku string) (Product, error) {
	var f fault.Fields
	p := Product{
		SKU:           text(&f, "sku", sku, 100, true, false),
		Title:         text(&f, "title", in.Title, 500, true, false),
		ImageURL:      webURL(&f, "image_url", in.ImageURL),
		ProductURL:    webURL(&f, "product_url", in.ProductURL),
		Returnable:    in.Returnable == nil || *in.Returnable,
		ReplenishDays: in.ReplenishDays,
		GuideMD:       text(&f, "guide_md", in.GuideMD, 100_000, false, true),
		GuideVideoURL: webURL(&f, "guide_video_url", in.GuideVideoURL),
	}
	if in.ReplenishDays != nil && (*in.ReplenishDays < 1 || *in.ReplenishDays > 3650) {
		f.Add("replenish_days", "must be between 1 and 3650 days, or null")
	}
	return p, f.Err()
}
