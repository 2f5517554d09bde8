package demo

import "math/rand/v2"

// planShipments sends every order that is not cancelled (but for half of
// today's), and gives each parcel its state by its age: most older parcels
// are delivered, a few ended in an exception, recent ones are on the way.
// The tracking events are then shared out so that they add up to
// size.Events whenever each parcel's minimum allows it.
func (p *plan) planShipments(size Size, r *rand.Rand) {
	p.ships = make([]pShip, 0, len(p.orders))
	for i := range p.orders {
		o := &p.orders[i]
		if o.status == osCancelled || (p.now-o.placed < day && r.Float64() < 0.5) || p.now-o.placed < 2*hour {
			continue
		}
		label := o.placed + hour + int64(r.IntN(int(30*hour)))
		if label >= p.now {
			label = p.now - 60
		}
		dur := 2*day + int64(r.IntN(int(4*day)))
		s := pShip{order: int32(i), label: label}
		switch end := label + dur; {
		case end < p.now && r.Float64() < 0.02:
			s.state, s.last = stException, label+dur*7/10
		case end < p.now:
			s.state, s.last, s.delivered = stDelivered, end, end
		default:
			progress := float64(p.now-label) / float64(dur)
			switch {
			case progress < 0.1:
				s.state, s.last = stLabel, label
			case progress < 0.85:
				s.state, s.last = stTransit, label+(p.now-label)*3/4
			default:
				s.state, s.last = stOutForDelivery, p.now-int64(r.IntN(int(min(p.now-label, 6*hour))))/2
			}
		}
		o.ship = int32(len(p.ships))
		p.ships = append(p.ships, s)
	}
	p.shareEvents(size.Events)
}

// minEvents is the fewest events a parcel in state st can have had.
func minEvents(st uint8) int {
	switch st {
	case stLabel:
		return 1
	case stTransit:
		return 2
	}
	return 3
}

func (p *plan) shareEvents(target int) {
	base, eligible := 0, 0
	for i := range p.ships {
		n := minEvents(p.ships[i].state)
		p.ships[i].events = uint8(n)
		base += n
		if p.ships[i].state != stLabel {
			eligible++
		}
	}
	extra := target - base
	if extra <= 0 || eligible == 0 {
		return
	}
	q, rem := extra/eligible, extra%eligible
	j := 0
	for i := range p.ships {
		s := &p.ships[i]
		if s.state == stLabel {
			continue
		}
		add := q
		// Exactly rem parcels get one more, spread evenly.
		if (j+1)*rem/eligible > j*rem/eligible {
			add++
		}
		j++
		s.events = uint8(min(int(s.events)+add, 250))
	}
}

// eventStatuses lists the statuses of a parcel's n events, oldest first.
func eventStatuses(st uint8, n int) []uint8 {
	out := make([]uint8, n)
	out[0] = stLabel
	for k := 1; k < n; k++ {
		out[k] = stTransit
	}
	switch st {
	case stOutForDelivery, stException:
		out[n-1] = st
	case stDelivered:
		out[n-1] = stDelivered
		if n >= 4 {
			out[n-2] = stOutForDelivery
		}
	}
	return out
}

var returnReasons = []string{"too_small", "too_large", "damaged", "not_as_described", "changed_mind", "wrong_item", "quality"}

// planReturnsAndRefunds opens a return for about 6% of delivered orders and
// refunds about 1.5% of the others through the payment system; every
// refund also lowers the order's net and sets its status.
func (p *plan) planReturnsAndRefunds(r *rand.Rand) {
	for i := range p.orders {
		o := &p.orders[i]
		if o.ship < 0 {
			continue
		}
		s := p.ships[o.ship]
		if s.state == stDelivered && r.Float64() < 0.06 {
			p.planReturn(int32(i), s, r)
		}
		if !o.returned && o.status == osOpen && p.now-o.placed > 3*day && r.Float64() < 0.015 {
			amt := o.total
			if r.Float64() < 0.6 {
				amt = o.total / 2
			}
			p.refund(int32(i), amt, "stripe", o.placed+int64(2+r.IntN(10))*day)
		}
	}
}

func (p *plan) refund(order int32, amount int64, source string, at int64) {
	o := &p.orders[order]
	if amount <= 0 || o.refunded+amount > o.total {
		return
	}
	if at >= p.now {
		at = p.now - 60
	}
	o.refunded += amount
	o.status = osPartial
	if o.refunded == o.total {
		o.status = osRefunded
	}
	p.refunds = append(p.refunds, pRefund{order: order, amount: amount, source: source, at: at})
}

func (p *plan) planReturn(order int32, s pShip, r *rand.Rand) {
	o := &p.orders[order]
	created := s.delivered + hour + int64(r.IntN(int(20*day)))
	if created >= p.now {
		return
	}
	rt := pReturn{order: order, created: created, res: "refund"}
	for k := int32(0); k < int32(o.nItems); k++ {
		it := p.items[o.firstItem+k]
		if !p.products[it.prod].returnable || (len(rt.items) > 0 && r.Float64() < 0.7) {
			continue
		}
		qty := uint8(1 + r.IntN(int(it.qty)))
		// What the shopper paid for these units: the discount and tax shared out.
		v := it.price * int64(qty) * (o.subtotal - o.discount + o.tax) / o.subtotal
		rt.items = append(rt.items, pReturnItem{item: o.firstItem + k, qty: qty, reason: returnReasons[r.IntN(len(returnReasons))], value: v})
		rt.value += v
	}
	if len(rt.items) == 0 {
		return
	}
	if x := r.Float64(); x < 0.15 {
		rt.res = "credit"
	} else if x < 0.25 {
		rt.res = "exchange"
	}
	age := p.now - created
	u := r.Float64()
	switch {
	case age < 2*day:
		rt.status = pick(u, []string{"requested", "approved"}, []float64{0.6, 1})
	case age < 10*day:
		rt.status = pick(u, []string{"approved", "in_transit", "received", "rejected", "cancelled"}, []float64{0.3, 0.65, 0.9, 0.95, 1})
	default:
		rt.status = pick(u, []string{"resolved", "rejected", "cancelled", "resolution_failed"}, []float64{0.86, 0.93, 0.98, 1})
	}
	rt.changed = created + min(age-60, int64(1+r.IntN(int(min(age/day, 12)+1)))*day)
	if rt.status == "resolved" {
		rt.status = map[string]string{"refund": "refunded", "credit": "credited", "exchange": "exchanged"}[rt.res]
		if rt.status == "refunded" {
			p.refund(order, rt.value, "return", rt.changed)
		}
	}
	o.returned = true
	p.returns = append(p.returns, rt)
}

// pick returns names[k] for the first cumulative weight above u.
func pick(u float64, names []string, cum []float64) string {
	for k, c := range cum {
		if u < c {
			return names[k]
		}
	}
	return names[len(names)-1]
}

// planClaims adds friends who claimed a code but never ordered (twice as
// many as the converted referrals).
func (p *plan) planClaims(r *rand.Rand) {
	n := 2 * len(p.referrals)
	for k := 0; k < n; k++ {
		ref := int32(r.IntN(len(p.customers)))
		c := p.customers[ref]
		if !c.code || c.codeCreated >= p.now-day {
			continue
		}
		created := c.codeCreated + int64(r.Int64N(p.now-c.codeCreated))
		p.referrals = append(p.referrals, pReferral{referrer: ref, friend: -1, order: -1, created: created})
	}
}
