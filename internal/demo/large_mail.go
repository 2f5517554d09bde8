package demo

import "fmt"

// request is a review request of one delivered parcel; msg is its email's
// id, 0 when the journey skipped it (no marketing consent).
type request struct {
	ship int32
	due  int64
	msg  int64
}

// sentMsg is an email that was delivered: it can have opens and clicks.
type sentMsg struct {
	id, at    int64
	marketing bool
}

// messagesRows writes the emails the store sent: a confirmation per order,
// a "shipped" and a "delivered" per parcel, and the review requests a week
// after delivery (to customers who consented). All were sent; a few failed.
func (w *writer) messagesRows() (int, error) {
	p := w.p
	for i, s := range p.ships {
		if s.state == stDelivered && s.delivered+7*day < p.now {
			w.requests = append(w.requests, request{ship: int32(i), due: s.delivered + 7*day})
		}
	}
	cols := []string{"id", "kind", "dedupe_key", "customer_id", "order_id", "shipment_id", "to_address", "subject",
		"status", "attempts", "last_error", "rendered_at", "sent_at", "created_at", "marketing"}
	c, err := w.copy("messages", cols...)
	if err != nil {
		return 0, err
	}
	id := int64(0)
	put := func(kind string, key int64, cust int32, order, ship any, subject string, at int64, marketing bool) error {
		id++
		_, email := p.customerName(cust)
		status, attempts, lastErr, sent := "sent", 1, "", any(ts(at+30))
		if w.r.Float64() < 0.003 {
			status, attempts, lastErr, sent = "failed", 5, "smtp: 550 mailbox unavailable", nil
		} else {
			w.msgs = append(w.msgs, sentMsg{id: id, at: at + 30, marketing: marketing})
		}
		return c.row(id, kind, fmt.Sprintf("%s:%d", kind, key), cust+1, order, ship, email, subject,
			status, attempts, lastErr, ts(at+10), sent, ts(at), marketing)
	}
	for i := 0; i < len(p.orders) && err == nil; i++ {
		o := p.orders[i]
		err = put("order_confirmation", int64(i+1), o.cust, i+1, nil, fmt.Sprintf("Order #%d confirmed", 100001+i), o.placed+30, false)
	}
	for i := 0; i < len(p.ships) && err == nil; i++ {
		s := p.ships[i]
		o := p.orders[s.order]
		if err = put("shipment_shipped", int64(i+1), o.cust, s.order+1, i+1, "Your order is on its way", s.label+60, false); err == nil && s.state == stDelivered {
			err = put("shipment_delivered", int64(i+1), o.cust, s.order+1, i+1, "Your order was delivered", s.delivered+60, false)
		}
	}
	for k := 0; k < len(w.requests) && err == nil; k++ {
		rq := &w.requests[k]
		s := p.ships[rq.ship]
		o := p.orders[s.order]
		if !p.customers[o.cust].consent {
			continue
		}
		err = put("review_request", int64(rq.ship+1), o.cust, s.order+1, rq.ship+1, "How do you like your order?", rq.due, true)
		rq.msg = id
	}
	return c.done(err)
}

// messageEventsRows opens about half the delivered emails (a third of the
// marketing ones), clicks a third of those, and unsubscribes 1% of opened
// marketing emails.
func (w *writer) messageEventsRows() (int, error) {
	c, err := w.copy("message_events", "message_id", "kind", "url", "created_at")
	if err != nil {
		return 0, err
	}
	for _, m := range w.msgs {
		odds := 0.5
		if m.marketing {
			odds = 0.35
		}
		if w.r.Float64() >= odds {
			continue
		}
		at := m.at + 60 + w.r.Int64N(2*day)
		if at >= w.p.now {
			at = w.p.now - 1
		}
		if err = c.row(m.id, "open", "", ts(at)); err != nil {
			break
		}
		if w.r.Float64() < 0.33 {
			if err = c.row(m.id, "click", "https://driftwood.example.com/account/orders", ts(at)); err != nil {
				break
			}
		}
		if m.marketing && w.r.Float64() < 0.01 {
			if err = c.row(m.id, "unsubscribe", "", ts(at)); err != nil {
				break
			}
		}
	}
	return c.done(err)
}

// stepsRows writes the journey's review-request steps: sent with their
// email, or skipped for lack of consent.
func (w *writer) stepsRows() (int, error) {
	p := w.p
	cols := []string{"id", "kind", "key", "customer_id", "order_id", "shipment_id", "due_at", "state", "reason", "message_id", "created_at", "done_at"}
	return w.run("journey_steps", cols, len(w.requests), func(c *copier, k int) error {
		rq := w.requests[k]
		s := p.ships[rq.ship]
		o := p.orders[s.order]
		state, reason, msg := "sent", "", any(rq.msg)
		if rq.msg == 0 {
			state, reason, msg = "skipped", "no marketing consent", nil
		}
		return c.row(k+1, "review_request", fmt.Sprintf("review_request:%d", rq.ship+1), o.cust+1, s.order+1, rq.ship+1,
			ts(rq.due), state, reason, msg, ts(s.delivered), ts(rq.due))
	})
}

// asksRows records which products each sent request asked about: each
// product at most once per customer, ever.
func (w *writer) asksRows() (int, error) {
	p := w.p
	c, err := w.copy("review_asks", "customer_id", "sku", "order_item_id", "step_id", "asked_at")
	if err != nil {
		return 0, err
	}
	asked := make(map[int64]bool, len(w.requests))
	for k := 0; k < len(w.requests) && err == nil; k++ {
		rq := w.requests[k]
		if rq.msg == 0 {
			continue
		}
		o := p.orders[p.ships[rq.ship].order]
		for j := int32(0); j < int32(o.nItems); j++ {
			it := p.items[o.firstItem+j]
			key := int64(o.cust)<<8 | int64(it.prod)
			if asked[key] {
				continue
			}
			asked[key] = true
			if err = c.row(o.cust+1, p.products[it.prod].sku, o.firstItem+j+1, k+1, ts(rq.due)); err != nil {
				break
			}
		}
	}
	return c.done(err)
}
