package stripehook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// expandable is a field Stripe sends as an id or, when expanded, as the
// object: either way its id is known, and Raw holds the object.
type expandable struct {
	ID  string
	Raw json.RawMessage
}

// UnmarshalJSON accepts an id string, an object with an id, or null.
func (e *expandable) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*e = expandable{}
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &e.ID)
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	e.ID, e.Raw = obj.ID, append(json.RawMessage(nil), b...)
	return nil
}

// field reads one string field of the expanded object, "" if not expanded.
func (e expandable) field(name string) string {
	if len(e.Raw) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(e.Raw, &m) != nil {
		return ""
	}
	var s string
	json.Unmarshal(m[name], &s) //nolint:errcheck // absent or not a string: ""
	return strings.TrimSpace(s)
}

// stripeExponent is the number of decimals of currency in Stripe's amounts:
// its zero-decimal currencies, its three-decimal ones, else two (ISK too,
// which Stripe counts in hundredths although ISO gives it none).
func stripeExponent(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "JOD", "KWD", "OMR", "TND":
		return 3
	}
	return 2
}

// minor converts a Stripe amount to our minor units (ISO 4217 exponents),
// exactly; an amount that would lose digits is an error.
func minor(amount int64, currency string) (int64, error) {
	diff := integrations.CurrencyExponent(currency) - stripeExponent(currency)
	for ; diff > 0; diff-- {
		amount *= 10
	}
	for ; diff < 0; diff++ {
		if amount%10 != 0 {
			return 0, fmt.Errorf("amount %d %s has digits the currency does not have", amount, currency)
		}
		amount /= 10
	}
	return amount, nil
}

// currencyOf is a Stripe currency ("usd") as an ISO code ("USD").
func currencyOf(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// unix turns Stripe's seconds into RFC 3339, "" for none.
func unix(sec int64) string {
	if sec <= 0 {
		return ""
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

// address is a Stripe address.
type address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// shipping is a name with an address, in any of the places Stripe has kept
// a session's shipping details over its versions.
type shipping struct {
	Name    string   `json:"name"`
	Address *address `json:"address"`
}

func (s *shipping) input() *commerce.AddressInput {
	if s == nil || s.Address == nil || strings.TrimSpace(s.Address.Line1) == "" ||
		!commerce.ValidCountry(strings.ToUpper(strings.TrimSpace(s.Address.Country))) {
		return nil
	}
	a := s.Address
	return &commerce.AddressInput{Name: integrations.Text(s.Name, 200), Line1: a.Line1, Line2: a.Line2, City: a.City,
		Region: a.State, PostalCode: a.PostalCode, Country: a.Country}
}

// session is a Checkout Session as any API version sends it.
type session struct {
	ID              string                     `json:"id"`
	Object          string                     `json:"object"`
	Mode            string                     `json:"mode"`
	PaymentStatus   string                     `json:"payment_status"`
	Created         int64                      `json:"created"`
	Currency        string                     `json:"currency"`
	AmountSubtotal  *int64                     `json:"amount_subtotal"`
	AmountTotal     *int64                     `json:"amount_total"`
	CustomerEmail   string                     `json:"customer_email"`
	Customer        expandable                 `json:"customer"`
	PaymentIntent   expandable                 `json:"payment_intent"`
	RecoveredFrom   string                     `json:"recovered_from"`
	Metadata        map[string]integrations.ID `json:"metadata"`
	CustomerDetails *struct {
		Email   string   `json:"email"`
		Name    string   `json:"name"`
		Address *address `json:"address"`
	} `json:"customer_details"`
	TotalDetails *struct {
		AmountDiscount int64 `json:"amount_discount"`
		AmountShipping int64 `json:"amount_shipping"`
		AmountTax      int64 `json:"amount_tax"`
		Breakdown      *struct {
			Discounts []struct {
				Discount struct {
					PromotionCode expandable `json:"promotion_code"`
				} `json:"discount"`
			} `json:"discounts"`
		} `json:"breakdown"`
	} `json:"total_details"`
	Discounts []struct {
		PromotionCode expandable `json:"promotion_code"`
	} `json:"discounts"`
	LineItems *struct {
		Data []struct {
			Description    string `json:"description"`
			Quantity       int    `json:"quantity"`
			AmountSubtotal int64  `json:"amount_subtotal"`
			Price          *struct {
				ID      string     `json:"id"`
				Product expandable `json:"product"`
			} `json:"price"`
		} `json:"data"`
	} `json:"line_items"`
	ShippingDetails      *shipping `json:"shipping_details"`
	Shipping             *shipping `json:"shipping"`
	CollectedInformation *struct {
		ShippingDetails *shipping `json:"shipping_details"`
	} `json:"collected_information"`
	AfterExpiration *struct {
		Recovery *struct {
			Enabled bool   `json:"enabled"`
			URL     string `json:"url"`
		} `json:"recovery"`
	} `json:"after_expiration"`
}

func decodeSession(raw json.RawMessage) (session, error) {
	var s session
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, integrations.Permanent(fmt.Errorf("stripe: checkout session: %w", err))
	}
	if s.ID == "" || (s.Object != "" && s.Object != "checkout.session") {
		return s, integrations.Permanent(fmt.Errorf("stripe: the event's object is not a checkout session"))
	}
	return s, nil
}

func (s session) email() string {
	if s.CustomerDetails != nil && s.CustomerDetails.Email != "" {
		return s.CustomerDetails.Email
	}
	if s.CustomerEmail != "" {
		return s.CustomerEmail
	}
	return s.Customer.field("email")
}

func (s session) name() string {
	if s.CustomerDetails != nil && s.CustomerDetails.Name != "" {
		return s.CustomerDetails.Name
	}
	return s.Customer.field("name")
}

// shippingAddress looks where each API version keeps it: the newest first.
func (s session) shippingAddress() *commerce.AddressInput {
	var candidates []*shipping
	if s.CollectedInformation != nil {
		candidates = append(candidates, s.CollectedInformation.ShippingDetails)
	}
	candidates = append(candidates, s.ShippingDetails, s.Shipping)
	for _, c := range candidates {
		if a := c.input(); a != nil {
			return a
		}
	}
	return nil
}

// promotionCodes are the session's promotion codes, as ids or (expanded)
// objects, from the discounts of current API versions or the expanded
// total_details breakdown of older ones.
func (s session) promotionCodes() []expandable {
	var out []expandable
	for _, d := range s.Discounts {
		if d.PromotionCode.ID != "" {
			out = append(out, d.PromotionCode)
		}
	}
	if td := s.TotalDetails; td != nil && td.Breakdown != nil {
		for _, d := range td.Breakdown.Discounts {
			if d.Discount.PromotionCode.ID != "" {
				out = append(out, d.Discount.PromotionCode)
			}
		}
	}
	return out
}

func (s session) meta(keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(string(s.Metadata[k])); v != "" {
			return v
		}
	}
	return ""
}
