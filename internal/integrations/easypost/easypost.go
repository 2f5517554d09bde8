// Package easypost receives EasyPost tracker events (tracker.created,
// tracker.updated): each carries the whole tracker, with its history of
// scans, which becomes the tracking timeline of the shipment with the same
// carrier and tracking number.
package easypost

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// Name is the provider's name in URLs and settings.
const Name = "easypost"

// Provider is the EasyPost integration.
type Provider struct {
	d integrations.Deps
}

// New returns the EasyPost integration applying events through d.
func New(d integrations.Deps) *Provider { return &Provider{d: d} }

// Info describes the integration.
func (p *Provider) Info() integrations.ProviderInfo {
	return integrations.ProviderInfo{
		Name: Name, Title: "EasyPost",
		Headers: []string{"X-Hmac-Signature", "User-Agent"},
		Topics:  []string{"tracker.created", "tracker.updated"},
		SecretHelp: "EasyPost signs webhooks with the secret you give the webhook when you create it (Dashboard → Webhooks, " +
			"or the API's webhook_secret). Generate one here and use it there, or paste yours.",
		ChosenHere: true,
	}
}

const sigPrefix = "hmac-sha256-hex="

// Verify checks X-Hmac-Signature: "hmac-sha256-hex=" and the hex
// HMAC-SHA256 of the raw body, keyed with the NFKD-normalized secret (as
// EasyPost's client libraries do).
func (p *Provider) Verify(d integrations.Delivery, secret string, _ time.Time) error {
	h := strings.TrimSpace(d.Header.Get("X-Hmac-Signature"))
	if !strings.HasPrefix(h, sigPrefix) {
		return integrations.ErrSignature
	}
	got, err := hex.DecodeString(strings.TrimPrefix(h, sigPrefix))
	if err != nil || len(got) != sha256.Size {
		return integrations.ErrSignature
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(d.Body, secret), sigPrefix))
	if !hmac.Equal(want, got) {
		return integrations.ErrSignature
	}
	return nil
}

// Sign returns the X-Hmac-Signature EasyPost sends with body when the
// webhook's secret is secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(norm.NFKD.String(secret)))
	mac.Write(body)
	return sigPrefix + hex.EncodeToString(mac.Sum(nil))
}

// event is an EasyPost Event whose result is a Tracker.
type event struct {
	ID          string  `json:"id"`
	Description string  `json:"description"`
	Result      tracker `json:"result"`
}

type tracker struct {
	ID              string `json:"id"`
	Object          string `json:"object"`
	TrackingCode    string `json:"tracking_code"`
	Carrier         string `json:"carrier"`
	Status          string `json:"status"`
	UpdatedAt       string `json:"updated_at"`
	EstDeliveryDate string `json:"est_delivery_date"`
	TrackingDetails []struct {
		Message          string `json:"message"`
		Status           string `json:"status"`
		StatusDetail     string `json:"status_detail"`
		Datetime         string `json:"datetime"`
		TrackingLocation *struct {
			City    string `json:"city"`
			State   string `json:"state"`
			Country string `json:"country"`
		} `json:"tracking_location"`
	} `json:"tracking_details"`
}

// Identify names a delivery by the event's id and description.
func (p *Provider) Identify(d integrations.Delivery) (integrations.Identity, error) {
	var head struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	}
	b := bytes.TrimSpace(d.Body)
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &head) != nil || head.ID == "" {
		return integrations.Identity{}, integrations.Malformed("the body is not an EasyPost event with an id")
	}
	return integrations.Identity{EventID: head.ID, Topic: head.Description}, nil
}

// Apply adds a tracker's scans to its shipment.
func (p *Provider) Apply(ctx context.Context, ev integrations.Event) (string, error) {
	if ev.Topic != "tracker.updated" && ev.Topic != "tracker.created" {
		return integrations.Ignored("topic %s is not used", ev.Topic), nil
	}
	var e event
	if err := json.Unmarshal(ev.Body, &e); err != nil {
		return "", integrations.Permanent(fmt.Errorf("easypost: event body: %w", err))
	}
	return p.d.ApplyTracking(ctx, update(e.Result))
}

// update turns a tracker into our events: one per scan in its history (or,
// with none yet, one for its current status).
func update(t tracker) integrations.TrackingUpdate {
	u := integrations.TrackingUpdate{Carrier: t.Carrier, TrackingNumber: t.TrackingCode}
	eta := integrations.Day(t.EstDeliveryDate)
	for _, d := range t.TrackingDetails {
		status, ok := ShipmentStatus(d.Status)
		at, err := integrations.ParseTime(d.Datetime)
		if !ok || err != nil {
			if ok {
				d.Status += " without a readable time"
			}
			u.Unmapped = append(u.Unmapped, d.Status)
			continue
		}
		var loc string
		if l := d.TrackingLocation; l != nil {
			loc = integrations.Place(l.City, l.State, l.Country)
		}
		u.Events = append(u.Events, commerce.TrackingEventInput{
			Status: string(status), Detail: integrations.Text(d.Message, 1000), Location: integrations.Text(loc, 200),
			OccurredAt: at, EstimatedDelivery: eta,
			ProviderEventID: eventID(t.ID, d.Datetime, d.Status, d.StatusDetail, d.Message, loc),
		})
	}
	if len(t.TrackingDetails) == 0 && t.Status != "" {
		status, ok := ShipmentStatus(t.Status)
		if at, err := integrations.ParseTime(t.UpdatedAt); ok && err == nil {
			u.Events = append(u.Events, commerce.TrackingEventInput{Status: string(status), OccurredAt: at,
				EstimatedDelivery: eta, ProviderEventID: eventID(t.ID, t.UpdatedAt, t.Status)})
		} else {
			u.Unmapped = append(u.Unmapped, t.Status)
		}
	}
	return u
}

// eventID names a scan: EasyPost gives scans no id, but a tracker resends
// its whole history, so the same scan must get the same name each time.
func eventID(tracker string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "easypost:" + integrations.Text(tracker, 60) + ":" + hex.EncodeToString(sum[:12])
}

// ShipmentStatus maps an EasyPost tracker status to ours. It reports false
// for "unknown" and anything else it does not know: such scans are left
// out (and logged), not guessed, since recording one as in transit could
// move a delivered parcel back.
//
//	pre_transit          -> label_created
//	in_transit           -> in_transit
//	out_for_delivery     -> out_for_delivery
//	available_for_pickup -> available_for_pickup
//	delivered            -> delivered
//	return_to_sender     -> returned_to_sender
//	failure, error, cancelled -> exception
func ShipmentStatus(s string) (commerce.ShipmentStatus, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pre_transit":
		return commerce.LabelCreated, true
	case "in_transit":
		return commerce.InTransit, true
	case "out_for_delivery":
		return commerce.OutForDelivery, true
	case "available_for_pickup":
		return commerce.AvailableForPickup, true
	case "delivered":
		return commerce.Delivered, true
	case "return_to_sender":
		return commerce.ReturnedToSender, true
	case "failure", "error", "cancelled":
		return commerce.Exception, true
	}
	return "", false
}
