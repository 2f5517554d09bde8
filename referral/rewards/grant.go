package rewards

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/referral/program"
)

// Outcome says what Process did with a reward.
type Outcome string

// The outcomes of Process.
const (
	OutcomeNone       Outcome = ""            // nothing due, or another worker holds the reward
	OutcomeGranted    Outcome = "granted"     // paid in Stripe
	OutcomeFailed     Outcome = "failed"      // Stripe refused or was unreachable; retried later
	OutcomeClawedBack Outcome = "clawed_back" // the code deactivated or the credit reversed
)

// MaxAttempts is how many times a grant or clawback is tried before it
// waits for staff to press Retry.
const MaxAttempts = 8

// backoff is the wait after the n-th failed attempt: 1 minute, doubling,
// at most 6 hours.
func backoff(n int) time.Duration {
	d := time.Minute << min(n-1, 10)
	return min(d, 6*time.Hour)
}

// stripeFailure marks an error from Stripe (as opposed to the database):
// the attempt is recorded as failed and retried with backoff.
type stripeFailure struct{ err error }

func (e stripeFailure) Error() string { return e.err.Error() }
func (e stripeFailure) Unwrap() error { return e.err }

// Process grants a pending reward (or a failed one whose retry is due), or
// claws back a voided one that was granted. It takes the reward's row lock
// with SKIP LOCKED: a second worker on the same reward gets OutcomeNone at
// once, and once the first commits the state check stops any repeat. Every
// Stripe write carries an Idempotency-Key of the reward's id and step, so
// even a grant whose commit was lost is not paid twice. A Stripe failure is
// recorded (failed, attempts, next try) and is not an error; without Stripe
// configured nothing happens.
func (s *Service) Process(ctx context.Context, id int64) (Outcome, error) {
	if s.gw == nil {
		return OutcomeNone, nil
	}
	var out Outcome
	var failure stripeFailure
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		r, found, err := lockReward(ctx, tx, id, true)
		if err != nil || !found {
			return err
		}
		// A step that used up its attempts waits for staff's Retry.
		due := r.Attempts < MaxAttempts && (r.NextAttemptAt == nil || !r.NextAttemptAt.After(s.now()))
		switch {
		case r.Status == Pending || (r.Status == Failed && due):
			err, out = s.grant(ctx, tx, &r), OutcomeGranted
		case r.Status == Voided && r.Clawback == ClawbackPending && due:
			err, out = s.clawback(ctx, tx, &r), OutcomeClawedBack
		}
		return err
	})
	if errors.As(err, &failure) {
		return OutcomeFailed, s.fail(ctx, id, failure.err)
	}
	if err != nil {
		return OutcomeNone, err
	}
	return out, nil
}

// grant pays r in Stripe and records it, with the referrer's email.
func (s *Service) grant(ctx context.Context, tx *sqlx.Tx, r *Reward) error {
	email, err := customerEmail(ctx, tx, r.CustomerID)
	if err != nil {
		return err
	}
	if r.StripeCustomerID, err = s.stripeCustomer(ctx, r.CustomerID, email); err != nil {
		return err
	}
	meta := map[string]string{"aftercare_reward_id": strconv.FormatInt(r.ID, 10), "aftercare_customer_id": strconv.FormatInt(r.CustomerID, 10)}
	if r.ReferralID != nil {
		meta["aftercare_referral_id"] = strconv.FormatInt(*r.ReferralID, 10)
	}
	switch r.RewardType {
	case program.Coupon:
		if r.PromotionCode == nil || r.CodeExpiresAt == nil {
			return fmt.Errorf("rewards: reward %d is pending without its code", r.ID)
		}
		if r.StripeCouponID, err = s.coupon(ctx, r.offer(), r.Currency); err != nil {
			return err
		}
		r.StripePromotionCodeID, err = s.gw.CreatePromotionCode(ctx, PromotionSpec{
			Code: *r.PromotionCode, Coupon: r.StripeCouponID, Customer: r.StripeCustomerID, ExpiresAt: *r.CodeExpiresAt,
			MinimumMinor: r.MinimumMinor, Currency: r.Currency, Metadata: meta,
		}, idemKey("reward", r.ID, "promotion_code"))
	case program.Credit:
		r.StripeBalanceTxnID, err = s.gw.CreateBalanceTransaction(ctx, BalanceSpec{
			Customer: r.StripeCustomerID, AmountMinor: -r.AmountMinor, Currency: r.Currency,
			Description: "Referral reward", Metadata: meta,
		}, idemKey("reward", r.ID, "credit"))
	default:
		return fmt.Errorf("rewards: reward %d has type %q", r.ID, r.RewardType)
	}
	if err != nil {
		return stripeFailure{err}
	}
	from, now := r.Status, s.now()
	r.Status, r.GrantedAt, r.LastError, r.NextAttemptAt = Granted, &now, "", nil
	if err := save(ctx, tx, r); err != nil {
		return err
	}
	if err := record(ctx, tx, r.ID, from, Granted, audit.System, "paid in Stripe"); err != nil {
		return err
	}
	if err := s.mail(ctx, tx, MailGranted, r, email); err != nil {
		return err
	}
	return s.milestone(ctx, tx, r)
}

// clawback takes back a granted reward that was voided.
func (s *Service) clawback(ctx context.Context, tx *sqlx.Tx, r *Reward) error {
	var ref string
	var err error
	switch {
	case r.StripePromotionCodeID != "":
		err = s.gw.DeactivatePromotionCode(ctx, r.StripePromotionCodeID, idemKey("reward", r.ID, "deactivate"))
		ref = r.StripePromotionCodeID
	case r.StripeBalanceTxnID != "":
		ref, err = s.gw.CreateBalanceTransaction(ctx, BalanceSpec{
			Customer: r.StripeCustomerID, AmountMinor: r.AmountMinor, Currency: r.Currency,
			Description: "Referral reward reversed: " + r.VoidReason,
			Metadata:    map[string]string{"aftercare_reward_id": strconv.FormatInt(r.ID, 10)},
		}, idemKey("reward", r.ID, "reverse"))
	}
	if err != nil {
		return stripeFailure{err}
	}
	r.Clawback, r.ClawbackRef, r.LastError, r.NextAttemptAt = ClawbackDone, ref, "", nil
	if err := save(ctx, tx, r); err != nil {
		return err
	}
	if err := record(ctx, tx, r.ID, Voided, Voided, audit.System, "clawed back: "+r.VoidReason); err != nil {
		return err
	}
	email, err := customerEmail(ctx, tx, r.CustomerID)
	if err != nil {
		return err
	}
	return s.mail(ctx, tx, MailClawback, r, email)
}

// fail records a failed attempt on reward id and when to try again.
func (s *Service) fail(ctx context.Context, id int64, cause error) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		r, found, err := lockReward(ctx, tx, id, false)
		if err != nil || !found {
			return err
		}
		from := r.Status
		if r.Status == Pending {
			r.Status = Failed
		}
		if r.Status != Failed && !(r.Status == Voided && r.Clawback == ClawbackPending) {
			return nil // moved on meanwhile (voided before a grant, say)
		}
		r.Attempts++
		r.LastError = stripeMessage(cause)
		note := fmt.Sprintf("attempt %d failed: %s", r.Attempts, r.LastError)
		r.NextAttemptAt = nil
		if r.Attempts < MaxAttempts {
			next := s.now().Add(backoff(r.Attempts))
			r.NextAttemptAt = &next
			note += "; next try " + next.UTC().Format(time.RFC3339)
		} else {
			note += "; no more automatic tries"
		}
		s.log.Warn("referral reward attempt failed", "reward_id", id, "attempt", r.Attempts, "error", cause)
		if err := save(ctx, tx, &r); err != nil {
			return err
		}
		if err := record(ctx, tx, r.ID, from, r.Status, audit.System, note); err != nil {
			return err
		}
		if r.NextAttemptAt == nil {
			return nil
		}
		return s.schedule(ctx, tx, r.ID, *r.NextAttemptAt)
	})
}

// milestone adds the milestone bonus when r's grant brings the referrer to
// a multiple of MilestoneAfter rewarded referrals (only the first multiple
// unless the program repeats it). The unique (customer, milestone_no)
// index keeps a bonus from being added twice.
func (s *Service) milestone(ctx context.Context, tx *sqlx.Tx, r *Reward) error {
	if r.Kind != KindReferral {
		return nil
	}
	p, err := program.Load(ctx, tx)
	if err != nil || p.MilestoneAfter <= 0 {
		return err
	}
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM rewards WHERE customer_id = $1 AND kind = 'referral' AND status = 'granted'`, r.CustomerID); err != nil {
		return fmt.Errorf("rewards: count granted of %d: %w", r.CustomerID, err)
	}
	no := n / p.MilestoneAfter
	if n%p.MilestoneAfter != 0 || (no > 1 && !p.MilestoneRepeat) {
		return nil
	}
	o := p.Milestone
	m := Reward{CustomerID: r.CustomerID, Kind: KindMilestone, MilestoneNo: &no, RewardType: p.RewardType, OfferKind: o.Kind,
		Percent: o.Percent, AmountMinor: o.AmountMinor, Currency: p.Currency, MinimumMinor: o.MinimumMinor, ExpiryDays: o.ExpiryDays,
		Status: Held}
	m, created, err := insertReward(ctx, tx, m)
	if err != nil || !created {
		return err
	}
	if err := record(ctx, tx, m.ID, "", Held, audit.System, fmt.Sprintf("milestone: %d rewarded referrals", n)); err != nil {
		return err
	}
	return s.makePending(ctx, tx, &m, audit.System, "milestone bonus")
}

// mail queues the email of kind about r to the referrer.
func (s *Service) mail(ctx context.Context, tx *sqlx.Tx, kind string, r *Reward, to string) error {
	if s.outbox == nil {
		return nil
	}
	return s.outbox.Queue(ctx, tx, mail.Queued{Kind: kind, DedupeKey: fmt.Sprintf(mailKeyFormat, kind, r.ID), To: to, CustomerID: r.CustomerID})
}

// RewardIDFromKey reads the reward id from the dedupe key of a reward
// email ("referral_reward:42"); 0 when the key has another shape.
func RewardIDFromKey(kind, key string) int64 {
	var id int64
	if _, err := fmt.Sscanf(key, kind+":%d", &id); err != nil {
		return 0
	}
	return id
}

func (r Reward) offer() program.Offer {
	return program.Offer{Kind: r.OfferKind, Percent: r.Percent, AmountMinor: r.AmountMinor, MinimumMinor: r.MinimumMinor, ExpiryDays: r.ExpiryDays}
}
