package demo

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

func (w *writer) settings() (int, error) {
	_, err := w.tx.ExecContext(w.ctx, `UPDATE settings SET store_name = 'Driftwood Coffee Co.', store_url = 'https://driftwood.example.com',
		accent_color = '#8a4b2a', support_email = 'help@driftwood.example.com', time_zone = 'America/New_York', updated_at = now()`)
	return 1, err
}

func (w *writer) productsRows() (int, error) {
	ps := w.p.products
	return w.run("products", []string{"id", "sku", "title", "product_url", "returnable", "replenish_days", "guide_md", "created_at", "updated_at"},
		len(ps), func(c *copier, i int) error {
			var replenish any
			if ps[i].replenishDays > 0 {
				replenish = ps[i].replenishDays
			}
			at := ts(w.p.now - span - 30*day)
			return c.row(i+1, ps[i].sku, ps[i].title, "https://driftwood.example.com/products/"+strings.ToLower(ps[i].sku),
				ps[i].returnable, replenish, ps[i].guide, at, at)
		})
}

// customerName returns customer i's name and email; customer 0 is the demo shopper.
func (p *plan) customerName(i int32) (name, email string) {
	c := p.customers[i]
	if c.first == 255 {
		return "Jane Doe", ShopperEmail
	}
	f, l := firstNames[c.first], lastNames[c.last]
	// The index keeps emails unique; real shops have the same names many times.
	return f + " " + l, fmt.Sprintf("%s.%s.%d@%s", strings.ToLower(f), strings.ToLower(l), i, mailDomains[int(i)%len(mailDomains)])
}

func (w *writer) customersRows() (int, error) {
	return w.run("customers", []string{"id", "email", "name", "marketing_consent", "created_at", "updated_at"},
		len(w.p.customers), func(c *copier, i int) error {
			cu := w.p.customers[i]
			name, email := w.p.customerName(int32(i))
			return c.row(i+1, email, name, cu.consent, ts(cu.created), ts(cu.created))
		})
}

// codeText is a customer's referral code, FIRSTNAME-XXXXXX: the suffix is
// the code id scrambled into the code alphabet (a bijection, so unique).
func (p *plan) codeText(cust int32, id int32) string {
	first := "JANE"
	if c := p.customers[cust]; c.first != 255 {
		first = strings.ToUpper(firstNames[c.first])
	}
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	const space = 31 * 31 * 31 * 31 * 31 * 31
	n := (int64(id) * 48271) % space
	var b [6]byte
	for k := 5; k >= 0; k-- {
		b[k] = alphabet[n%31]
		n /= 31
	}
	if len(first) > 12 {
		first = first[:12]
	}
	return first + "-" + string(b[:])
}

func (w *writer) ordersRows() (int, error) {
	p := w.p
	// Referral codes get their ids in customer order; orders need them first.
	w.codeOf = make([]int32, len(p.customers))
	next := int32(1)
	for i, c := range p.customers {
		if c.code {
			w.codeOf[i] = next
			next++
		}
	}
	cols := []string{"id", "source", "external_id", "number", "customer_id", "placed_at", "currency", "subtotal_minor",
		"discount_minor", "shipping_minor", "tax_minor", "total_minor", "discount_codes", "payment_reference", "status",
		"content_hash", "created_at", "updated_at", "shipping_address", "payment_fingerprint", "referral_code",
		"cancelled_at", "cancel_reason", "refunded_minor"}
	return w.run("orders", cols, len(p.orders), func(c *copier, i int) error {
		o := p.orders[i]
		id := i + 1
		name, _ := p.customerName(o.cust)
		pl := places[p.customers[o.cust].place]
		codes, refCode := "{}", ""
		if o.referral >= 0 {
			ref := p.referrals[o.referral]
			refCode = p.codeText(ref.referrer, w.codeOf[ref.referrer])
			codes = fmt.Sprintf("{FRIEND-%07d}", o.referral+1)
		} else if o.discount > 0 {
			codes = "{WELCOME15}"
		}
		addr := fmt.Sprintf(`{"name":%q,"line1":"%d Main St","city":%q,"region":%q,"postal_code":"%05d","country":%q}`,
			name, 1+o.cust%400, pl.city, pl.region, 10000+o.cust%89999, pl.country)
		number := fmt.Sprintf("#%d", 100000+id)
		hash := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%d|%s|%d", number, o.cust, o.placed, currencies[o.cur], o.total)))
		var cancelled any
		reason := ""
		if o.status == osCancelled {
			cancelled, reason = ts(o.placed+2*hour), "customer"
		}
		return c.row(id, "shopify", fmt.Sprint(5000000000+id), number, o.cust+1, ts(o.placed), currencies[o.cur],
			o.subtotal, o.discount, o.shipping, o.tax, o.total, codes, fmt.Sprintf("pi_seed%08d", id), orderStatusNames[o.status],
			hash[:], ts(o.placed), ts(o.placed), addr, fmt.Sprintf("fp_%06d", o.cust), refCode, cancelled, reason, o.refunded)
	})
}

func (w *writer) itemsRows() (int, error) {
	p := w.p
	return w.run("order_items", []string{"id", "order_id", "line_no", "sku", "product_id", "title", "quantity", "unit_price_minor"},
		len(p.items), func(c *copier, i int) error {
			it := p.items[i]
			line := int32(i) - p.orders[it.order].firstItem + 1
			pr := p.products[it.prod]
			return c.row(i+1, it.order+1, line, pr.sku, int(it.prod)+1, pr.title, it.qty, it.price)
		})
}

var carriers = []struct{ name, url string }{
	{"UPS", "https://www.ups.com/track?tracknum="}, {"USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="},
	{"FedEx", "https://www.fedex.com/fedextrack/?trknbr="},
}

func (w *writer) shipmentsRows() (int, error) {
	p := w.p
	cols := []string{"id", "order_id", "carrier", "tracking_number", "tracking_url", "status", "estimated_delivery",
		"shipped_at", "delivered_at", "last_event_at", "created_at", "updated_at"}
	return w.run("shipments", cols, len(p.ships), func(c *copier, i int) error {
		s := p.ships[i]
		cr := carriers[i%len(carriers)]
		tn := fmt.Sprintf("1Z%04X%012d", i%65536, i+1)
		var eta, delivered any
		if s.state == stDelivered {
			delivered = ts(s.delivered)
		} else {
			eta = ts(s.label + 4*day).Format("2006-01-02")
		}
		return c.row(i+1, s.order+1, cr.name, tn, cr.url+tn, stateNames[s.state], eta, ts(s.label), delivered,
			ts(s.last), ts(s.label), ts(s.last))
	})
}

func (w *writer) shipmentItemsRows() (int, error) {
	p := w.p
	c, err := w.copy("shipment_items", "shipment_id", "order_item_id", "quantity")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.ships) && err == nil; i++ {
		o := p.orders[p.ships[i].order]
		// One parcel carries the whole order.
		for k := int32(0); k < int32(o.nItems) && err == nil; k++ {
			err = c.row(i+1, o.firstItem+k+1, p.items[o.firstItem+k].qty)
		}
	}
	return c.done(err)
}

var eventDetail = [...]string{"Shipping label created", "In transit", "Out for delivery", "Delivered, left at front door",
	"Address could not be found; carrier will contact you"}

var hubs = []string{"Portland, OR", "Salt Lake City, UT", "Denver, CO", "Kansas City, MO", "Louisville, KY", "Memphis, TN"}

func (w *writer) eventsRows() (int, error) {
	p := w.p
	c, err := w.copy("tracking_events", "shipment_id", "status", "detail", "location", "occurred_at", "provider_event_id", "created_at")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.ships) && err == nil; i++ {
		s := p.ships[i]
		pl := places[p.customers[p.orders[s.order].cust].place]
		home := pl.city
		if pl.region != "" {
			home += ", " + pl.region
		}
		sts := eventStatuses(s.state, int(s.events))
		n := int64(len(sts))
		for k, st := range sts {
			at := s.label
			if n > 1 {
				// Evenly spaced from the label to the last event: strictly increasing,
				// as last - label is at least an hour.
				at = s.label + (s.last-s.label)*int64(k)/(n-1)
			}
			loc := hubs[(i+k)%len(hubs)]
			if st == stOutForDelivery || st == stDelivered || st == stException {
				loc = home
			}
			err = c.row(i+1, stateNames[st], eventDetail[st], loc, ts(at), fmt.Sprintf("seed-%d-%d", i+1, k), ts(at))
			if err != nil {
				break
			}
		}
	}
	return c.done(err)
}

// viewsRows records shoppers opening their order page while the parcel
// travels: about one view per parcel, more for slow ones.
func (w *writer) viewsRows() (int, error) {
	p := w.p
	c, err := w.copy("tracking_views", "order_id", "viewed_at")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.ships) && err == nil; i++ {
		s := p.ships[i]
		views := w.r.IntN(3)
		if s.state == stException {
			views += 3
		}
		for k := 0; k < views && err == nil; k++ {
			at := s.label + w.r.Int64N(max(1, s.last-s.label+day))
			if at >= p.now {
				at = p.now - 1
			}
			err = c.row(s.order+1, ts(at))
		}
	}
	return c.done(err)
}

func (w *writer) refundsRows() (int, error) {
	p := w.p
	return w.run("order_refunds", []string{"order_id", "amount_minor", "currency", "reference", "reason", "source", "created_at"},
		len(p.refunds), func(c *copier, i int) error {
			rf := p.refunds[i]
			reason := "requested_by_customer"
			if rf.source == "return" {
				reason = "return"
			}
			return c.row(rf.order+1, rf.amount, currencies[p.orders[rf.order].cur], fmt.Sprintf("re_seed%07d", i+1), reason, rf.source, ts(rf.at))
		})
}
