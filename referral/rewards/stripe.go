package rewards

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Gateway is the edge to Stripe: the few writes that rewards and friend
// offers make. Every write takes the Idempotency-Key to send, so a retry of
// the same step returns the object made the first time.
type Gateway interface {
	// FindCustomer returns the id of a Stripe customer with exactly this
	// email, if there is one.
	FindCustomer(ctx context.Context, email string) (string, bool, error)
	// CreateCustomer makes a Stripe customer for one of ours.
	CreateCustomer(ctx context.Context, email string, customerID int64, key string) (string, error)
	// CreateCoupon makes the coupon for an offer shape.
	CreateCoupon(ctx context.Context, c CouponSpec, key string) (string, error)
	// CreatePromotionCode makes a customer-facing code for a coupon.
	CreatePromotionCode(ctx context.Context, p PromotionSpec, key string) (string, error)
	// DeactivatePromotionCode makes a promotion code unusable.
	DeactivatePromotionCode(ctx context.Context, id, key string) error
	// CreateBalanceTransaction moves a customer's balance: negative amounts
	// are credit for the customer, positive ones take it back.
	CreateBalanceTransaction(ctx context.Context, b BalanceSpec, key string) (string, error)
}

// CouponSpec is an offer's coupon: PercentOff or AmountOff in Currency,
// applied once.
type CouponSpec struct {
	Name       string
	PercentOff int
	AmountOff  int64
	Currency   string
	Metadata   map[string]string
}

// PromotionSpec is a single-use code for a coupon. Customer restricts it to
// one Stripe customer; FirstTime to shoppers with no earlier payment.
type PromotionSpec struct {
	Code         string
	Coupon       string
	Customer     string
	FirstTime    bool
	ExpiresAt    time.Time
	MinimumMinor int64
	Currency     string
	Metadata     map[string]string
}

// BalanceSpec is a customer balance transaction.
type BalanceSpec struct {
	Customer    string
	AmountMinor int64
	Currency    string
	Description string
	Metadata    map[string]string
}

// StripeGateway is the Gateway over stripe-go v76.
type StripeGateway struct {
	api *client.API
}

// NewStripeGateway returns the gateway, or nil when api is nil (Stripe not
// configured), so callers can pass the result straight to Options.
func NewStripeGateway(api *client.API) Gateway {
	if api == nil {
		return nil
	}
	return &StripeGateway{api: api}
}

func params(ctx context.Context, key string) stripe.Params {
	p := stripe.Params{Context: ctx}
	if key != "" {
		p.IdempotencyKey = stripe.String(key)
	}
	return p
}

// FindCustomer lists customers by email and returns the first exact match.
func (g *StripeGateway) FindCustomer(ctx context.Context, email string) (string, bool, error) {
	lp := &stripe.CustomerListParams{Email: stripe.String(email)}
	lp.Context = ctx
	lp.Limit = stripe.Int64(3)
	it := g.api.Customers.List(lp)
	for it.Next() {
		if c := it.Customer(); c != nil && strings.EqualFold(c.Email, email) {
			return c.ID, true, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", false, fmt.Errorf("stripe: list customers: %w", err)
	}
	return "", false, nil
}

// CreateCustomer creates a customer with our id in its metadata.
func (g *StripeGateway) CreateCustomer(ctx context.Context, email string, customerID int64, key string) (string, error) {
	c, err := g.api.Customers.New(&stripe.CustomerParams{
		Params:   params(ctx, key),
		Email:    stripe.String(email),
		Metadata: map[string]string{"aftercare_customer_id": strconv.FormatInt(customerID, 10)},
	})
	if err != nil {
		return "", fmt.Errorf("stripe: create customer: %w", err)
	}
	return c.ID, nil
}

// CreateCoupon creates a once-duration coupon.
func (g *StripeGateway) CreateCoupon(ctx context.Context, c CouponSpec, key string) (string, error) {
	p := &stripe.CouponParams{Params: params(ctx, key), Name: stripe.String(c.Name), Duration: stripe.String(string(stripe.CouponDurationOnce)), Metadata: c.Metadata}
	if c.PercentOff > 0 {
		p.PercentOff = stripe.Float64(float64(c.PercentOff))
	} else {
		p.AmountOff = stripe.Int64(c.AmountOff)
		p.Currency = stripe.String(strings.ToLower(c.Currency))
	}
	out, err := g.api.Coupons.New(p)
	if err != nil {
		return "", fmt.Errorf("stripe: create coupon: %w", err)
	}
	return out.ID, nil
}

// CreatePromotionCode creates a promotion code redeemable once.
func (g *StripeGateway) CreatePromotionCode(ctx context.Context, s PromotionSpec, key string) (string, error) {
	p := &stripe.PromotionCodeParams{
		Params:         params(ctx, key),
		Code:           stripe.String(s.Code),
		Coupon:         stripe.String(s.Coupon),
		MaxRedemptions: stripe.Int64(1),
		Metadata:       s.Metadata,
	}
	if !s.ExpiresAt.IsZero() {
		p.ExpiresAt = stripe.Int64(s.ExpiresAt.Unix())
	}
	if s.Customer != "" {
		p.Customer = stripe.String(s.Customer)
	}
	if s.FirstTime || s.MinimumMinor > 0 {
		p.Restrictions = &stripe.PromotionCodeRestrictionsParams{}
		if s.FirstTime {
			p.Restrictions.FirstTimeTransaction = stripe.Bool(true)
		}
		if s.MinimumMinor > 0 {
			p.Restrictions.MinimumAmount = stripe.Int64(s.MinimumMinor)
			p.Restrictions.MinimumAmountCurrency = stripe.String(strings.ToLower(s.Currency))
		}
	}
	out, err := g.api.PromotionCodes.New(p)
	if err != nil {
		return "", fmt.Errorf("stripe: create promotion code: %w", err)
	}
	return out.ID, nil
}

// DeactivatePromotionCode sets active=false.
func (g *StripeGateway) DeactivatePromotionCode(ctx context.Context, id, key string) error {
	_, err := g.api.PromotionCodes.Update(id, &stripe.PromotionCodeParams{Params: params(ctx, key), Active: stripe.Bool(false)})
	if err != nil {
		return fmt.Errorf("stripe: deactivate promotion code: %w", err)
	}
	return nil
}

// CreateBalanceTransaction adds a customer balance transaction.
func (g *StripeGateway) CreateBalanceTransaction(ctx context.Context, b BalanceSpec, key string) (string, error) {
	out, err := g.api.CustomerBalanceTransactions.New(&stripe.CustomerBalanceTransactionParams{
		Params:      params(ctx, key),
		Customer:    stripe.String(b.Customer),
		Amount:      stripe.Int64(b.AmountMinor),
		Currency:    stripe.String(strings.ToLower(b.Currency)),
		Description: stripe.String(b.Description),
		Metadata:    b.Metadata,
	})
	if err != nil {
		return "", fmt.Errorf("stripe: balance transaction: %w", err)
	}
	return out.ID, nil
}

// stripeMessage is a short, loggable reason for a failed Stripe call (the
// admin shows it; it never reaches a shopper).
func stripeMessage(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("Stripe %d %s: %s", se.HTTPStatusCode, se.Code, se.Msg)
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// CodeAlphabet leaves out look-alikes (0/O, 1/I/L) so codes read aloud or
// typed from a parcel card come out right.
const CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// RandomChars returns n characters of CodeAlphabet from crypto/rand, each
// equally likely.
func RandomChars(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	// 248 is the largest multiple of 31 under 256: bytes above it are
	// dropped, so no character is likelier than another.
	limit := byte(256 - 256%len(CodeAlphabet))
	for len(out) < n {
		rand.Read(buf) //nolint:errcheck // never fails
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, CodeAlphabet[int(b)%len(CodeAlphabet)])
			}
		}
	}
	return string(out)
}

// RandomCode returns prefix and 8 random characters: a customer-facing
// promotion code such as THANKS7K3QX9MW. Stripe takes only letters and
// digits in a code, so there is no dash.
func RandomCode(prefix string) string { return prefix + RandomChars(8) }

// idemKey is the Idempotency-Key of one Stripe step of one record of ours:
// "reward:42:promotion_code". Stripe refuses a key reused with other
// parameters, so each step of a record has its own.
func idemKey(record string, id int64, step string) string {
	return record + ":" + strconv.FormatInt(id, 10) + ":" + step
}
