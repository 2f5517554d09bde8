package web

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/money"
)

func TestMoneyUsesEachCurrencysMinorUnit(t *testing.T) {
	for _, tt := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{1999, "USD", "$19.99"},
		{123456789, "EUR", "€1,234,567.89"},
		{1500, "JPY", "¥1,500"},
		{1500, "BIF", "1,500 BIF"},
		{12345, "KWD", "12.345 KWD"},
		{-250, "GBP", "−£2.50"},
	} {
		if got := Money(tt.minor, tt.cur); got != tt.want {
			t.Errorf("Money(%d, %s) = %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
	}
}

// moneyWithFmt is Money as it was written with fmt, the reference that the
// strconv version must match.
func moneyWithFmt(minor int64, currency string) string {
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
	g := fmt.Sprint(whole)
	var b strings.Builder
	for i, r := range g {
		if i > 0 && (len(g)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	s := b.String()
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

func TestMoneyMatchesTheFmtFormattingOverManyAmounts(t *testing.T) {
	currencies := []string{"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "BIF", "KWD", "CLF", "SEK", "XYZ", ""}
	amounts := []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 1001, 9999, 10000, 99999, 100000, 123456789,
		math.MaxInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		amounts = append(amounts, p-1, p, p+1, 7*p+3)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		amounts = append(amounts, rng.Int64N(1<<uint(rng.IntN(62)+1)), rng.Int64())
	}
	n := 0
	for _, cur := range currencies {
		for _, a := range amounts {
			for _, v := range []int64{a, -a} {
				if got, want := Money(v, cur), moneyWithFmt(v, cur); got != want {
					t.Fatalf("Money(%d, %q) = %q, fmt gave %q", v, cur, got, want)
				}
				n++
			}
		}
	}
	if n < 200000 {
		t.Fatalf("compared only %d amounts", n)
	}
	// The most negative amount has no positive counterpart: fmt printed
	// garbage for it, Money its magnitude.
	if got, want := Money(math.MinInt64, "USD"), "−$92,233,720,368,547,758.08"; got != want {
		t.Errorf("Money(MinInt64, USD) = %q, want %q", got, want)
	}
}

func BenchmarkMoney(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		_ = Money(int64(i)*137, "USD")
	}
}
