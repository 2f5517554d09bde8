package journey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"
)

// Offer is a personal win-back promotion code.
type Offer struct {
	StepID          int64     `db:"step_id"`
	CustomerID      int64     `db:"customer_id"`
	CouponID        string    `db:"stripe_coupon_id"`
	PromotionCodeID string    `db:"stripe_promotion_code_id"`
	Code            string    `db:"code"`
	PercentOff      int       `db:"percent_off"`
	ExpiresAt       time.Time `db:"expires_at"`
}

// OfferOf returns the offer of win-back step stepID, read through q.
func OfferOf(ctx context.Context, q sqlx.QueryerContext, stepID int64) (Offer, bool, error) {
	var o Offer
	err := sqlx.GetContext(ctx, q, &o, `SELECT step_id, customer_id, stripe_coupon_id, stripe_promotion_code_id, code, percent_off, expires_at
		FROM winback_offers WHERE step_id = $1`, stepID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("journey: offer of step %d: %w", stepID, err)
	}
	return o, true, nil
}

// createOffer makes the step's promotion code in Stripe, once: a coupon of
// set.WinbackPercentOff off one order, and a promotion code that only the
// customer's Stripe customer can redeem, once, until it expires. Every write
// carries an Idempotency-Key from our own ids, so a retry after a failure
// (or a rolled-back transaction) gets the same objects back from Stripe.
func (e *Engine) createOffer(ctx context.Context, tx *sqlx.Tx, st Step, set Settings) error {
	if _, ok, err := OfferOf(ctx, tx, st.ID); ok || err != nil {
		return err
	}
	cust, err := e.stripeCustomer(ctx, tx, st.CustomerID)
	if err != nil {
		return err
	}
	step := strconv.FormatInt(st.ID, 10)
	meta := map[string]string{"aftercare_step": step, "aftercare_customer": strconv.FormatInt(st.CustomerID, 10), "aftercare_kind": "winback"}
	cp := &stripe.CouponParams{
		PercentOff: stripe.Float64(float64(set.WinbackPercentOff)), Duration: stripe.String(string(stripe.CouponDurationOnce)),
		Name: stripe.String("Welcome back: " + strconv.Itoa(set.WinbackPercentOff) + "% off"), Metadata: meta,
	}
	cp.Context, cp.IdempotencyKey = ctx, stripe.String("aftercare-winback-"+step+"-coupon")
	coupon, err := e.stripe.Coupons.New(cp)
	if err != nil {
		return fmt.Errorf("journey: win-back coupon for step %d: %w", st.ID, err)
	}
	expires := e.now().AddDate(0, 0, set.WinbackValidDays)
	pp := &stripe.PromotionCodeParams{
		Coupon: stripe.String(coupon.ID), Customer: stripe.String(cust), MaxRedemptions: stripe.Int64(1),
		ExpiresAt: stripe.Int64(expires.Unix()), Metadata: meta,
	}
	pp.Context, pp.IdempotencyKey = ctx, stripe.String("aftercare-winback-"+step+"-promotion-code")
	promo, err := e.stripe.PromotionCodes.New(pp)
	if err != nil {
		return fmt.Errorf("journey: win-back promotion code for step %d: %w", st.ID, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO winback_offers (step_id, customer_id, stripe_coupon_id, stripe_promotion_code_id, code, percent_off, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, st.ID, st.CustomerID, coupon.ID, promo.ID, promo.Code, set.WinbackPercentOff, expires)
	if err != nil {
		return fmt.Errorf("journey: save offer of step %d: %w", st.ID, err)
	}
	return nil
}

// stripeCustomer returns the customer's Stripe customer id, creating the
// Stripe customer (keyed by our customer id) and storing its id when the
// customer has none yet.
func (e *Engine) stripeCustomer(ctx context.Context, tx *sqlx.Tx, customerID int64) (string, error) {
	var c struct {
		Email    string         `db:"email"`
		Name     string         `db:"name"`
		StripeID sql.NullString `db:"stripe_customer_id"`
	}
	err := tx.GetContext(ctx, &c, `SELECT email, name, stripe_customer_id FROM customers WHERE id = $1 FOR UPDATE`, customerID)
	if err != nil {
		return "", fmt.Errorf("journey: customer %d: %w", customerID, err)
	}
	if c.StripeID.Valid && c.StripeID.String != "" {
		return c.StripeID.String, nil
	}
	id := strconv.FormatInt(customerID, 10)
	p := &stripe.CustomerParams{Email: stripe.String(c.Email), Metadata: map[string]string{"aftercare_customer": id}}
	if c.Name != "" {
		p.Name = stripe.String(c.Name)
	}
	p.Context, p.IdempotencyKey = ctx, stripe.String("aftercare-customer-"+id)
	sc, err := e.stripe.Customers.New(p)
	if err != nil {
		return "", fmt.Errorf("journey: Stripe customer for customer %d: %w", customerID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET stripe_customer_id = $2, updated_at = now() WHERE id = $1`, customerID, sc.ID); err != nil {
		return "", fmt.Errorf("journey: store Stripe customer of customer %d: %w", customerID, err)
	}
	return sc.ID, nil
}
