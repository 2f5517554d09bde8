package web

import (
	"fmt"
	"html/template"
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
func Money(minor int64, currency string) string {
	digits := money.Exponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	scale := int64(1)
	for i := 0; i < digits; i++ {
		scale *= 10
	}
	whole, frac := minor/scale, minor%scale
	s := groupThousands(whole)
	if digits > 0 {
		s += fmt.Sprintf(".%0*d", digits, frac)
	}
	if sym, ok := currencySymbols[currency]; ok {
		s = sym + s
	} else {
		s = s + " " + currency
	}
	if neg {
		s = "−" + s
	}
	return s
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// InZone converts t to the named IANA zone, falling back to UTC.
func InZone(t time.Time, zone string) time.Time {
	loc, ok := settings.Zone(zone)
	if !ok {
		return t.UTC()
	}
	return t.In(loc)
}
