package returns

import (
	"fmt"
	"math/big"
	"time"
)

// Delivery is a quantity of an order line that a delivered parcel carried.
type Delivery struct {
	At       time.Time
	Quantity int
}

// Line is an order line with what eligibility needs: the product's flag,
// the parcels that delivered it, and the units already held by open returns.
type Line struct {
	OrderItemID    int64
	LineNo         int
	SKU, Title     string
	ImageURL       string
	Quantity       int
	UnitPriceMinor int64
	// Returnable is the product's flag; a line without a known product is
	// returnable.
	Returnable bool
	GuideMD    string
	Deliveries []Delivery
	// Claimed is the number of units in returns that are not rejected or
	// cancelled.
	Claimed int
}

// OrderFacts is one order of a customer, as eligibility sees it.
type OrderFacts struct {
	ID            int64
	CustomerID    int64
	Number        string
	Currency      string
	Status        string // orders.status
	Cancelled     bool
	SubtotalMinor int64
	ShippingMinor int64
	TotalMinor    int64
	RefundedMinor int64
	Lines         []Line
}

// LineEligibility says how many units of a line may be returned now, and
// why not when none (or not all) may.
type LineEligibility struct {
	Line
	// Available is the number of units that may be returned now.
	Available int
	// WindowEndsAt is when the window of the newest delivery of the line
	// closes (exclusive); zero when nothing was delivered.
	WindowEndsAt time.Time
	// LastDay is the last calendar day of that window, in the store's zone.
	LastDay time.Time
	// Why explains, when Available is 0, why the line cannot be returned;
	// when some units can, it may explain why the others cannot.
	Why string
}

// Assessment is the eligibility of every line of an order.
type Assessment struct {
	Order OrderFacts
	Lines []LineEligibility
	Days  int
}

// Any reports whether at least one unit may be returned.
func (a Assessment) Any() bool {
	for _, l := range a.Lines {
		if l.Available > 0 {
			return true
		}
	}
	return false
}

// Line returns the eligibility of the order line with id, or false when the
// order has no such line.
func (a Assessment) Line(orderItemID int64) (LineEligibility, bool) {
	for _, l := range a.Lines {
		if l.OrderItemID == orderItemID {
			return l, true
		}
	}
	return LineEligibility{}, false
}

// WindowEnd is when a return window of days opened by a delivery at
// deliveredAt closes: at the end of the store's calendar day that is days
// after the day of delivery (so a 30-day window of a parcel delivered on
// 1 March at any hour runs until 31 March, 23:59:59.999 in the store's
// zone, whatever daylight saving does in between). The result is exclusive:
// a return is in the window while now is before it.
func WindowEnd(deliveredAt time.Time, days int, loc *time.Location) time.Time {
	y, m, d := deliveredAt.In(loc).Date()
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, loc)
}

// Assess decides, at now, how many units of each line of o may be returned
// under p, with dates in loc. Units count when a parcel delivered them, the
// window of that delivery is open, the product is returnable, and no open
// return holds them already.
func Assess(o OrderFacts, p Policy, now time.Time, loc *time.Location) Assessment {
	a := Assessment{Order: o, Days: p.Days()}
	for _, l := range o.Lines {
		e := LineEligibility{Line: l}
		delivered, inWindow := 0, 0
		for _, d := range l.Deliveries {
			delivered += d.Quantity
			end := WindowEnd(d.At, a.Days, loc)
			if now.Before(end) {
				inWindow += d.Quantity
			}
			if end.After(e.WindowEndsAt) {
				e.WindowEndsAt = end
			}
		}
		if !e.WindowEndsAt.IsZero() {
			e.LastDay = e.WindowEndsAt.Add(-time.Nanosecond).In(loc)
		}
		free := max(0, delivered-l.Claimed)
		e.Available = min(inWindow, free)
		switch {
		case o.Cancelled || o.Status == "cancelled":
			e.Available, e.Why = 0, "This order was cancelled."
		case o.Status == "refunded":
			e.Available, e.Why = 0, "This order was refunded in full."
		case !l.Returnable:
			e.Available, e.Why = 0, "Final sale: this item cannot be returned."
		case delivered == 0:
			e.Why = "Not delivered yet: you can return it once it arrives."
		case inWindow == 0:
			e.Why = fmt.Sprintf("The return window closed on %s.", e.LastDay.Format("2 January 2006"))
		case free == 0 && l.Claimed >= l.Quantity:
			e.Why = "Already in a return."
		case free == 0:
			e.Why = "The units delivered so far are already in a return."
		case e.Available < l.Quantity-l.Claimed:
			e.Why = partialWhy(l, delivered, inWindow)
		}
		a.Lines = append(a.Lines, e)
	}
	return a
}

// partialWhy explains why only some units of a line may be returned.
func partialWhy(l Line, delivered, inWindow int) string {
	switch {
	case delivered < l.Quantity:
		return fmt.Sprintf("%d of %d delivered so far.", delivered, l.Quantity)
	case inWindow < delivered:
		return fmt.Sprintf("The window closed for %d of them.", delivered-inWindow)
	}
	return ""
}

// PaidValue is what the shopper paid for qty units at unitPrice in order o:
// the units' share of the order's total without shipping, so discounts and
// tax are shared out by price. It rounds down, never refunding more than
// was paid.
func PaidValue(o OrderFacts, unitPrice int64, qty int) int64 {
	if o.SubtotalMinor <= 0 || qty <= 0 {
		return 0
	}
	goods := max(0, o.TotalMinor-o.ShippingMinor)
	v := new(big.Int).Mul(big.NewInt(unitPrice), big.NewInt(int64(qty)))
	v.Mul(v, big.NewInt(goods))
	v.Quo(v, big.NewInt(o.SubtotalMinor))
	return v.Int64()
}
