package integrations

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aftercare/aftercare/internal/money"
)

// CurrencyExponent is the number of decimals of currency's minor unit
// (2 for USD, 0 for JPY, 3 for KWD); currency is an upper-case ISO code.
func CurrencyExponent(currency string) int {
	return money.Exponent(currency)
}

// maxMinor bounds parsed amounts far below int64 overflow (and at the
// largest amount commerce accepts).
const maxMinor int64 = 1_000_000_000_000_000

// ParseMoney turns a decimal amount in major units ("404.95", "12", "0.9",
// "1.5e1") into minor units of currency, exactly: no floating point is
// involved. Digits beyond the currency's exponent must be zeros ("10.000"
// is fine for USD, "10.005" is not); a leading "-" is allowed (WooCommerce
// writes refunds negative). "" is 0.
func ParseMoney(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if len(s) > 40 {
		return 0, fmt.Errorf("amount %.20q… is too long", s)
	}
	orig := s
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, ok := smallInt(s[i+1:])
		if !ok {
			return 0, fmt.Errorf("amount %q is not a decimal number", orig)
		}
		exp = e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("amount %q is not a decimal number", orig)
	}
	// The value is (whole.frac) × 10^exp; in minor units the decimal point
	// moves right by the exponent of the currency and of the number.
	all := whole + frac
	point := len(whole) + exp + CurrencyExponent(currency)
	if point < 0 {
		point, all = 0, strings.Repeat("0", -point)+all
	}
	for len(all) < point {
		all += "0"
	}
	intPart, rest := strings.TrimLeft(all[:point], "0"), all[point:]
	if strings.Trim(rest, "0") != "" {
		return 0, fmt.Errorf("amount %q has more decimals than %s allows", orig, currency)
	}
	if len(intPart) > 19 {
		return 0, fmt.Errorf("amount %q is too large", orig)
	}
	var v int64
	for _, c := range intPart {
		d := int64(c - '0')
		if v > (maxMinor-d)/10 {
			return 0, fmt.Errorf("amount %q is too large", orig)
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// smallInt parses an exponent of at most two digits with an optional sign.
func smallInt(s string) (int, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || len(s) > 2 || !digits(s) {
		return 0, false
	}
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// Decimal is an amount as a provider sends it: a JSON string ("404.95") or
// number (89.99, 3), kept as its decimal text so that it is never rounded
// through a float. null is "".
type Decimal string

// UnmarshalJSON accepts a string, a number or null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	*d = Decimal(s)
	return err
}

// Minor is the amount in minor units of currency (see ParseMoney).
func (d Decimal) Minor(currency string) (int64, error) { return ParseMoney(string(d), currency) }

// ID is an identifier as a provider sends it: a JSON number of any size
// (Shopify's exceed 2^53, which a float64 would corrupt) or a string, kept
// as text. null is "".
type ID string

// UnmarshalJSON accepts a string, a number or null.
func (i *ID) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	*i = ID(s)
	return err
}

// scalar returns the text of a JSON string or number, "" for null.
func scalar(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return "", nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return strings.TrimSpace(s), err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("want a string or a number, got %.20s", b)
	}
	return n.String(), nil
}
