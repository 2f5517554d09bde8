package commerce

import (
	"context"
	"strings"
)

// Look-ups by the keys other systems know a record by, for integrations
// (webhooks name an order by its id in the shop, a parcel by its tracking
// number) and for features that start from a shopper's email.

// OrderByExternal returns the order that source knows as externalID, with
// its customer, items, shipments and refunds, like Order; fault.NotFound if
// there is none.
func (s *Service) OrderByExternal(ctx context.Context, source, externalID string) (Order, error) {
	o, err := orderByExternal(ctx, s.db, strings.TrimSpace(source), strings.TrimSpace(externalID))
	if err != nil {
		return o, err
	}
	return o, s.fillOrder(ctx, s.db, &o, true)
}

// ShipmentByTracking returns the parcel with this carrier and tracking
// number, spelled any way AddShipment accepts (carrier in any case, the
// number with spaces or lower case), with its items and timeline;
// fault.NotFound if there is none.
func (s *Service) ShipmentByTracking(ctx context.Context, carrier, trackingNumber string) (Shipment, error) {
	c, n := normalizeTracking(carrier, trackingNumber)
	sh, found, err := shipmentByTracking(ctx, s.db, c, n)
	if err != nil {
		return sh, err
	}
	if !found {
		return sh, errNoShipment(c, n)
	}
	return sh, fillShipment(ctx, s.db, &sh, true)
}

// CustomerByEmail returns the customer with this email, in any case and
// with surrounding spaces; fault.NotFound if there is none.
func (s *Service) CustomerByEmail(ctx context.Context, email string) (Customer, error) {
	return customerByEmail(ctx, s.db, strings.ToLower(strings.TrimSpace(email)))
}
