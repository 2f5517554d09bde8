package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/integrations"
)

// ShipmentStatus maps a Shopify fulfillment event status or shipment_status
// (snake_case in webhooks, UPPER_CASE in GraphQL) to ours. It reports false
// for a status it does not know; such an event is left out, not guessed:
// recording it as in transit could move a delivered parcel back.
//
//	label_printed, label_purchased, confirmed  -> label_created
//	carrier_picked_up, in_transit              -> in_transit
//	out_for_delivery                           -> out_for_delivery
//	attempted_delivery                         -> attempted_delivery
//	ready_for_pickup, ready_for_recipient_pickup -> available_for_pickup
//	delivered, picked_up (by the shopper)      -> delivered
//	failure, delayed, buyer_action_required    -> exception
//	returning_to_sender                        -> returned_to_sender
func ShipmentStatus(s string) (commerce.ShipmentStatus, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "label_printed", "label_purchased", "confirmed":
		return commerce.LabelCreated, true
	case "carrier_picked_up", "in_transit":
		return commerce.InTransit, true
	case "out_for_delivery":
		return commerce.OutForDelivery, true
	case "attempted_delivery":
		return commerce.AttemptedDelivery, true
	case "ready_for_pickup", "ready_for_recipient_pickup":
		return commerce.AvailableForPickup, true
	case "delivered", "picked_up":
		return commerce.Delivered, true
	case "failure", "delayed", "buyer_action_required":
		return commerce.Exception, true
	case "returning_to_sender":
		return commerce.ReturnedToSender, true
	}
	return "", false
}

// fulfillmentEvent is a Shopify fulfillment event (a carrier scan).
type fulfillmentEvent struct {
	ID                  id     `json:"id"`
	FulfillmentID       id     `json:"fulfillment_id"`
	OrderID             id     `json:"order_id"`
	Status              string `json:"status"`
	Message             string `json:"message"`
	HappenedAt          string `json:"happened_at"`
	CreatedAt           string `json:"created_at"`
	City                string `json:"city"`
	Province            string `json:"province"`
	Country             string `json:"country"`
	EstimatedDeliveryAt string `json:"estimated_delivery_at"`
}

func decodeFulfillmentEvent(body []byte) (fulfillmentEvent, error) {
	var e fulfillmentEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return e, integrations.Permanent(fmt.Errorf("shopify: fulfillment event body: %w", err))
	}
	if e.ID == "" || e.FulfillmentID == "" {
		return e, integrations.Permanent(fmt.Errorf("shopify: fulfillment event without id or fulfillment_id"))
	}
	return e, nil
}

// applyFulfillmentEvent adds a scan to the shipment its fulfillment became.
func (p *Provider) applyFulfillmentEvent(ctx context.Context, body []byte) (string, error) {
	e, err := decodeFulfillmentEvent(body)
	if err != nil {
		return "", err
	}
	status, ok := ShipmentStatus(e.Status)
	if !ok {
		p.d.Log.Warn("shopify fulfillment event status not mapped", "status", e.Status, "event", e.ID)
		return integrations.Ignored("status %q is not one Aftercare knows", e.Status), nil
	}
	shipmentID, err := p.shipmentOf(ctx, e)
	if err != nil {
		return "", err
	}
	_, sh, out, err := p.d.Commerce.AddTrackingEvent(ctx, shipmentID, commerce.TrackingEventInput{
		Status: string(status), Detail: integrations.Text(e.Message, 1000), Location: integrations.Text(integrations.Place(e.City, e.Province, e.Country), 200),
		OccurredAt: firstOf(e.HappenedAt, e.CreatedAt), ProviderEventID: "shopify-event:" + string(e.ID),
		EstimatedDelivery: integrations.Day(e.EstimatedDeliveryAt),
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("shipment %d: %s event %s, now %s", sh.ID, status, out, sh.Status), nil
}

// shipmentOf finds the shipment of the event's fulfillment: the one its
// fulfillment webhook created, else the order's only shipment. Neither is a
// fault.NotFound error, retried: the fulfillment may still be on its way.
func (p *Provider) shipmentOf(ctx context.Context, e fulfillmentEvent) (int64, error) {
	id, ok, err := p.d.Resources.Linked(ctx, Name, "fulfillment", string(e.FulfillmentID))
	if err != nil || ok {
		return id, err
	}
	if e.OrderID != "" {
		o, err := p.d.Commerce.OrderByExternal(ctx, Name, string(e.OrderID))
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return 0, err
		}
		if err == nil && len(o.Shipments) == 1 {
			return o.Shipments[0].ID, nil
		}
	}
	return 0, fault.Errorf(fault.NotFound, "No shipment is recorded for Shopify fulfillment %s (yet).", e.FulfillmentID)
}
