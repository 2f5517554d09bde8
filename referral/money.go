package referral

import (
	"strconv"
	"strings"

	"github.com/aftercare/aftercare/internal/money"
)

// minorDigits is how many decimals a currency's minor unit has.
func minorDigits(cur string) int { return money.Exponent(cur) }

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// parseMinor reads an amount typed in major units ("10", "10.5", "10.50")
// into minor units of cur; false for anything else or a negative amount.
func parseMinor(s, cur string) (int64, bool) {
	digits := minorDigits(cur)
	whole, frac, hasFrac := strings.Cut(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), ".")
	if whole == "" {
		whole = "0"
	}
	if (hasFrac && (frac == "" || len(frac) > digits)) || len(whole) > 12 {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 {
		return 0, false
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || f < 0 {
			return 0, false
		}
		f *= pow10(digits - len(frac))
	}
	return w*pow10(digits) + f, true
}

// formatMinor writes minor units of cur as major units for a form field
// ("10.00"); 0 is "".
func formatMinor(minor int64, cur string) string {
	if minor == 0 {
		return ""
	}
	digits := minorDigits(cur)
	if digits == 0 {
		return strconv.FormatInt(minor, 10)
	}
	p := pow10(digits)
	frac := strconv.FormatInt(minor%p, 10)
	return strconv.FormatInt(minor/p, 10) + "." + strings.Repeat("0", digits-len(frac)) + frac
}
