package integrations

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Totals are an order's amounts as a provider reports them, in minor units.
// Providers disagree on what their totals include (taxes inside prices or
// on top, line discounts in the total discount or not), and commerce wants
// Total = Subtotal - Discount + Shipping + Tax exactly.
type Totals struct {
	Subtotal, Discount, Shipping, Tax, Total int64
}

// Balance returns totals commerce accepts while keeping what the shopper
// paid: Subtotal is the sum of the lines (the caller sets it so), Total
// stays, and the difference lands in Tax (zero when prices include tax) or,
// when the reported parts add up to more than was paid, in Discount. A
// negative or missing Total (0) is taken as the sum of the parts.
func (t Totals) Balance() Totals {
	if t.Discount < 0 {
		t.Discount = -t.Discount
	}
	t.Shipping, t.Tax = max(t.Shipping, 0), max(t.Tax, 0)
	if t.Total <= 0 {
		t.Total = max(t.Subtotal-t.Discount+t.Shipping+t.Tax, 0)
	}
	rest := t.Total - (t.Subtotal - t.Discount + t.Shipping)
	if rest >= 0 {
		t.Tax = rest
		return t
	}
	t.Tax = 0
	t.Discount = t.Subtotal + t.Shipping - t.Total
	return t
}

// ParseTime reads a provider's timestamp: RFC 3339 with any offset, or
// without one ("2017-03-22T19:28:02", "2017-03-22 19:28:02", as WooCommerce
// and AfterShip write them), which is taken as UTC. It returns the instant
// in RFC 3339 (UTC) as commerce wants it.
func ParseTime(s string) (string, error) {
	t, err := parseTime(s)
	if err != nil {
		return "", err
	}
	return t.UTC().Format(time.RFC3339Nano), nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not in a known format", s)
}

// Day is the calendar date (YYYY-MM-DD) of a provider's date or timestamp
// ("2024-08-05T00:00:00Z", "2024-08-05"), "" when s is empty or unreadable:
// an estimated delivery is a hint, not worth failing an event for.
func Day(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 10 {
		if t, err := time.Parse(time.DateOnly, s[:10]); err == nil && t.Year() >= 1970 {
			return t.Format(time.DateOnly)
		}
	}
	return ""
}

// Place joins the non-empty parts of a location ("Ottawa, ON, CA").
func Place(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}

// carrierAliases maps carrier names, lower-cased with everything but
// letters and digits dropped, to one slug per carrier (AfterShip's, which
// most systems also use), so that a parcel Shopify reports as "Canada Post"
// is the one AfterShip tracks as "canada-post" and EasyPost as "CanadaPost".
var carrierAliases = map[string]string{
	"usps": "usps", "unitedstatespostalservice": "usps",
	"ups": "ups", "unitedparcelservice": "ups",
	"fedex": "fedex", "federalexpress": "fedex", "fedexground": "fedex", "fedexexpress": "fedex",
	"dhl": "dhl", "dhlexpress": "dhl",
	"canadapost": "canada-post", "postescanada": "canada-post",
	"royalmail": "royal-mail", "australiapost": "australia-post", "auspost": "australia-post",
	"dpd": "dpd", "gls": "gls", "ontrac": "ontrac", "lasership": "lasership", "purolator": "purolator",
}

// CarrierSlug is the carrier's canonical name for new shipments: the
// known slug of an alias, else the name lower-cased with spaces as dashes;
// "other" for a blank name.
func CarrierSlug(name string) string {
	key := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, name)
	if slug, ok := carrierAliases[key]; ok {
		return slug
	}
	s := strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(name, "_", " "))), "-")
	if s == "" {
		return "other"
	}
	return s
}

// CarrierNames are the spellings under which a shipment of this carrier
// may be recorded: its slug, then the name as sent (lower-cased), for
// shipments the store pushed through the API in its own spelling.
func CarrierNames(name string) []string {
	out := []string{CarrierSlug(name)}
	if raw := strings.ToLower(strings.TrimSpace(name)); raw != "" && raw != out[0] {
		out = append(out, raw)
	}
	return out
}

// Text makes a provider's free text fit a field of at most n characters:
// valid UTF-8, control characters as spaces, runs of space collapsed,
// trimmed, and cut at n characters. Commerce refuses what does not fit;
// a carrier's long or odd message is not worth failing an event for.
func Text(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = strings.TrimSpace(string(r[:n]))
	}
	return s
}
