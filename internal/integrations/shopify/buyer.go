package shopify

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
)

// What an order tells of its buyer beyond name and email: where it goes,
// the card that paid, and how the shopper came (for fraud checks and
// referral attribution).

// address is a Shopify address (shipping or billing); any field may be null.
type address struct {
	Name         string `json:"name"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Address1     string `json:"address1"`
	Address2     string `json:"address2"`
	City         string `json:"city"`
	Province     string `json:"province"`
	ProvinceCode string `json:"province_code"`
	Zip          string `json:"zip"`
	CountryCode  string `json:"country_code"`
}

func (a *address) fullName() string {
	return firstOf(a.Name, strings.TrimSpace(a.FirstName+" "+a.LastName))
}

// input is the address for commerce, or nil when it is not one commerce
// can keep (no street, no valid country): an address is a hint for fraud
// checks, not a reason to refuse an order.
func (a *address) input() *commerce.AddressInput {
	if a == nil || strings.TrimSpace(a.Address1) == "" || !commerce.ValidCountry(strings.ToUpper(strings.TrimSpace(a.CountryCode))) {
		return nil
	}
	return &commerce.AddressInput{
		Name: a.fullName(), Line1: a.Address1, Line2: a.Address2, City: a.City,
		Region: firstOf(a.ProvinceCode, a.Province), PostalCode: a.Zip, Country: a.CountryCode,
	}
}

// fingerprint identifies the card across Shopify orders (first digits,
// last four and brand), or "" when the order does not say.
func (o order) fingerprint() string {
	p := o.PaymentDetails
	if p == nil || p.CreditCardBin == "" || p.CreditCardNumber == "" {
		return ""
	}
	last4 := p.CreditCardNumber
	if len(last4) > 4 {
		last4 = last4[len(last4)-4:]
	}
	sum := sha256.Sum256([]byte(strings.ToLower(p.CreditCardBin + "|" + last4 + "|" + p.CreditCardCompany)))
	return "shopify:" + hex.EncodeToString(sum[:16])
}

// attribution reads the referral code and device id a storefront passed
// as cart attributes (referral_code or ref, device_id), or the ref
// parameter of the landing page.
func (o order) attribution() *commerce.AttributionInput {
	var a commerce.AttributionInput
	for _, na := range o.NoteAttributes {
		switch strings.ToLower(strings.TrimSpace(na.Name)) {
		case "referral_code", "ref", "aftercare_ref":
			a.ReferralCode = string(na.Value)
		case "device_id", "aftercare_device":
			a.DeviceID = string(na.Value)
		}
	}
	if a.ReferralCode == "" && o.LandingSite != "" {
		if u, err := url.Parse(o.LandingSite); err == nil {
			a.ReferralCode = strings.TrimSpace(u.Query().Get("ref"))
		}
	}
	if a == (commerce.AttributionInput{}) {
		return nil
	}
	return &a
}
