package referral

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
	"github.com/aftercare/aftercare/web"
)

// OrderCreated reacts to order.created in tx: it remembers what the
// customer was seen with (for later fraud checks), gives them a referral
// code, and, unless the order is history being loaded, tries to attribute
// it to a referral.
func (s *Service) OrderCreated(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	o, err := s.orders.Order(ctx, ev.OrderID)
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	ids := orderIdentities(o)
	if err := rememberIdentities(ctx, tx, o.CustomerID, ids); err != nil {
		return err
	}
	if _, err := s.EnsureCode(ctx, tx, o.CustomerID); err != nil {
		return err
	}
	// History being loaded and a return's replacement (an exchange) are not
	// purchases a friend was won for.
	if ev.Historic || o.Source == "exchange" {
		return nil
	}
	p, err := program.Load(ctx, tx)
	if err != nil || !p.Enabled {
		return err
	}
	_, err = s.Attribute(ctx, tx, o, p)
	return err
}

// orderIdentities is what an order tells about who placed it.
func orderIdentities(o commerce.Order) Identities {
	ids := Identities{}
	ids.Add(IdentityEmail, NormalizeEmail(o.Customer.Email))
	if o.ShippingAddress != nil {
		ids.Add(IdentityAddress, o.ShippingAddress.Normalized())
	}
	ids.Add(IdentityPayment, o.PaymentFingerprint)
	ids.Add(IdentityDevice, o.DeviceID)
	return ids
}

// Attribute converts the referral that order o completes, if any, and
// holds its reward; it returns the converted referral's id (0 for none).
// The rules: the order used a friend's promotion code, or carries a
// referral code whose link this friend claimed (same email) or visited (same
// device); the claim or visit is within the attribution window before the
// order; it is the friend's first order and the friend never converted
// before; among the friend's claims in the window, the earliest wins.
func (s *Service) Attribute(ctx context.Context, tx *sqlx.Tx, o commerce.Order, p program.Settings) (int64, error) {
	friend := o.CustomerID
	if earlier, err := hasEarlierOrder(ctx, tx, friend, o.ID, o.PlacedAt); err != nil || earlier {
		return 0, err
	}
	var done bool
	if err := tx.GetContext(ctx, &done, `SELECT EXISTS (SELECT 1 FROM referrals WHERE friend_customer_id = $1 AND status = 'converted')`, friend); err != nil {
		return 0, fmt.Errorf("referral: conversions of %d: %w", friend, err)
	}
	if done {
		return 0, nil
	}
	since := o.PlacedAt.Add(-time.Duration(p.AttributionDays) * 24 * time.Hour)
	emailNorm := NormalizeEmail(o.Customer.Email)
	matched, err := s.matches(ctx, tx, o, emailNorm, since)
	if err != nil || len(matched) == 0 {
		return 0, err
	}
	// First referrer wins: the friend's earliest claim in the window, even
	// when the order used a later referrer's code.
	earliest, err := referralsWhere(ctx, tx, `status = 'invited' AND friend_email_norm = $1 AND created_at >= $2`, emailNorm, since)
	if err != nil {
		return 0, err
	}
	all := append(matched, earliest...)
	slices.SortFunc(all, func(a, b Referral) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	r, found, err := referralByID(ctx, tx, all[0].ID, true)
	if err != nil || !found || r.Status != Invited {
		return 0, err
	}
	signals, err := s.signals(ctx, tx, r, o, p)
	if err != nil {
		return 0, err
	}
	if err := convert(ctx, tx, r.ID, friend, o.ID, s.now()); err != nil {
		return 0, err
	}
	voidReason := ""
	if min := p.Friend.MinimumMinor; min > 0 && o.Currency == p.Currency && o.SubtotalMinor < min {
		voidReason = "Your friend's order was under the minimum of " + web.Money(min, p.Currency) + "."
	}
	strs := make([]string, len(signals))
	for i, sig := range signals {
		strs[i] = string(sig)
	}
	if _, _, err := s.rewards.Hold(ctx, tx, rewards.HoldInput{ReferralID: r.ID, ReferrerID: r.ReferrerID, OrderID: o.ID,
		Signals: strs, VoidReason: voidReason, Program: p}); err != nil {
		return 0, err
	}
	if s.bus != nil {
		ev := events.Event{Kind: events.ReferralConverted, ReferralID: r.ID, CustomerID: r.ReferrerID, OrderID: o.ID}
		if err := s.bus.Emit(ctx, tx, ev); err != nil {
			return 0, err
		}
	}
	return r.ID, nil
}

// matches are the open referrals order o points at: by a promotion code
// it used, or by its referral code with this friend's claim or visit.
func (s *Service) matches(ctx context.Context, tx *sqlx.Tx, o commerce.Order, emailNorm string, since time.Time) ([]Referral, error) {
	codes := make([]string, 0, len(o.DiscountCodes))
	for _, c := range o.DiscountCodes {
		codes = append(codes, NormalizeCode(c))
	}
	out, err := claimsByPromotionCode(ctx, tx, codes)
	if err != nil {
		return nil, err
	}
	if o.ReferralCode != "" {
		c, err := codeByValue(ctx, tx, o.ReferralCode)
		if fault.KindOf(err) == fault.NotFound {
			return within(out, since), nil
		}
		if err != nil {
			return nil, err
		}
		claims, err := referralsWhere(ctx, tx, `code_id = $1 AND status = 'invited' AND (friend_email_norm = $2 OR (device_id <> '' AND device_id = $3))`,
			c.ID, emailNorm, o.DeviceID)
		if err != nil {
			return nil, err
		}
		out = append(out, claims...)
		if len(claims) == 0 && o.DeviceID != "" {
			// No claim, but this device opened the link: the store sent the
			// friend's device back with the order.
			// A visit this instance took in the last flush interval is not in
			// the table yet: it counts all the same. The buffer is looked at
			// before the table, so a visit written in between is seen in the
			// one or the other. (One taken by another instance that short a
			// time before the order is not seen; a friend's visit and their
			// checkout are seconds apart at least.)
			bt, buffered := s.visits.first(c.ID, o.DeviceID, since)
			at, seen, err := firstVisit(ctx, tx, c.ID, o.DeviceID, since)
			if err != nil {
				return nil, err
			}
			if buffered && (!seen || bt.Before(at)) {
				at, seen = bt, true
			}
			if seen {
				r, err := upsertClaim(ctx, tx, Referral{CodeID: c.ID, ReferrerID: c.CustomerID, Source: "attribution",
					FriendEmail: o.Customer.Email, FriendEmailNorm: emailNorm, DeviceID: o.DeviceID, CreatedAt: at})
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
		}
	}
	return within(out, since), nil
}

// within keeps the referrals made since the start of the window.
func within(rs []Referral, since time.Time) []Referral {
	return slices.DeleteFunc(rs, func(r Referral) bool { return r.CreatedAt.Before(since) || r.Status != Invited })
}

// signals runs the fraud checks for referral r converted by order o.
func (s *Service) signals(ctx context.Context, tx *sqlx.Tx, r Referral, o commerce.Order, p program.Settings) ([]Signal, error) {
	referrer, err := identitiesOf(ctx, tx, r.ReferrerID)
	if err != nil {
		return nil, err
	}
	friend := orderIdentities(o)
	friend.Add(IdentityEmail, r.FriendEmailNorm)
	friend.Add(IdentityDevice, r.DeviceID)
	store, err := settings.Load(ctx, tx)
	if err != nil {
		return nil, err
	}
	recent, month, lifetime, err := countConversions(ctx, tx, r.ReferrerID, s.now(), store.Location())
	if err != nil {
		return nil, err
	}
	emails := []string{o.Customer.Email}
	if !strings.EqualFold(r.FriendEmail, o.Customer.Email) {
		emails = append(emails, r.FriendEmail)
	}
	return Check(Evidence{ReferrerID: r.ReferrerID, FriendID: o.CustomerID, Referrer: referrer, Friend: friend,
		FriendEmails: emails, Recent: recent, ThisMonth: month, Lifetime: lifetime}, p, s.disposable), nil
}
