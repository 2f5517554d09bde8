package commerce

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

// ShipmentInput is a parcel as a store sends it (POST
// /api/v1/orders/{id}/shipments). Items name order lines by LineNo (1-based,
// as in the order's items) or by SKU; with no items the shipment carries
// everything not shipped yet. ShippedAt, when the store knows it, is when the
// parcel left; a parcel that left more than 72 hours ago gets no email.
type ShipmentInput struct {
	Carrier           string              `json:"carrier"`
	TrackingNumber    string              `json:"tracking_number"`
	TrackingURL       string              `json:"tracking_url"`
	EstimatedDelivery string              `json:"estimated_delivery"`
	ShippedAt         string              `json:"shipped_at"`
	Items             []ShipmentItemInput `json:"items"`
}

// ShipmentItemInput is a quantity of one order line in a shipment.
type ShipmentItemInput struct {
	LineNo   int    `json:"line_no"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

type shipmentData struct {
	Carrier           string
	TrackingNumber    string
	TrackingURL       string
	EstimatedDelivery *string
	ShippedAt         *time.Time
	Items             []ShipmentItemInput
}

// validate normalizes the parcel: the carrier is lower-cased and the
// tracking number upper-cased without spaces, so a retry spelled another
// way still finds the same shipment. Items are checked against the order
// later, in the transaction.
func (in ShipmentInput) validate(now time.Time) (shipmentData, error) {
	var f fault.Fields
	d := shipmentData{
		TrackingURL:       webURL(&f, "tracking_url", in.TrackingURL),
		EstimatedDelivery: day(&f, "estimated_delivery", in.EstimatedDelivery),
	}
	d.Carrier, d.TrackingNumber = normalizeTracking(
		text(&f, "carrier", in.Carrier, 50, true, false),
		text(&f, "tracking_number", in.TrackingNumber, 100, true, false))
	if t, ok := instant(&f, "shipped_at", in.ShippedAt, now, false); ok {
		d.ShippedAt = &t
	}
	if len(in.Items) > MaxOrderItems {
		f.Add("items", fmt.Sprintf("must list at most %d items", MaxOrderItems))
		return d, f.Err()
	}
	for i, it := range in.Items {
		p := fmt.Sprintf("items[%d]", i)
		it.SKU = text(&f, p+".sku", it.SKU, 100, false, false)
		switch {
		case it.LineNo == 0 && it.SKU == "":
			f.Add(p, "must name an order line by line_no or sku")
		case it.LineNo != 0 && it.SKU != "":
			f.Add(p, "must name an order line by line_no or sku, not both")
		case it.LineNo < 0:
			f.Add(p+".line_no", "must be at least 1")
		}
		if it.Quantity < 1 {
			f.Add(p+".quantity", "must be at least 1")
		}
		d.Items = append(d.Items, it)
	}
	return d, f.Err()
}

// normalizeTracking is the one spelling of a parcel's key: the carrier
// trimmed and lower-cased, the tracking number upper-cased without spaces.
func normalizeTracking(carrier, number string) (string, string) {
	return strings.ToLower(strings.TrimSpace(carrier)), strings.ToUpper(strings.Join(strings.Fields(number), ""))
}

// TrackingEventInput is one carrier scan (POST /api/v1/shipments/{id}/events).
// ProviderEventID makes a retry harmless; when absent, one is derived from
// the event's content. EstimatedDelivery, when given on the newest event,
// becomes the shipment's ETA.
type TrackingEventInput struct {
	Status            string `json:"status"`
	Detail            string `json:"detail"`
	Location          string `json:"location"`
	OccurredAt        string `json:"occurred_at"`
	ProviderEventID   string `json:"provider_event_id"`
	EstimatedDelivery string `json:"estimated_delivery"`
}

type eventData struct {
	TrackingEvent
	EstimatedDelivery *string
}

func (in TrackingEventInput) validate(now time.Time) (eventData, error) {
	var f fault.Fields
	d := eventData{TrackingEvent: TrackingEvent{
		Status:          ShipmentStatus(strings.TrimSpace(in.Status)),
		Detail:          text(&f, "detail", in.Detail, 1000, false, true),
		Location:        text(&f, "location", in.Location, 200, false, false),
		ProviderEventID: text(&f, "provider_event_id", in.ProviderEventID, 200, false, false),
	}}
	if d.Status == "" {
		f.Add("status", "is required")
	} else if !d.Status.Valid() {
		f.Add("status", "must be one of label_created, in_transit, out_for_delivery, attempted_delivery, available_for_pickup, delivered, exception, returned_to_sender")
	}
	d.OccurredAt, _ = instant(&f, "occurred_at", in.OccurredAt, now, true)
	d.EstimatedDelivery = day(&f, "estimated_delivery", in.EstimatedDelivery)
	if err := f.Err(); err != nil {
		return d, err
	}
	if d.ProviderEventID == "" {
		sum := sha256.Sum256([]byte(strings.Join([]string{
			string(d.Status), d.OccurredAt.Format(time.RFC3339Nano), d.Location, d.Detail,
		}, "\x00")))
		d.ProviderEventID = "derived:" + hex.EncodeToString(sum[:16])
	}
	return d, nil
}
