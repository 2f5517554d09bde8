// Package aftership receives AfterShip Tracking webhooks (tracking_update):
// the tracking with its checkpoints becomes the timeline of the shipment
// with the same carrier (AfterShip's slug) and tracking number.
package aftership

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// Name is the provider's name in URLs and settings.
const Name = "aftership"

// Provider is the AfterShip integration.
type Provider struct {
	d integrations.Deps
}

// New returns the AfterShip integration applying events through d.
func New(d integrations.Deps) *Provider { return &Provider{d: d} }

// Info describes the integration.
func (p *Provider) Info() integrations.ProviderInfo {
	return integrations.ProviderInfo{
		Name: Name, Title: "AfterShip",
		Headers: []string{"As-Webhook-Version", "User-Agent"},
		Topics:  []string{"tracking_update"},
		SecretHelp: "AfterShip shows the webhook secret in Tracking → Settings → Webhooks, next to the webhook URL. " +
			"Paste it here.",
	}
}

// Verify checks aftership-hmac-sha256: the base64 HMAC-SHA256 of the raw
// body with the webhook secret.
func (p *Provider) Verify(d integrations.Delivery, secret string, _ time.Time) error {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.Header.Get("Aftership-Hmac-Sha256")))
	if err != nil || len(got) != sha256.Size {
		return integrations.ErrSignature
	}
	want, _ := base64.StdEncoding.DecodeString(Sign(d.Body, secret))
	if !hmac.Equal(want, got) {
		return integrations.ErrSignature
	}
	return nil
}

// Sign returns the aftership-hmac-sha256 AfterShip sends with body when the
// webhook secret is secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhook is an AfterShip Tracking webhook body.
type webhook struct {
	EventID string          `json:"event_id"`
	Event   string          `json:"event"`
	TS      integrations.ID `json:"ts"`
	Msg     *tracking       `json:"msg"`
}

type tracking struct {
	ID               string `json:"id"`
	TrackingNumber   string `json:"tracking_number"`
	Slug             string `json:"slug"`
	Tag              string `json:"tag"`
	Subtag           string `json:"subtag"`
	UpdatedAt        string `json:"updated_at"`
	ExpectedDelivery string `json:"expected_delivery"`
	// Newer versions give estimates as objects.
	CourierEstimate *struct {
		EstimatedDeliveryDate string `json:"estimated_delivery_date"`
	} `json:"courier_estimated_delivery_date"`
	AfterShipEstimate *struct {
		EstimatedDeliveryDate string `json:"estimated_delivery_date"`
	} `json:"aftership_estimated_delivery_date"`
	Checkpoints []struct {
		CheckpointTime string `json:"checkpoint_time"`
		Tag            string `json:"tag"`
		Subtag         string `json:"subtag"`
		Message        string `json:"message"`
		Location       string `json:"location"`
		City           string `json:"city"`
		State          string `json:"state"`
		CountryISO3    string `json:"country_iso3"`
		CountryRegion  string `json:"country_region"`
	} `json:"checkpoints"`
}

// Identify names a delivery by its event_id (the idempotency key AfterShip
// documents) and its event code; deliveries of older versions without one
// are named by the tracking id and timestamp.
func (p *Provider) Identify(d integrations.Delivery) (integrations.Identity, error) {
	var w webhook
	b := bytes.TrimSpace(d.Body)
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &w) != nil || w.Event == "" {
		return integrations.Identity{}, integrations.Malformed("the body is not an AfterShip webhook with an event")
	}
	id := integrations.Identity{EventID: w.EventID, Topic: w.Event}
	if id.EventID == "" && w.Msg != nil && w.Msg.ID != "" && w.TS != "" {
		id.EventID = "msg:" + w.Msg.ID + ":" + string(w.TS)
	}
	if id.EventID == "" {
		return id, integrations.Malformed("the webhook has no event_id")
	}
	return id, nil
}

// Apply adds the checkpoints of a tracking update to its shipment.
func (p *Provider) Apply(ctx context.Context, ev integrations.Event) (string, error) {
	if ev.Topic != "tracking_update" {
		return integrations.Ignored("event %s is not used", ev.Topic), nil
	}
	var w webhook
	if err := json.Unmarshal(ev.Body, &w); err != nil {
		return "", integrations.Permanent(fmt.Errorf("aftership: webhook body: %w", err))
	}
	if w.Msg == nil {
		return "", integrations.Permanent(fmt.Errorf("aftership: tracking_update without msg"))
	}
	return p.d.ApplyTracking(ctx, update(*w.Msg))
}

// update turns a tracking into our events: one per checkpoint (or, with
// none yet, one for its current tag). Checkpoint times without a zone are
// taken as UTC.
func update(t tracking) integrations.TrackingUpdate {
	u := integrations.TrackingUpdate{Carrier: t.Slug, TrackingNumber: t.TrackingNumber}
	eta := integrations.Day(t.ExpectedDelivery)
	for _, e := range []*struct {
		EstimatedDeliveryDate string `json:"estimated_delivery_date"`
	}{t.CourierEstimate, t.AfterShipEstimate} {
		if eta == "" && e != nil {
			eta = integrations.Day(e.EstimatedDeliveryDate)
		}
	}
	for _, c := range t.Checkpoints {
		status, ok := ShipmentStatus(c.Tag, c.Subtag)
		at, err := integrations.ParseTime(c.CheckpointTime)
		if !ok || err != nil {
			if ok {
				c.Tag += " without a readable time"
			}
			u.Unmapped = append(u.Unmapped, c.Tag)
			continue
		}
		loc := c.Location
		if loc == "" {
			loc = integrations.Place(c.City, c.State, firstOf(c.CountryRegion, c.CountryISO3))
		}
		sum := sha256.Sum256([]byte(strings.Join([]string{c.CheckpointTime, c.Tag, c.Subtag, c.Message, loc}, "\x00")))
		u.Events = append(u.Events, commerce.TrackingEventInput{
			Status: string(status), Detail: integrations.Text(c.Message, 1000), Location: integrations.Text(loc, 200),
			OccurredAt: at, EstimatedDelivery: eta,
			ProviderEventID: "aftership:" + integrations.Text(t.ID, 60) + ":" + hex.EncodeToString(sum[:12]),
		})
	}
	if len(t.Checkpoints) == 0 && t.Tag != "" {
		status, ok := ShipmentStatus(t.Tag, t.Subtag)
		if at, err := integrations.ParseTime(t.UpdatedAt); ok && err == nil {
			u.Events = append(u.Events, commerce.TrackingEventInput{Status: string(status), OccurredAt: at, EstimatedDelivery: eta,
				ProviderEventID: "aftership:" + integrations.Text(t.ID, 60) + ":tag:" + t.Tag + ":" + t.UpdatedAt})
		} else {
			u.Unmapped = append(u.Unmapped, t.Tag)
		}
	}
	return u
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// ShipmentStatus maps an AfterShip tag (and subtag) to our status. It
// reports false for a tag it does not know; such checkpoints are left out
// (and logged), not guessed.
//
//	Pending, InfoReceived -> label_created
//	InTransit             -> in_transit
//	OutForDelivery        -> out_for_delivery
//	AttemptFail           -> attempted_delivery
//	AvailableForPickup    -> available_for_pickup
//	Delivered             -> delivered
//	Exception_010 (returning to sender), Exception_011 (returned) -> returned_to_sender
//	Exception (any other subtag), Expired -> exception
func ShipmentStatus(tag, subtag string) (commerce.ShipmentStatus, bool) {
	switch strings.TrimSpace(tag) {
	case "Pending", "InfoReceived":
		return commerce.LabelCreated, true
	case "InTransit":
		return commerce.InTransit, true
	case "OutForDelivery":
		return commerce.OutForDelivery, true
	case "AttemptFail":
		return commerce.AttemptedDelivery, true
	case "AvailableForPickup":
		return commerce.AvailableForPickup, true
	case "Delivered":
		return commerce.Delivered, true
	case "Exception":
		if s := strings.TrimSpace(subtag); s == "Exception_010" || s == "Exception_011" {
			return commerce.ReturnedToSender, true
		}
		return commerce.Exception, true
	case "Expired":
		return commerce.Exception, true
	}
	return "", false
}
