// Package money holds the one table of how many decimals each currency's
// minor unit has, so that the pages, the settings forms and the webhook
// parsers read and write amounts the same way.
package money

// exponents lists ISO 4217 currencies whose minor unit is not a hundredth;
// every other currency has two decimals.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// Exponent is the number of decimals of currency's minor unit (2 for USD,
// 0 for JPY, 3 for KWD); currency is an upper-case ISO 4217 code.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}
