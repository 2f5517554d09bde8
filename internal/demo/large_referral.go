package demo

import "fmt"

func (w *writer) codesRows() (int, error) {
	p := w.p
	c, err := w.copy("referral_codes", "id", "customer_id", "code", "created_at")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.customers) && err == nil; i++ {
		if id := w.codeOf[i]; id != 0 {
			err = c.row(id, i+1, p.codeText(int32(i), id), ts(p.customers[i].codeCreated))
		}
	}
	return c.done(err)
}

// visitsRows writes share-link visits: a few before each claim, and as many
// again that led nowhere.
func (w *writer) visitsRows() (int, error) {
	p := w.p
	c, err := w.copy("referral_visits", "code_id", "device_id", "created_at")
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.referrals) && err == nil; i++ {
		rf := p.referrals[i]
		code := w.codeOf[rf.referrer]
		from := p.customers[rf.referrer].codeCreated
		for k := 0; k < 1+w.r.IntN(4) && err == nil; k++ {
			at := rf.created - w.r.Int64N(max(1, min(rf.created-from, 3*day)))
			err = c.row(code, fmt.Sprintf("dv-%d-%d", i+1, k), ts(at))
		}
		if err == nil {
			// A visit by someone who never claimed.
			at := from + w.r.Int64N(max(1, p.now-from))
			err = c.row(code, fmt.Sprintf("dv-x%d", i+1), ts(at))
		}
	}
	return c.done(err)
}

// referralsRows writes the claims: converted by the friend's first order,
// or still open.
func (w *writer) referralsRows() (int, error) {
	p := w.p
	cols := []string{"id", "code_id", "referrer_id", "source", "friend_email", "friend_email_norm", "device_id", "promotion_code",
		"stripe_promotion_code_id", "offer_expires_at", "status", "friend_customer_id", "order_id", "converted_at", "created_at", "updated_at"}
	return w.run("referrals", cols, len(p.referrals), func(c *copier, i int) error {
		rf := p.referrals[i]
		email := fmt.Sprintf("friend.%d@example.net", i+1)
		status, updated := "invited", rf.created
		var friend, order, converted any
		if rf.order >= 0 {
			_, email = p.customerName(rf.friend)
			o := p.orders[rf.order]
			status, friend, order, converted, updated = "converted", rf.friend+1, rf.order+1, ts(o.placed), o.placed
		}
		return c.row(i+1, w.codeOf[rf.referrer], rf.referrer+1, "claim", email, email, fmt.Sprintf("dv-%d-0", i+1),
			fmt.Sprintf("FRIEND-%07d", i+1), fmt.Sprintf("promo_seed%07d", i+1), ts(rf.created+30*day), status,
			friend, order, converted, ts(rf.created), ts(updated))
	})
}

// rewardsRows rewards each converted referral: granted once the friend's
// return window (30 days) passed, held before, voided when the friend's
// order was refunded in full.
func (w *writer) rewardsRows() (int, error) {
	p := w.p
	cols := []string{"customer_id", "kind", "referral_id", "order_id", "reward_type", "offer_kind", "amount_minor", "currency",
		"status", "payable_at", "promotion_code", "granted_at", "void_reason", "voided_at", "created_at", "updated_at"}
	c, err := w.copy("rewards", cols...)
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(p.referrals) && err == nil; i++ {
		rf := p.referrals[i]
		if rf.order < 0 {
			continue
		}
		o := p.orders[rf.order]
		payable := o.placed + 30*day
		status, updated := "held", o.placed
		var code, granted, voided any
		void := ""
		switch {
		case o.status == osRefunded || o.status == osCancelled:
			status, void, voided, updated = "voided", "the friend's order was refunded", ts(o.placed+5*day), o.placed+5*day
		case payable < p.now:
			status, code, granted, updated = "granted", fmt.Sprintf("THANKS-%07d", i+1), ts(payable), payable
		}
		err = c.row(rf.referrer+1, "referral", i+1, rf.order+1, "coupon", "amount", 1000, "USD", status, ts(payable),
			code, granted, void, voided, ts(o.placed), ts(updated))
	}
	return c.done(err)
}
