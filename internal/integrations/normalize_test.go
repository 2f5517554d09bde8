package integrations

import (
	"encoding/json"
	"testing"
)

func TestParseMoneyIsExactInTheCurrencysMinorUnits(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		err          bool
	}{
		{"404.95", "USD", 40495, false},
		{"0.9", "USD", 90, false},
		{"12", "USD", 1200, false},
		{"10.000", "USD", 1000, false},
		{".5", "EUR", 50, false},
		{"5.", "EUR", 500, false},
		{"-12.50", "EUR", -1250, false},
		{"+1.00", "EUR", 100, false},
		{"1.5e1", "USD", 1500, false},
		{"125E-2", "USD", 125, false},
		{"1000", "JPY", 1000, false},
		{"1.234", "KWD", 1234, false},
		{"0.0", "USD", 0, false},
		{"", "USD", 0, false},
		{"89.99", "USD", 8999, false},
		{"0.1", "USD", 10, false}, // 0.1 has no exact float64: parsing text avoids it
		{"10.005", "USD", 0, true},
		{"1000.5", "JPY", 0, true},
		{"1,000.00", "USD", 0, true},
		{"12abc", "USD", 0, true},
		{".", "USD", 0, true},
		{"-", "USD", 0, true},
		{"1e", "USD", 0, true},
		{"1e999", "USD", 0, true},
		{"1e-99", "USD", 0, true},
		{"NaN", "USD", 0, true},
		{"99999999999999999999", "USD", 0, true},
		{"10000000000000.01", "USD", 0, true}, // more than commerce accepts
		{"9999999999999.99", "USD", 999999999999999, false},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in, tt.currency)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMoney(%q, %s) = %d, %v; want %d, error %v", tt.in, tt.currency, got, err, tt.want, tt.err)
		}
	}
}

func TestDecimalAndIDAcceptStringsNumbersAndNull(t *testing.T) {
	var v struct {
		A, B, C Decimal
		I, J, K ID
	}
	raw := `{"A":"404.95","B":89.99,"C":null,"I":820982911946154508,"J":"gid://x/1","K":null}`
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "404.95" || v.B != "89.99" || v.C != "" || v.I != "820982911946154508" || v.J != "gid://x/1" || v.K != "" {
		t.Errorf("decoded %+v", v)
	}
	for _, bad := range []string{`{"A":true}`, `{"I":{}}`, `{"I":[1]}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

func TestBalanceKeepsWhatWasPaid(t *testing.T) {
	tests := []struct {
		name string
		in   Totals
		want Totals
	}{
		{"tax on top is what remains", Totals{Subtotal: 1800, Shipping: 1000, Total: 2935}, Totals{Subtotal: 1800, Shipping: 1000, Tax: 135, Total: 2935}},
		{"prices with tax inside leave no tax on top", Totals{Subtotal: 9700, Shipping: 1000, Tax: 1708, Total: 10700}, Totals{Subtotal: 9700, Shipping: 1000, Total: 10700}},
		{"an unreported discount is taken from the parts", Totals{Subtotal: 5000, Total: 4000}, Totals{Subtotal: 5000, Discount: 1000, Total: 4000}},
		{"no total is the sum of the parts", Totals{Subtotal: 1000, Discount: 100, Shipping: 50, Tax: 10}, Totals{Subtotal: 1000, Discount: 100, Shipping: 50, Tax: 10, Total: 960}},
		{"a negative discount counts as a discount", Totals{Subtotal: 1000, Discount: -100, Total: 900}, Totals{Subtotal: 1000, Discount: 100, Total: 900}},
	}
	for _, tt := range tests {
		got := tt.in.Balance()
		if got != tt.want {
			t.Errorf("%s: %+v -> %+v; want %+v", tt.name, tt.in, got, tt.want)
		}
		if got.Subtotal-got.Discount+got.Shipping+got.Tax != got.Total || got.Discount < 0 || got.Tax < 0 {
			t.Errorf("%s: %+v does not add up", tt.name, got)
		}
	}
}

func TestCarrierNamesMeetAcrossSystems(t *testing.T) {
	tests := map[string]string{
		"UPS": "ups", "FedEx": "fedex", "FEDEX_GROUND": "fedex", "USPS": "usps", "United States Postal Service": "usps",
		"Canada Post": "canada-post", "CanadaPost": "canada-post", "canada-post": "canada-post", "DHLExpress": "dhl",
		"DHL Express": "dhl", "Royal Mail": "royal-mail", "Bluedart": "bluedart", "La Poste": "la-poste", "": "other", "  ": "other",
	}
	for in, want := range tests {
		if got := CarrierSlug(in); got != want {
			t.Errorf("CarrierSlug(%q) = %q, want %q", in, got, want)
		}
	}
	if got := CarrierNames("DHL Express"); len(got) != 2 || got[0] != "dhl" || got[1] != "dhl express" {
		t.Errorf("CarrierNames = %v", got)
	}
}

func TestTextMakesProviderTextStorable(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  Out\tfor\ndelivery  ", 100, "Out for delivery"},
		{"a\x00b", 100, "a b"},
		{"\xff\xfeok", 100, "\uFFFDok"},
		{"ééééé", 3, "ééé"},
	}
	for _, tt := range tests {
		if got := Text(tt.in, tt.max); got != tt.want {
			t.Errorf("Text(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestDayAndParseTime(t *testing.T) {
	for in, want := range map[string]string{"2024-08-05T00:00:00Z": "2024-08-05", "2024-08-05": "2024-08-05", "": "", "soon": "", "1969-12-31": ""} {
		if got := Day(in); got != want {
			t.Errorf("Day(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"2021-12-31T19:00:00-05:00": "2022-01-01T00:00:00Z", "2017-03-22T19:28:02": "2017-03-22T19:28:02Z",
		"2024-08-02T19:26:52.000Z": "2024-08-02T19:26:52Z", "2024-01-14 00:52:00": "2024-01-14T00:52:00Z",
	} {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime accepted prose")
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"404.95", "0.9", "1.5e1", "-12.50", "1e99", ".", "9999999999999.99", "1e-2"} {
		f.Add(s, "USD")
	}
	f.Add("1000", "JPY")
	f.Add("1.234", "KWD")
	f.Fuzz(func(t *testing.T, s, currency string) {
		v, err := ParseMoney(s, currency)
		if err == nil && (v > maxMinor || v < -maxMinor) {
			t.Fatalf("ParseMoney(%q) = %d beyond the bound", s, v)
		}
	})
}
