package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/money"
	"github.com/aftercare/aftercare/internal/settings"
)

// Funcs are the template functions every page and email may use.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"money":    Money,
		"inZone":   InZone,
		"dateLong": func(t time.Time) string { return t.Format("Monday 2 January 2006") },
		"dateTime": func(t time.Time) string { return t.Format("Mon 2 Jan 2006, 15:04") },
		"isoTime":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"upper":    strings.ToUpper,
		"title": func(s string) string {
			s = strings.ReplaceAll(s, "_", " ")
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"add":     func(a, b int) int { return a + b },
		"safeCSS": func(s string) template.CSS { return template.CSS(s) },
	}
}

var currencySymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "CHF": "CHF "}

// Money formats an amount in minor units, e.g. Money(1999, "USD") = "$19.99".
// It is called for every price of every email and order page, so it
// builds the string in one stack buffer with strconv instead of fmt (whose
// Sprint and Sprintf were a tenth of an email's template time).
func Money(minor int64, currency string) string {
	digits := money.Exponent(currency)
	neg := minor < 0
	// The magnitude as unsigned, so that the most negative amount has one.
	mag := uint64(minor)
	if neg {
		mag = -mag
	}
	scale := uint64(1)
	for i := 0; i < digits; i++ {
		scale *= 10
	}
	whole, frac := mag/scale, mag%scale
	var buf [64]byte
	b := buf[:0]
	if neg {
		b = append(b, "−"...)
	}
	sym, ok := currencySymbols[currency]
	if ok {
		b = append(b, sym...)
	}
	b = appendGrouped(b, whole)
	if digits > 0 {
		b = append(b, '.')
		var f [20]byte
		fs := strconv.AppendUint(f[:0], frac, 10)
		for i := len(fs); i < digits; i++ {
			b = append(b, '0')
		}
		b = append(b, fs...)
	}
	if !ok {
		b = append(b, ' ')
		b = append(b, currency...)
	}
	return string(b)
}

// appendGrouped appends n in decimal with a comma between thousands.
func appendGrouped(b []byte, n uint64) []byte {
	var d [20]byte
	s := strconv.AppendUint(d[:0], n, 10)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, c)
	}
	return b
}

// InZone converts t to the named IANA zone, falling back to UTC.
func InZone(t time.Time, zone string) time.Time {
	loc, ok := settings.Zone(zone)
	if !ok {
		return t.UTC()
	}
	return t.In(loc)
}
