package web

import "testing"

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
