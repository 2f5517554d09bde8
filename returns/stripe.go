package returns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Idempotency keys of the Stripe writes a return makes. They derive from
// the return's id alone, so a retry (after a timeout, a crash, or a failure
// shown to staff) repeats the same request and Stripe answers with the
// first result instead of paying out twice.
func refundKey(returnID int64) string { return "return-" + strconv.FormatInt(returnID, 10) + "-refund" }
func creditKey(returnID int64) string { return "return-" + strconv.FormatInt(returnID, 10) + "-credit" }
func couponKey(returnID int64) string { return "return-" + strconv.FormatInt(returnID, 10) + "-coupon" }

// CustomerKey is the idempotency key of creating the Stripe customer of a
// customer: any feature that creates one should use it, so that two
// features never make two Stripe customers for one shopper.
func CustomerKey(customerID int64) string {
	return "aftercare-customer-" + strconv.FormatInt(customerID, 10)
}

// stripeRefund refunds amount of the order's payment. ref is a
// PaymentIntent (pi_...) or a Charge (ch_...).
func stripeRefund(sc *client.API, r Return, ref string, amount int64) (string, error) {
	params := &stripe.RefundParams{
		Amount: stripe.Int64(amount),
		Reason: stripe.String(string(stripe.RefundReasonRequestedByCustomer)),
	}
	if strings.HasPrefix(ref, "ch_") {
		params.Charge = stripe.String(ref)
	} else {
		params.PaymentIntent = stripe.String(ref)
	}
	params.AddMetadata("rma", r.RMA)
	params.AddMetadata("aftercare_return_id", strconv.FormatInt(r.ID, 10))
	params.SetIdempotencyKey(refundKey(r.ID))
	re, err := sc.Refunds.New(params)
	if err != nil {
		return "", err
	}
	return re.ID, nil
}

// ensureStripeCustomer returns the customer's Stripe customer id, creating
// the Stripe customer when there is none yet.
func ensureStripeCustomer(sc *client.API, c stripeCustomer) (string, error) {
	if c.StripeID != nil && *c.StripeID != "" {
		return *c.StripeID, nil
	}
	params := &stripe.CustomerParams{Email: stripe.String(c.Email)}
	if c.Name != "" {
		params.Name = stripe.String(c.Name)
	}
	params.AddMetadata("aftercare_customer_id", strconv.FormatInt(c.ID, 10))
	params.SetIdempotencyKey(CustomerKey(c.ID))
	cu, err := sc.Customers.New(params)
	if err != nil {
		return "", err
	}
	return cu.ID, nil
}

// stripeBalanceCredit credits amount to the customer's Stripe balance (a
// negative balance transaction is money the customer has to spend).
func stripeBalanceCredit(sc *client.API, r Return, customer string, amount int64) (string, error) {
	params := &stripe.CustomerBalanceTransactionParams{
		Customer:    stripe.String(customer),
		Amount:      stripe.Int64(-amount),
		Currency:    stripe.String(strings.ToLower(r.Currency)),
		Description: stripe.String("Store credit for return " + r.RMA),
	}
	params.AddMetadata("rma", r.RMA)
	params.SetIdempotencyKey(creditKey(r.ID))
	t, err := sc.CustomerBalanceTransactions.New(params)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// PromoCode is the promotion code a credit by code gives the shopper:
// CREDIT- and the RMA's six characters.
func PromoCode(rma string) string { return "CREDIT-" + strings.TrimPrefix(rma, "R-") }

// stripePromoCredit makes a one-off amount-off coupon and a single-use
// promotion code for it that only the customer can redeem. It returns the
// code the shopper types.
func stripePromoCredit(sc *client.API, r Return, customer string, amount int64) (string, string, error) {
	cp := &stripe.CouponParams{
		AmountOff:      stripe.Int64(amount),
		Currency:       stripe.String(strings.ToLower(r.Currency)),
		Duration:       stripe.String(string(stripe.CouponDurationOnce)),
		MaxRedemptions: stripe.Int64(1),
		Name:           stripe.String("Store credit " + r.RMA),
	}
	cp.AddMetadata("rma", r.RMA)
	cp.SetIdempotencyKey(couponKey(r.ID))
	coupon, err := sc.Coupons.New(cp)
	if err != nil {
		return "", "", err
	}
	code := PromoCode(r.RMA)
	pp := &stripe.PromotionCodeParams{
		Coupon:         stripe.String(coupon.ID),
		Customer:       stripe.String(customer),
		Code:           stripe.String(code),
		MaxRedemptions: stripe.Int64(1),
	}
	pp.AddMetadata("rma", r.RMA)
	pp.SetIdempotencyKey(creditKey(r.ID))
	promo, err := sc.PromotionCodes.New(pp)
	if err != nil {
		return "", "", err
	}
	return code, promo.ID, nil
}

// stripeMessage is what staff are told when Stripe refuses or cannot be
// reached: Stripe's own message for its refusals, which speak of the
// payment, never of our internals.
func stripeMessage(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) {
		msg := se.Msg
		if msg == "" {
			msg = "the request was refused"
		}
		if se.Code != "" {
			return fmt.Sprintf("Stripe: %s (%s).", strings.TrimSuffix(msg, "."), se.Code)
		}
		return fmt.Sprintf("Stripe: %s.", strings.TrimSuffix(msg, "."))
	}
	return "Stripe could not be reached. Nothing was recorded; try again."
}
