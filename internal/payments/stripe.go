// Package payments builds the Stripe client that returns, referrals and the
// email journey share. Each write they make carries an Idempotency-Key of
// their own record's id, so a retry never charges, refunds or grants twice.
package payments

import (
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// NewClient returns a Stripe API client for secretKey. apiBase, when set,
// points it elsewhere (stripe-mock in dev and tests). It returns nil when no
// key is configured: callers then treat Stripe features as off and say so.
func NewClient(secretKey, apiBase string) *client.API {
	if secretKey == "" {
		return nil
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: 30 * time.Second},
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	return client.New(secretKey, stripe.NewBackendsWithConfig(cfg))
}
