package returns

import (
	"strings"
	"testing"
	"time"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWindowEndsAtTheEndOfTheLastDayInTheStoresZone(t *testing.T) {
	tests := []struct {
		name      string
		zone      string
		delivered string
		days      int
		want      string
	}{
		{"a morning delivery in UTC", "UTC", "2026-03-01T09:00:00Z", 30, "2026-04-01T00:00:00Z"},
		{"a delivery a second before midnight counts as that day", "UTC", "2026-03-01T23:59:59Z", 30, "2026-04-01T00:00:00Z"},
		{"a delivery at midnight counts as the new day", "UTC", "2026-03-02T00:00:00Z", 30, "2026-04-02T00:00:00Z"},
		// 02:00 UTC on 2 March is still 1 March in New York (UTC-5).
		{"the store's day, not UTC's, decides the delivery day", "America/New_York", "2026-03-02T02:00:00Z", 30, "2026-04-01T04:00:00Z"},
		// New York moves to UTC-4 on 8 March 2026: the window still ends at local midnight.
		{"daylight saving in between keeps local midnight", "America/New_York", "2026-03-01T15:00:00Z", 14, "2026-03-16T04:00:00Z"},
		// 20:00 UTC on 1 March is 09:00 on 2 March in Auckland (UTC+13).
		{"a zone ahead of UTC moves the day forward", "Pacific/Auckland", "2026-03-01T20:00:00Z", 1, "2026-03-03T11:00:00Z"},
		{"a zero-day window ends at the end of the delivery day", "Europe/Berlin", "2026-06-10T08:00:00Z", 0, "2026-06-10T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WindowEnd(at(t, tt.delivered), tt.days, zone(t, tt.zone))
			if !got.Equal(at(t, tt.want)) {
				t.Fatalf("WindowEnd = %s, want %s", got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}
}

// oneLine is an order of one line of qty units at 1000, delivered at
// delivered (none when empty).
func oneLine(t *testing.T, qty int, delivered string, returnable bool) OrderFacts {
	l := Line{OrderItemID: 7, LineNo: 1, SKU: "MUG", Title: "Mug", Quantity: qty, UnitPriceMinor: 1000, Returnable: returnable}
	if delivered != "" {
		l.Deliveries = []Delivery{{At: at(t, delivered), Quantity: qty}}
	}
	return OrderFacts{ID: 1, Currency: "USD", Status: "open", SubtotalMinor: int64(qty) * 1000, TotalMinor: int64(qty) * 1000, Lines: []Line{l}}
}

func TestAssessAtTheEdgesOfTheWindow(t *testing.T) {
	p := DefaultPolicy() // 30 days
	ny := zone(t, "America/New_York")
	// Delivered 1 March, 21:00 in New York (2 March, 02:00 UTC): the last day is 31 March, New York time.
	o := oneLine(t, 1, "2026-03-02T02:00:00Z", true)
	tests := []struct {
		name, now string
		available int
		why       string
	}{
		{"on the delivery day itself", "2026-03-02T02:00:01Z", 1, ""},
		{"a nanosecond before the window closes", "2026-04-01T03:59:59.999999999Z", 1, ""},
		{"at the instant the window closes", "2026-04-01T04:00:00Z", 0, "The return window closed on 31 March 2026."},
		{"a day later", "2026-04-02T12:00:00Z", 0, "The return window closed on 31 March 2026."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Assess(o, p, at(t, tt.now), ny)
			l := a.Lines[0]
			if l.Available != tt.available || l.Why != tt.why {
				t.Fatalf("available %d (%q), want %d (%q)", l.Available, l.Why, tt.available, tt.why)
			}
			if a.Any() != (tt.available > 0) {
				t.Fatalf("Any = %v", a.Any())
			}
		})
	}
	t.Run("the same instant in UTC is still open in a zone behind", func(t *testing.T) {
		// In UTC the delivery day is 2 March, so the window runs a day longer there.
		if got := Assess(o, p, at(t, "2026-04-01T04:00:00Z"), time.UTC).Lines[0].Available; got != 1 {
			t.Fatalf("available %d in UTC", got)
		}
	})
}

func TestAssessExplainsWhyALineCannotBeReturned(t *testing.T) {
	p := DefaultPolicy()
	now := at(t, "2026-03-10T12:00:00Z")
	delivered := "2026-03-05T12:00:00Z"
	tests := []struct {
		name      string
		facts     func() OrderFacts
		available int
		why       string
	}{
		{"a returnable delivered item", func() OrderFacts { return oneLine(t, 2, delivered, true) }, 2, ""},
		{"a final-sale product", func() OrderFacts { return oneLine(t, 2, delivered, false) }, 0, "Final sale"},
		{"nothing delivered yet", func() OrderFacts { return oneLine(t, 2, "", true) }, 0, "Not delivered yet"},
		{"a cancelled order", func() OrderFacts { o := oneLine(t, 2, delivered, true); o.Cancelled = true; return o }, 0, "cancelled"},
		{"an order refunded in full", func() OrderFacts { o := oneLine(t, 2, delivered, true); o.Status = "refunded"; return o }, 0, "refunded"},
		{"every unit already in a return", func() OrderFacts { o := oneLine(t, 2, delivered, true); o.Lines[0].Claimed = 2; return o }, 0, "Already in a return."},
		{"one of two units in a return", func() OrderFacts { o := oneLine(t, 2, delivered, true); o.Lines[0].Claimed = 1; return o }, 1, ""},
		{"one of three units delivered so far", func() OrderFacts {
			o := oneLine(t, 3, delivered, true)
			o.Lines[0].Deliveries[0].Quantity = 1
			return o
		}, 1, "1 of 3 delivered so far."},
		{"the delivered unit already returned, the rest on its way", func() OrderFacts {
			o := oneLine(t, 3, delivered, true)
			o.Lines[0].Deliveries[0].Quantity = 1
			o.Lines[0].Claimed = 1
			return o
		}, 0, "The units delivered so far are already in a return."},
		{"two parcels, one past its window", func() OrderFacts {
			o := oneLine(t, 3, "", true)
			o.Lines[0].Deliveries = []Delivery{{At: at(t, "2026-01-01T12:00:00Z"), Quantity: 2}, {At: at(t, delivered), Quantity: 1}}
			return o
		}, 1, "The window closed for 2 of them."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Assess(tt.facts(), p, now, time.UTC).Lines[0]
			if l.Available != tt.available || !strings.Contains(l.Why, tt.why) || (tt.why == "" && l.Why != "") {
				t.Fatalf("available %d (%q), want %d (%q)", l.Available, l.Why, tt.available, tt.why)
			}
		})
	}
}

func TestEUModeNeverOffersLessThanFourteenDays(t *testing.T) {
	p := DefaultPolicy()
	p.WindowDays = 7
	o := oneLine(t, 1, "2026-03-01T12:00:00Z", true)
	day12 := at(t, "2026-03-13T12:00:00Z")
	if got := Assess(o, p, day12, time.UTC).Lines[0].Available; got != 0 {
		t.Fatalf("a 7-day window is open on day 12: %d", got)
	}
	p.EUMode = true
	a := Assess(o, p, day12, time.UTC)
	if a.Days != EUMinimumDays || a.Lines[0].Available != 1 {
		t.Fatalf("EU mode: days %d, available %d", a.Days, a.Lines[0].Available)
	}
	if got := Assess(o, p, at(t, "2026-03-16T00:00:00Z"), time.UTC).Lines[0].Available; got != 0 {
		t.Fatalf("EU window open after 14 days: %d", got)
	}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "at least 14 days") {
		t.Fatalf("a 7-day EU policy validated: %v", err)
	}
	if _, ok := p.Reason(ReasonWithdrawal); !ok {
		t.Fatal("EU mode does not know withdrawal")
	}
	p.EUMode = false
	if _, ok := p.Reason(ReasonWithdrawal); ok {
		t.Fatal("withdrawal is offered outside EU mode")
	}
}

func TestPaidValueSharesDiscountAndTaxByPrice(t *testing.T) {
	// 2 × 1250 + 1800 = 4300; total 5017 with 495 shipping: goods paid 4522.
	o := OrderFacts{SubtotalMinor: 4300, ShippingMinor: 495, TotalMinor: 5017}
	if got := PaidValue(o, 1250, 2); got != 2629 { // 2500 × 4522 / 4300 = 2629.07
		t.Fatalf("PaidValue = %d", got)
	}
	if a, b := PaidValue(o, 1250, 2), PaidValue(o, 1800, 1); a+b > 4522 {
		t.Fatalf("the lines are worth %d, more than the 4522 paid", a+b)
	}
	if got := PaidValue(OrderFacts{}, 1000, 1); got != 0 {
		t.Fatalf("an order without a subtotal has value %d", got)
	}
}
