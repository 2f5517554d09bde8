package commerce

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/aftercare/aftercare/internal/fault"
)

// Address is where an order goes. Country is an ISO 3166-1 alpha-2 code in
// upper case; every other field is free text as the store sent it, trimmed.
// It is stored as a JSON object (orders.shipping_address).
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Normalized returns the address as one line for comparing two addresses
// (fraud checks ask whether a friend ships to the referrer's door): lower
// case, punctuation and symbols dropped, white space collapsed, the postal
// code without spaces. The recipient's name is left out: two people at one
// address are one address. Equal strings mean the same place as far as
// spelling allows; "" means no address.
func (a Address) Normalized() string {
	parts := []string{a.Line1, a.Line2, a.City, a.Region, strings.Join(strings.Fields(a.PostalCode), ""), a.Country}
	var words []string
	for _, p := range parts {
		p = strings.Map(func(r rune) rune {
			if unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r) {
				return ' '
			}
			return unicode.ToLower(r)
		}, p)
		words = append(words, strings.Fields(p)...)
	}
	return strings.Join(words, " ")
}

// Scan reads the jsonb column; database/sql leaves a *Address nil for NULL.
func (a *Address) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("commerce: scan address from %T", src)
	}
	return json.Unmarshal(b, a)
}

// Value writes the address as a JSON object.
func (a Address) Value() (driver.Value, error) {
	b, err := json.Marshal(a)
	return string(b), err
}

// AddressInput is a shipping address as a store sends it. Country is an ISO
// 3166-1 alpha-2 code in either case. An address whose fields are all blank
// counts as none.
type AddressInput struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// validate returns the normalized address, or nil when in is nil or blank;
// problems are named under path (shipping_address.country).
func (in *AddressInput) validate(f *fault.Fields, path string) *Address {
	if in == nil {
		return nil
	}
	a := Address{
		Name:       text(f, path+".name", in.Name, 200, false, false),
		Line1:      text(f, path+".line1", in.Line1, 300, false, false),
		Line2:      text(f, path+".line2", in.Line2, 300, false, false),
		City:       text(f, path+".city", in.City, 200, false, false),
		Region:     text(f, path+".region", in.Region, 200, false, false),
		PostalCode: text(f, path+".postal_code", in.PostalCode, 32, false, false),
		Country:    strings.ToUpper(strings.TrimSpace(in.Country)),
	}
	if a == (Address{}) {
		return nil
	}
	if a.Line1 == "" {
		f.Add(path+".line1", "is required in an address")
	}
	if !ValidCountry(a.Country) {
		f.Add(path+".country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	return &a
}

// AttributionInput says how the shopper came to the order: the referral
// code they used (any case) and the device they ordered from (a stable id
// the storefront keeps, for fraud checks). Both may be empty.
type AttributionInput struct {
	ReferralCode string `json:"referral_code"`
	DeviceID     string `json:"device_id"`
}

// ValidCountry reports whether code is an assigned ISO 3166-1 alpha-2 code
// (or XK, which carriers use for Kosovo), in upper case.
func ValidCountry(code string) bool {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return false
	}
	// Codes are pairs in one sorted string; a pair only matches at an even offset.
	for i := 0; i+1 < len(countryCodes); i += 2 {
		if countryCodes[i:i+2] == code {
			return true
		}
	}
	return false
}

// countryCodes are the ISO 3166-1 alpha-2 codes, concatenated.
const countryCodes = "AD" + "AEAFAGAIALAMAOAQARASATAUAWAXAZ" +
	"BABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ" +
	"CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZ" +
	"DEDJDKDMDODZ" +
	"ECEEEGEHERESET" +
	"FIFJFKFMFOFR" +
	"GAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGY" +
	"HKHMHNHRHTHU" +
	"IDIEILIMINIOIQIRISIT" +
	"JEJMJOJP" +
	"KEKGKHKIKMKNKPKRKWKYKZ" +
	"LALBLCLILKLRLSLTLULVLY" +
	"MAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZ" +
	"NANCNENFNGNINLNONPNRNUNZ" +
	"OM" +
	"PAPEPFPGPHPKPLPMPNPRPSPTPWPY" +
	"QA" +
	"RERORSRURW" +
	"SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZ" +
	"TCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZ" +
	"UAUGUMUSUYUZ" +
	"VAVCVEVGVIVN" +
	"VU" +
	"WFWS" +
	"XK" +
	"YEYT" +
	"ZAZMZW"
