package stripemock_test

import (
	"testing"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/stripemock"
)

func TestStripeGoTalksToTheMock(t *testing.T) {
	defer stripemock.StopShared()
	url := stripemock.URL(t)
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(url)})
	sc := client.New("sk_test_123", backends)
	c, err := sc.Coupons.New(&stripe.CouponParams{PercentOff: stripe.Float64(10), Duration: stripe.String(string(stripe.CouponDurationOnce))})
	if err != nil {
		t.Fatalf("create coupon: %v", err)
	}
	if c.ID == "" {
		t.Fatal("no coupon id")
	}
	_, err = sc.PromotionCodes.New(&stripe.PromotionCodeParams{Coupon: stripe.String(c.ID), MaxRedemptions: stripe.Int64(1),
		Restrictions: &stripe.PromotionCodeRestrictionsParams{FirstTimeTransaction: stripe.Bool(true)}})
	if err != nil {
		t.Fatalf("create promotion code: %v", err)
	}
	if _, err := sc.Coupons.New(&stripe.CouponParams{Duration: stripe.String("sometimes")}); err == nil {
		t.Fatal("the mock accepted an invalid coupon, so it checks nothing")
	}
}
