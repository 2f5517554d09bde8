package demo

import (
	"math/rand/v2"
	"sort"
)

// The large store is planned in memory first (who ordered what, when each
// parcel moved, what came back), then written table by table with COPY.
// Planning first lets totals, refunds and statuses agree across tables.

const (
	hour = int64(3600)
	day  = 24 * hour
)

// Shipment states, in the order a parcel goes through them.
const (
	stLabel uint8 = iota
	stTransit
	stOutForDelivery
	stDelivered
	stException
)

var stateNames = [...]string{"label_created", "in_transit", "out_for_delivery", "delivered", "exception"}

// Order statuses.
const (
	osOpen uint8 = iota
	osCancelled
	osRefunded
	osPartial
)

var orderStatusNames = [...]string{"open", "cancelled", "refunded", "partially_refunded"}

var currencies = [...]string{"USD", "EUR", "GBP", "CAD"}

// rates turn a USD price into the other currencies, in percent.
var rates = [...]int64{100, 92, 79, 136}

type pOrder struct {
	cust                                                     int32 // customer index (id-1)
	cur                                                      uint8
	status                                                   uint8
	placed                                                   int64 // unix seconds
	firstItem                                                int32
	nItems                                                   uint8
	subtotal, discount, shipping, tax, total, refunded, cost int64
	ship                                                     int32 // shipment index, -1 when none
	referral                                                 int32 // converted referral index, -1 when none
	returned                                                 bool
}

type pItem struct {
	order int32
	prod  uint8
	qty   uint8
	price int64
}

type pShip struct {
	order                  int32
	state                  uint8
	events                 uint8
	label, last, delivered int64
}

type pCustomer struct {
	first, last uint8
	place       uint8
	consent     bool
	created     int64
	firstOrder  int64 // 0: never ordered
	code        bool  // has a referral code
	codeCreated int64
}

type pReferral struct {
	referrer int32 // customer index
	friend   int32 // customer index, -1 for a claim not (yet) converted
	order    int32 // -1 when not converted
	created  int64
	email    string
}

type pRefund struct {
	order  int32
	amount int64
	source string
	at     int64
}

type pReturn struct {
	order   int32
	items   []pReturnItem
	status  string
	res     string
	value   int64
	created int64
	changed int64
}

type pReturnItem struct {
	item   int32
	qty    uint8
	reason string
	value  int64
}

// plan is the whole generated store.
type plan struct {
	now       int64
	products  []product
	customers []pCustomer
	orders    []pOrder
	items     []pItem
	ships     []pShip
	referrals []pReferral
	refunds   []pRefund
	returns   []pReturn
}

func newPlan(size Size, now int64, r *rand.Rand) *plan {
	p := &plan{now: now, products: append(append([]product{}, catalog...), extraProducts...)}
	p.planCustomersAndOrders(size, r)
	p.planItemsAndTotals(size, r)
	p.planShipments(size, r)
	p.planReturnsAndRefunds(r)
	p.planClaims(r)
	return p
}

const span = 548 * day // about 18 months of history

func (p *plan) planCustomersAndOrders(size Size, r *rand.Rand) {
	p.customers = make([]pCustomer, size.Customers)
	for i := range p.customers {
		c := &p.customers[i]
		c.first, c.last = uint8(r.IntN(len(firstNames))), uint8(r.IntN(len(lastNames)))
		c.place = uint8(r.IntN(usPlaces))
		if r.Float64() < 0.2 {
			c.place = uint8(usPlaces + r.IntN(len(places)-usPlaces))
		}
		c.consent = r.Float64() < 0.6
	}
	c0 := &p.customers[0] // the demo shopper, whose sign-in link dev prints
	c0.first, c0.last, c0.place, c0.consent = 255, 255, 0, true
	// A fifth of the customers are regulars who place most repeat orders.
	loyal := max(1, size.Customers/5)
	p.orders = make([]pOrder, size.Orders)
	demoAges := []int64{3 * hour, 30 * hour, 3 * day, 9 * day, 20 * day, 60 * day}
	for i := range p.orders {
		o := &p.orders[i]
		o.ship, o.referral = -1, -1
		switch {
		case i < len(demoAges) && i < size.Orders/10:
			o.cust, o.placed = 0, p.now-demoAges[i]
			continue
		case r.Float64() < 0.45 && size.Customers > 1:
			o.cust = int32(1 + r.IntN(max(1, loyal-1)))
		case size.Customers > 1:
			o.cust = int32(1 + r.IntN(size.Customers-1))
		}
		// Sales grow over time: more orders lately.
		u := r.Float64()
		o.placed = p.now - 60 - int64(float64(span)*(1-u*u*0.5-u*0.5))
	}
	sort.SliceStable(p.orders, func(a, b int) bool { return p.orders[a].placed < p.orders[b].placed })
	for _, o := range p.orders {
		c := &p.customers[o.cust]
		if c.firstOrder == 0 {
			c.firstOrder = o.placed
		}
	}
	for i := range p.customers {
		c := &p.customers[i]
		if c.firstOrder != 0 {
			c.created = c.firstOrder - int64(r.IntN(int(3*day)))
		} else {
			c.created = p.now - int64(r.Int64N(span))
		}
		if c.code = i == 0 || r.Float64() < 0.8; c.code {
			c.codeCreated = c.created + int64(r.IntN(int(day))) + 60
			if c.codeCreated > p.now {
				c.codeCreated = p.now - 1
			}
		}
	}
}

func (p *plan) planItemsAndTotals(size Size, r *rand.Rand) {
	p.items = make([]pItem, 0, size.Orders*5/2)
	seen := make([]bool, len(p.customers))
	refShare := 0.03 * float64(size.Orders) / float64(max(1, size.Customers))
	for i := range p.orders {
		o := &p.orders[i]
		c := p.customers[o.cust]
		o.cur = currencyFor(places[c.place].currency, r)
		o.firstItem, o.nItems = int32(len(p.items)), uint8(1+min(3, int(r.ExpFloat64()*0.9)))
		used := map[uint8]bool{}
		for line := 0; line < int(o.nItems); line++ {
			pi := uint8(r.IntN(len(p.products)))
			for used[pi] {
				pi = uint8(r.IntN(len(p.products)))
			}
			used[pi] = true
			qty := uint8(1)
			if r.Float64() < 0.2 {
				qty = uint8(2 + r.IntN(2))
			}
			price := p.products[pi].price * rates[o.cur] / 100
			p.items = append(p.items, pItem{order: int32(i), prod: pi, qty: qty, price: price})
			o.subtotal += price * int64(qty)
		}
		first := !seen[o.cust]
		seen[o.cust] = true
		if first && o.cust != 0 && r.Float64() < refShare {
			if ref := p.pickReferrer(o, r); ref >= 0 {
				o.referral = int32(len(p.referrals))
				p.referrals = append(p.referrals, pReferral{referrer: ref, friend: o.cust, order: int32(i),
					created: o.placed - int64(1+r.IntN(5))*day/2})
				o.discount = o.subtotal / 10
			}
		}
		if o.referral < 0 && r.Float64() < 0.1 {
			o.discount = o.subtotal * 15 / 100
		}
		if o.subtotal-o.discount < 5000*rates[o.cur]/100 {
			o.shipping = 500 * rates[o.cur] / 100
		}
		taxRate := int64(8)
		if o.cur == 1 || o.cur == 2 {
			taxRate = 20
		}
		o.tax = (o.subtotal - o.discount) * taxRate / 100
		o.total = o.subtotal - o.discount + o.shipping + o.tax
		if o.cust != 0 && p.now-o.placed > day && r.Float64() < 0.015 {
			o.status = osCancelled
		}
	}
}

// pickReferrer finds a customer whose code existed a day before o.
func (p *plan) pickReferrer(o *pOrder, r *rand.Rand) int32 {
	for try := 0; try < 6; try++ {
		c := int32(r.IntN(len(p.customers)))
		rc := p.customers[c]
		if c != o.cust && rc.code && rc.codeCreated < o.placed-3*day {
			return c
		}
	}
	return -1
}

func currencyFor(home string, r *rand.Rand) uint8 {
	for i, c := range currencies {
		if c == home && r.Float64() < 0.9 {
			return uint8(i)
		}
	}
	if r.Float64() < 0.85 {
		return 0
	}
	return uint8(r.IntN(len(currencies)))
}
