package referral

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/referral/program"
)

// Signal is one reason to doubt a conversion; any signal holds the reward
// for staff in /admin/referrals.
type Signal string

// The fraud signals.
const (
	SameCustomer    Signal = "same_customer"    // the friend is the referrer
	SameEmail       Signal = "same_email"       // one mailbox, spelled two ways
	SameAddress     Signal = "same_address"     // ships to the referrer's address
	SamePayment     Signal = "same_payment"     // paid with the referrer's card
	SameDevice      Signal = "same_device"      // ordered or claimed on the referrer's device
	DisposableEmail Signal = "disposable_email" // a throwaway mailbox
	Velocity        Signal = "velocity"         // too many conversions in 30 days
	MonthlyCap      Signal = "monthly_cap"      // over the referrer's monthly cap
	LifetimeCap     Signal = "lifetime_cap"     // over the referrer's lifetime cap
)

// Describe is the signal in staff's words.
func (s Signal) Describe() string {
	switch s {
	case SameCustomer:
		return "The friend is the referrer's own customer account."
	case SameEmail:
		return "The friend's email is the referrer's, spelled another way (dots or a +tag)."
	case SameAddress:
		return "The order ships to an address the referrer has used."
	case SamePayment:
		return "The order was paid with a card the referrer has used."
	case SameDevice:
		return "The order or the claim came from a device the referrer has used."
	case DisposableEmail:
		return "The friend used a disposable email address."
	case Velocity:
		return "The referrer has more conversions in 30 days than the program allows."
	case MonthlyCap:
		return "The referrer is over the monthly cap of rewards."
	case LifetimeCap:
		return "The referrer is over the lifetime cap of rewards."
	}
	return string(s)
}

// Evidence is what the fraud checks look at for one conversion.
type Evidence struct {
	ReferrerID, FriendID int64
	Referrer, Friend     Identities
	// FriendEmails are the addresses the friend used (the order's and the
	// claim's), as given.
	FriendEmails []string
	// Recent, ThisMonth and Lifetime count the referrer's conversions in the
	// last 30 days and rewards this calendar month and ever, each including
	// this one; voided rewards do not count towards the caps.
	Recent, ThisMonth, Lifetime int
}

// Check returns the signals that fire for e under program p, in the order
// of the constants.
func Check(e Evidence, p program.Settings, disposable *Disposable) []Signal {
	var out []Signal
	if e.ReferrerID == e.FriendID {
		out = append(out, SameCustomer)
	}
	for _, pair := range []struct {
		kind string
		sig  Signal
	}{{IdentityEmail, SameEmail}, {IdentityAddress, SameAddress}, {IdentityPayment, SamePayment}, {IdentityDevice, SameDevice}} {
		if e.Friend.Shares(e.Referrer, pair.kind) && !(pair.sig == SameEmail && e.ReferrerID == e.FriendID) {
			out = append(out, pair.sig)
		}
	}
	for _, email := range e.FriendEmails {
		if disposable.Has(email) {
			out = append(out, DisposableEmail)
			break
		}
	}
	if p.VelocityLimit > 0 && e.Recent > p.VelocityLimit {
		out = append(out, Velocity)
	}
	if p.MonthlyCap > 0 && e.ThisMonth > p.MonthlyCap {
		out = append(out, MonthlyCap)
	}
	if p.LifetimeCap > 0 && e.Lifetime > p.LifetimeCap {
		out = append(out, LifetimeCap)
	}
	return out
}

// countConversions fills the referrer's counts (each including the one
// being checked) as of now, with months in the store's zone.
func countConversions(ctx context.Context, q sqlx.QueryerContext, referrerID int64, now time.Time, loc *time.Location) (recent, month, lifetime int, err error) {
	local := now.In(loc)
	monthStart := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc)
	var c struct {
		Recent   int `db:"recent"`
		Month    int `db:"month"`
		Lifetime int `db:"lifetime"`
	}
	err = sqlx.GetContext(ctx, q, &c, `SELECT
		(SELECT count(*) FROM referrals WHERE referrer_id = $1 AND status = 'converted' AND converted_at > $2) AS recent,
		(SELECT count(*) FROM rewards WHERE customer_id = $1 AND kind = 'referral' AND status <> 'voided' AND created_at >= $3) AS month,
		(SELECT count(*) FROM rewards WHERE customer_id = $1 AND kind = 'referral' AND status <> 'voided') AS lifetime`,
		referrerID, now.Add(-30*24*time.Hour), monthStart)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("referral: count conversions of %d: %w", referrerID, err)
	}
	return c.Recent + 1, c.Month + 1, c.Lifetime + 1, nil
}
