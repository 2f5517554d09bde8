package demo

import "fmt"

// rmaText scrambles a return id into its RMA number, R-XXXXXX (a
// bijection on 36^6, so numbers are unique).
func rmaText(id int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	const space = 36 * 36 * 36 * 36 * 36 * 36
	n := (int64(id) * 69069) % space
	var b [6]byte
	for k := 5; k >= 0; k-- {
		b[k] = alphabet[n%36]
		n /= 36
	}
	return "R-" + string(b[:])
}

func (w *writer) returnsRows() (int, error) {
	p := w.p
	cols := []string{"id", "rma", "order_id", "customer_id", "idempotency_key", "status", "resolution", "currency", "value_minor",
		"reject_reason", "resolved_method", "resolved_minor", "resolution_ref", "window_ends_at", "status_changed_at",
		"received_at", "resolved_at", "created_at", "updated_at"}
	return w.run("return_requests", cols, len(p.returns), func(c *copier, i int) error {
		rt := p.returns[i]
		o := p.orders[rt.order]
		var method, resolved, received, resolvedAt any
		reject, ref := "", ""
		switch rt.status {
		case "received", "resolution_failed":
			received = ts(rt.changed)
		case "refunded", "credited", "exchanged":
			method, resolved, received, resolvedAt = rt.res, rt.value, ts(rt.changed-hour), ts(rt.changed)
			ref = fmt.Sprintf("seed-resolution-%d", i+1)
		case "rejected":
			reject = "Outside the return policy"
		}
		return c.row(i+1, rmaText(i+1), rt.order+1, o.cust+1, fmt.Sprintf("seed-%d", i+1), rt.status, rt.res,
			currencies[o.cur], rt.value, reject, method, resolved, ref, ts(p.ships[o.ship].delivered+30*day),
			ts(rt.changed), received, resolvedAt, ts(rt.created), ts(rt.changed))
	})
}

func (w *writer) returnItemsRows() (int, error) {
	p := w.p
	c, err := w.copy("return_items", "return_id", "order_item_id", "quantity", "reason", "value_minor", "received_qty")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.returns) && err == nil; i++ {
		rt := p.returns[i]
		for _, it := range rt.items {
			var got any
			if rt.received() {
				got = it.qty
			}
			if err = c.row(i+1, it.item+1, it.qty, it.reason, it.value, got); err != nil {
				break
			}
		}
	}
	return c.done(err)
}

// received tells whether the parcel came back to the store.
func (rt pReturn) received() bool {
	switch rt.status {
	case "received", "resolution_failed", "refunded", "credited", "exchanged":
		return true
	}
	return false
}

func (w *writer) returnEventsRows() (int, error) {
	p := w.p
	c, err := w.copy("return_events", "return_id", "status", "actor", "note", "created_at")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.returns) && err == nil; i++ {
		rt := p.returns[i]
		if err = c.row(i+1, "requested", "customer", "", ts(rt.created)); err == nil && rt.status != "requested" {
			err = c.row(i+1, rt.status, "staff", "", ts(rt.changed))
		}
	}
	return c.done(err)
}

var reviewTitles = [...]string{"", "Disappointed", "Not for me", "Does the job", "Very good", "Love it"}

// reviewsRows reviews about 15% of the delivered order lines, mostly with
// four or five stars; most are published, a few wait or were rejected.
func (w *writer) reviewsRows() (int, error) {
	p := w.p
	cols := []string{"order_item_id", "order_id", "customer_id", "sku", "rating", "title", "body", "author_name",
		"status", "reject_reason", "published_at", "created_at", "updated_at"}
	c, err := w.copy("reviews", cols...)
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.items) && err == nil; i++ {
		it := p.items[i]
		o := p.orders[it.order]
		if o.ship < 0 || p.ships[o.ship].state != stDelivered || w.r.Float64() >= 0.15 {
			continue
		}
		at := p.ships[o.ship].delivered + 3*day + w.r.Int64N(20*day)
		if at >= p.now {
			continue
		}
		rating := 5
		switch u := w.r.Float64(); {
		case u < 0.05:
			rating = 1
		case u < 0.10:
			rating = 2
		case u < 0.20:
			rating = 3
		case u < 0.45:
			rating = 4
		}
		status, published := "published", any(ts(at+hour))
		var reject any
		if u := w.r.Float64(); u < 0.03 {
			status, published, reject = "rejected", nil, "spam"
		} else if u < 0.12 {
			status, published = "pending", nil
		}
		name, _ := p.customerName(o.cust)
		author := name
		if k := len(name); k > 0 {
			for j := 0; j < k; j++ {
				if name[j] == ' ' && j+1 < k {
					author = name[:j+2] + "."
					break
				}
			}
		}
		pr := p.products[it.prod]
		err = c.row(i+1, it.order+1, o.cust+1, pr.sku, rating, reviewTitles[rating],
			fmt.Sprintf("%s: %s. Ordered it in %s.", reviewTitles[rating], pr.title, ts(o.placed).Format("January")),
			author, status, reject, published, ts(at), ts(at))
	}
	return c.done(err)
}
