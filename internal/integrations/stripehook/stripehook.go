// Package stripehook receives Stripe webhooks for a store that sells
// through Stripe Checkout: completed sessions become orders (their
// promotion codes feed referral attribution), expired ones abandoned
// checkouts, and refunds and disputes of a charge become refunds of its
// order. Events of any API version are read defensively: fields that moved
// or can be expanded are looked for in each of their shapes.
package stripehook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/integrations"
)

// Name is the provider's name in URLs and settings.
const Name = "stripe"

// Tolerance is how far a signature's timestamp may be from now: older
// deliveries are refused as replays.
const Tolerance = 300 * time.Second

// Provider is the Stripe integration.
type Provider struct {
	d      integrations.Deps
	lookup Lookup
}

// New returns the Stripe integration applying events through d. lookup
// fetches what events do not carry (promotion codes by id, card
// fingerprints); nil when Stripe's API is not configured, and then events
// are recorded with what they hold.
func New(d integrations.Deps, lookup Lookup) *Provider { return &Provider{d: d, lookup: lookup} }

// Info describes the integration.
func (p *Provider) Info() integrations.ProviderInfo {
	return integrations.ProviderInfo{
		Name: Name, Title: "Stripe",
		Headers: []string{"Stripe-Signature", "User-Agent"},
		Topics: []string{"checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired",
			"charge.refunded", "charge.dispute.created"},
		SecretHelp: "In Stripe's Dashboard, Developers → Webhooks, add an endpoint with the address below; Stripe then shows " +
			"its signing secret (whsec_…). Paste it here.",
	}
}

// Verify checks Stripe-Signature (t=<unix>,v1=<hex>[,v1=…]): some v1 must
// be the hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret, and
// t within Tolerance of now.
func (p *Provider) Verify(d integrations.Delivery, secret string, now time.Time) error {
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(d.Header.Get("Stripe-Signature"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				ts = n
			}
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return integrations.ErrSignature
	}
	if age := now.Sub(time.Unix(ts, 0)); age > Tolerance || age < -Tolerance {
		return integrations.ErrSignature
	}
	want := mac(d.Body, secret, ts)
	ok := false
	for _, s := range sigs {
		// Every candidate is compared, so the time taken says nothing.
		ok = hmac.Equal(want, s) || ok
	}
	if !ok {
		return integrations.ErrSignature
	}
	return nil
}

func mac(body []byte, secret string, ts int64) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the Stripe-Signature Stripe sends with body at t when the
// endpoint secret is secret.
func Sign(body []byte, secret string, t time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac(body, secret, t.Unix())))
}

// event is a Stripe event; data.object is decoded by its type.
type event struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Object     string `json:"object"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Data       struct {
		Object             json.RawMessage `json:"object"`
		PreviousAttributes json.RawMessage `json:"previous_attributes"`
	} `json:"data"`
}

// Identify names a delivery by the event's id and type.
func (p *Provider) Identify(d integrations.Delivery) (integrations.Identity, error) {
	var e event
	b := bytes.TrimSpace(d.Body)
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil || e.ID == "" || e.Type == "" {
		return integrations.Identity{}, integrations.Malformed("the body is not a Stripe event with an id and a type")
	}
	if e.Object != "" && e.Object != "event" {
		return integrations.Identity{}, integrations.Malformed("the body is a Stripe %s, not an event", integrations.Text(e.Object, 40))
	}
	return integrations.Identity{EventID: e.ID, Topic: e.Type}, nil
}

// Apply processes one stored event by its type.
func (p *Provider) Apply(ctx context.Context, ev integrations.Event) (string, error) {
	var e event
	if err := json.Unmarshal(ev.Body, &e); err != nil {
		return "", integrations.Permanent(fmt.Errorf("stripe: event body: %w", err))
	}
	switch e.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		return p.applyCompleted(ctx, e)
	case "checkout.session.expired":
		return p.applyExpired(ctx, e)
	case "charge.refunded":
		return p.applyRefunded(ctx, e)
	case "charge.dispute.created":
		return p.applyDispute(ctx, e)
	}
	return integrations.Ignored("event type %s is not used", e.Type), nil
}
