package stripehook

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Lookup fetches from Stripe what a webhook event does not carry: events
// are never expanded, so a session names its promotion codes by id only,
// and says nothing of the card that paid.
type Lookup interface {
	// PromotionCode returns the customer-facing code of a promotion code id.
	PromotionCode(ctx context.Context, id string) (string, error)
	// CardFingerprint returns the fingerprint of the card that paid a
	// PaymentIntent, "" when it was not paid by card.
	CardFingerprint(ctx context.Context, paymentIntentID string) (string, error)
}

// NewLookup returns a Lookup over Stripe's API, or nil when api is nil
// (Stripe not configured).
func NewLookup(api *client.API) Lookup {
	if api == nil {
		return nil
	}
	return apiLookup{api: api}
}

type apiLookup struct{ api *client.API }

func (l apiLookup) PromotionCode(ctx context.Context, id string) (string, error) {
	params := &stripe.PromotionCodeParams{}
	params.Context = ctx
	pc, err := l.api.PromotionCodes.Get(id, params)
	if err != nil {
		return "", fmt.Errorf("stripe: get promotion code %s: %w", id, err)
	}
	return pc.Code, nil
}

func (l apiLookup) CardFingerprint(ctx context.Context, paymentIntentID string) (string, error) {
	params := &stripe.PaymentIntentParams{}
	params.Context = ctx
	params.AddExpand("latest_charge")
	pi, err := l.api.PaymentIntents.Get(paymentIntentID, params)
	if err != nil {
		return "", fmt.Errorf("stripe: get payment intent %s: %w", paymentIntentID, err)
	}
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		return ch.PaymentMethodDetails.Card.Fingerprint, nil
	}
	return "", nil
}
