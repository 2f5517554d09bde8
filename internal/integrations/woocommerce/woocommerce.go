// Package woocommerce receives a WooCommerce store's order webhooks
// (order.created, order.updated, which also fires on refunds) and answers
// the unsigned ping WooCommerce sends when a webhook is saved. A webhook
// body is the order exactly as the REST API (v3) returns it.
package woocommerce

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/integrations"
)

// Name is the provider's name in URLs and settings.
const Name = "woocommerce"

// Provider is the WooCommerce integration.
type Provider struct {
	d integrations.Deps
}

// New returns the WooCommerce integration applying events through d.
func New(d integrations.Deps) *Provider { return &Provider{d: d} }

// Info describes the integration.
func (p *Provider) Info() integrations.ProviderInfo {
	return integrations.ProviderInfo{
		Name:  Name,
		Title: "WooCommerce",
		Headers: []string{"X-WC-Webhook-Source", "X-WC-Webhook-Topic", "X-WC-Webhook-Resource", "X-WC-Webhook-Event",
			"X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID", "User-Agent"},
		Topics: []string{"order.created", "order.updated"},
		SecretHelp: "In WooCommerce, Settings → Advanced → Webhooks, each webhook has a Secret field: generate one here " +
			"and paste it there (or paste WooCommerce's here). Use API version WP REST API Integration v3.",
		ChosenHere: true,
	}
}

// Ping reports whether d is the unsigned ping WooCommerce sends when a
// webhook is saved: a form body webhook_id=<id> and no signature.
func (p *Provider) Ping(d integrations.Delivery) bool {
	if d.Header.Get("X-WC-Webhook-Signature") != "" || len(d.Body) > 64 {
		return false
	}
	v, err := url.ParseQuery(string(d.Body))
	return err == nil && len(v) == 1 && len(v["webhook_id"]) == 1 && digits(v.Get("webhook_id"))
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Verify checks X-WC-Webhook-Signature: the base64 HMAC-SHA256 of the raw
// body, keyed with the secret after WordPress's wp_specialchars_decode.
func (p *Provider) Verify(d integrations.Delivery, secret string, _ time.Time) error {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.Header.Get("X-WC-Webhook-Signature")))
	if err != nil || len(got) != sha256.Size {
		return integrations.ErrSignature
	}
	want, _ := base64.StdEncoding.DecodeString(Sign(d.Body, secret))
	if !hmac.Equal(want, got) {
		return integrations.ErrSignature
	}
	return nil
}

// Sign returns the X-WC-Webhook-Signature WooCommerce sends with body when
// the webhook's secret is secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(specialcharsDecode(secret)))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// specialcharsDecode undoes the HTML escaping WordPress applies to a saved
// secret (wp_specialchars_decode with ENT_QUOTES), as WooCommerce does
// before signing.
var specialcharsDecode = strings.NewReplacer(
	"&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#039;", "'", "&#39;", "'", "&#x27;", "'", "&#X27;", "'", "&amp;", "&",
).Replace

// Identify names a delivery by X-WC-Webhook-Delivery-ID and its topic. A
// delivery without an id (older WooCommerce) is named by its topic,
// resource id and a hash of its body, so a resend still counts once.
func (p *Provider) Identify(d integrations.Delivery) (integrations.Identity, error) {
	b := bytes.TrimSpace(d.Body)
	var head struct {
		ID integrations.ID `json:"id"`
	}
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &head) != nil {
		return integrations.Identity{}, integrations.Malformed("the body is not a JSON object with an id")
	}
	id := integrations.Identity{
		EventID: strings.TrimSpace(d.Header.Get("X-WC-Webhook-Delivery-ID")),
		Topic:   strings.TrimSpace(d.Header.Get("X-WC-Webhook-Topic")),
	}
	if id.Topic == "" {
		return id, integrations.Malformed("the X-WC-Webhook-Topic header is missing")
	}
	if id.EventID == "" {
		sum := sha256.Sum256(b)
		id.EventID = id.Topic + ":" + string(head.ID) + ":" + hex.EncodeToString(sum[:12])
	}
	return id, nil
}

// Apply processes one stored delivery by its topic.
func (p *Provider) Apply(ctx context.Context, ev integrations.Event) (string, error) {
	switch ev.Topic {
	case "order.created", "order.updated", "order.restored":
		return p.applyOrder(ctx, ev.Body)
	}
	return integrations.Ignored("topic %s is not used", ev.Topic), nil
}
