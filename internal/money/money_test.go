package money

import "testing"

func TestExponent(t *testing.T) {
	for cur, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "BIF": 0, "KWD": 3, "LYD": 3, "CLF": 4, "ZZZ": 2} {
		if got := Exponent(cur); got != want {
			t.Errorf("Exponent(%s) = %d, want %d", cur, got, want)
		}
	}
}
