package rewards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/referral/program"
)

// ErrNoStripe is returned when a Stripe write is asked for and Stripe is
// not configured.
var ErrNoStripe = fault.Errorf(fault.Unavailable, "Referral offers are not available right now.")

// FriendCode is the friend's single-use promotion code for a claimed
// referral: Code (ours, shown to the friend) expires at ExpiresAt.
type FriendCode struct {
	ReferralID int64
	Code       string
	ExpiresAt  time.Time
	Program    program.Settings
}

// CreateFriendCode makes the friend's promotion code in Stripe: on the
// coupon of the program's friend offer (made once per offer shape), single
// use, first-time transactions only, with the offer's minimum and expiry and
// the referral id in its metadata. The Idempotency-Key is the referral's id,
// so a retried claim returns the same code. It returns the Stripe id, or
// ErrNoStripe, or a Stripe error.
func (s *Service) CreateFriendCode(ctx context.Context, f FriendCode) (string, error) {
	if s.gw == nil {
		return "", ErrNoStripe
	}
	o := f.Program.Friend
	coupon, err := s.coupon(ctx, o, f.Program.Currency)
	if err != nil {
		return "", err
	}
	return s.gw.CreatePromotionCode(ctx, PromotionSpec{
		Code: f.Code, Coupon: coupon, FirstTime: true, ExpiresAt: f.ExpiresAt,
		MinimumMinor: o.MinimumMinor, Currency: f.Program.Currency,
		Metadata: map[string]string{"aftercare_referral_id": strconv.FormatInt(f.ReferralID, 10)},
	}, idemKey("referral", f.ReferralID, "promotion_code"))
}

// couponKey names an offer's shape: the coupon is the discount itself; the
// minimum and expiry belong to each promotion code.
func couponKey(o program.Offer, currency string) string {
	if o.Kind == program.Percent {
		return "percent:" + strconv.Itoa(o.Percent)
	}
	return "amount:" + strconv.FormatInt(o.AmountMinor, 10) + ":" + strings.ToUpper(currency)
}

// coupon returns the Stripe coupon for an offer shape, making it the first
// time. It writes through the pool, not the caller's transaction: a coupon
// made in Stripe stays recorded even when the grant that needed it fails.
func (s *Service) coupon(ctx context.Context, o program.Offer, cur string) (string, error) {
	key := couponKey(o, cur)
	var id string
	err := s.db.GetContext(ctx, &id, `SELECT stripe_coupon_id FROM referral_coupons WHERE spec_key = $1`, key)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("rewards: coupon %s: %w", key, err)
	}
	name := "Referral: " + o.Describe(cur)
	id, err = s.gw.CreateCoupon(ctx, CouponSpec{Name: name, PercentOff: o.Percent, AmountOff: o.AmountMinor, Currency: cur,
		Metadata: map[string]string{"aftercare_offer": key}}, "coupon:"+key)
	if err != nil {
		return "", stripeFailure{err}
	}
	// Two first uses at once both get the same coupon from Stripe (same
	// Idempotency-Key); the first row written wins either way. The read is
	// a statement of its own, so it sees a row another instance committed
	// while the insert waited for it.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO referral_coupons (spec_key, stripe_coupon_id) VALUES ($1, $2)
		ON CONFLICT (spec_key) DO NOTHING`, key, id); err != nil {
		return "", fmt.Errorf("rewards: record coupon %s: %w", key, err)
	}
	if err := s.db.GetContext(ctx, &id, `SELECT stripe_coupon_id FROM referral_coupons WHERE spec_key = $1`, key); err != nil {
		return "", fmt.Errorf("rewards: coupon %s: %w", key, err)
	}
	return id, nil
}

// stripeCustomer returns the referrer's Stripe customer: the one on file,
// else one found by email, else a new one (Idempotency-Key of our customer
// id). It is stored on the customer through the pool, so it is kept even if
// the grant that needed it fails.
func (s *Service) stripeCustomer(ctx context.Context, customerID int64, email string) (string, error) {
	var onFile sql.NullString
	if err := s.db.GetContext(ctx, &onFile, `SELECT stripe_customer_id FROM customers WHERE id = $1`, customerID); err != nil {
		return "", fmt.Errorf("rewards: customer %d: %w", customerID, err)
	}
	if onFile.String != "" {
		return onFile.String, nil
	}
	id, found, err := s.gw.FindCustomer(ctx, email)
	if err != nil {
		return "", stripeFailure{err}
	}
	if !found {
		if id, err = s.gw.CreateCustomer(ctx, email, customerID, idemKey("customer", customerID, "create")); err != nil {
			return "", stripeFailure{err}
		}
	}
	err = s.db.GetContext(ctx, &id, `UPDATE customers SET stripe_customer_id = COALESCE(NULLIF(stripe_customer_id, ''), $2)
		WHERE id = $1 RETURNING stripe_customer_id`, customerID, id)
	if err != nil {
		return "", fmt.Errorf("rewards: store Stripe customer of %d: %w", customerID, err)
	}
	return id, nil
}

func customerEmail(ctx context.Context, q sqlx.QueryerContext, id int64) (string, error) {
	var email string
	if err := sqlx.GetContext(ctx, q, &email, `SELECT email FROM customers WHERE id = $1`, id); err != nil {
		return "", fmt.Errorf("rewards: email of customer %d: %w", id, err)
	}
	return email, nil
}
