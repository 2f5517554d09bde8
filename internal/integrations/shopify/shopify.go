// Package shopify receives a Shopify store's webhooks: orders, their
// cancellations and refunds, fulfillments with their tracking events, and
// checkouts for the abandoned-checkout reminder. A webhook body is the bare
// resource (not wrapped in {"order": …}); money comes as decimal strings,
// ids can exceed 2^53 and many fields are null.
package shopify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/integrations"
)

// Name is the provider's name in URLs and settings.
const Name = "shopify"

// Provider is the Shopify integration.
type Provider struct {
	d integrations.Deps
}

// New returns the Shopify integration applying events through d.
func New(d integrations.Deps) *Provider { return &Provider{d: d} }

// Info describes the integration.
func (p *Provider) Info() integrations.ProviderInfo {
	return integrations.ProviderInfo{
		Name:  Name,
		Title: "Shopify",
		Headers: []string{"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-API-Version", "X-Shopify-Webhook-Id",
			"X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-Name"},
		Topics: []string{"orders/create", "orders/updated", "orders/cancelled", "fulfillments/create", "fulfillments/update",
			"fulfillment_events/create", "refunds/create", "checkouts/update"},
		SecretHelp: "Shopify signs webhooks with your app's API secret key (client secret); for webhooks made in the store's " +
			"notification settings, with the key shown under the webhook list. Paste it here.",
	}
}

// Verify checks X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the raw
// body with the secret.
func (p *Provider) Verify(d integrations.Delivery, secret string, _ time.Time) error {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.Header.Get("X-Shopify-Hmac-Sha256")))
	if err != nil || len(got) != sha256.Size {
		return integrations.ErrSignature
	}
	want, _ := base64.StdEncoding.DecodeString(Sign(d.Body, secret))
	if !hmac.Equal(want, got) {
		return integrations.ErrSignature
	}
	return nil
}

// Identify names a delivery by X-Shopify-Webhook-Id (the same on every
// retry of one delivery) and X-Shopify-Topic. The body must be a JSON
// object.
func (p *Provider) Identify(d integrations.Delivery) (integrations.Identity, error) {
	if err := object(d.Body); err != nil {
		return integrations.Identity{}, err
	}
	id := integrations.Identity{
		EventID: strings.TrimSpace(d.Header.Get("X-Shopify-Webhook-Id")),
		Topic:   strings.TrimSpace(d.Header.Get("X-Shopify-Topic")),
	}
	if id.Topic == "" {
		return id, integrations.Malformed("the X-Shopify-Topic header is missing")
	}
	if id.EventID == "" {
		return id, integrations.Malformed("the X-Shopify-Webhook-Id header is missing")
	}
	return id, nil
}

// object checks that body is one JSON object.
func object(body []byte) error {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return integrations.Malformed("the body is not a JSON object")
	}
	return nil
}

// Apply processes one stored delivery by its topic; topics it does not
// handle are ignored (Shopify disables a webhook that keeps failing).
func (p *Provider) Apply(ctx context.Context, ev integrations.Event) (string, error) {
	switch ev.Topic {
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled":
		return p.applyOrder(ctx, ev.Body)
	case "fulfillments/create", "fulfillments/update":
		return p.applyFulfillment(ctx, ev.Body)
	case "fulfillment_events/create":
		return p.applyFulfillmentEvent(ctx, ev.Body)
	case "refunds/create":
		return p.applyRefund(ctx, ev.Body)
	case "checkouts/create", "checkouts/update":
		return p.applyCheckout(ctx, ev.Body)
	}
	return integrations.Ignored("topic %s is not used", ev.Topic), nil
}

// Sign returns the X-Shopify-Hmac-Sha256 value Shopify sends with body
// when the secret is secret (for tests and tools that replay deliveries).
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
