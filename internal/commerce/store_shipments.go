package commerce

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/fault"
)

const shipmentColumns = `id, order_id, carrier, tracking_number, tracking_url, status,
	to_char(estimated_delivery, 'YYYY-MM-DD') AS estimated_delivery,
	shipped_at, delivered_at, last_event_at, created_at, updated_at`

// shipmentByID returns a shipment, locked until the transaction ends when
// lock is set (so tracking events on one parcel apply one at a time);
// fault.NotFound if there is none.
func shipmentByID(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (Shipment, error) {
	var s Shipment
	query := `SELECT ` + shipmentColumns + ` FROM shipments WHERE id = $1`
	if lock {
		query += ` FOR NO KEY UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &s, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fault.Errorf(fault.NotFound, "There is no shipment %d.", id)
	}
	if err != nil {
		return s, fmt.Errorf("commerce: shipment %d: %w", id, err)
	}
	return s, nil
}

// shipmentByTracking returns the shipment of a normalized carrier and
// tracking number, and false when there is none.
func shipmentByTracking(ctx context.Context, q sqlx.QueryerContext, carrier, number string) (Shipment, bool, error) {
	var s Shipment
	err := sqlx.GetContext(ctx, q, &s, `SELECT `+shipmentColumns+` FROM shipments
		WHERE carrier = $1 AND tracking_number = $2`, carrier, number)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("commerce: shipment %s %s: %w", carrier, number, err)
	}
	return s, true, nil
}

func errNoShipment(carrier, number string) error {
	return fault.Errorf(fault.NotFound, "There is no shipment %s of %s.", number, carrier)
}

func shipmentsOfOrder(ctx context.Context, q sqlx.QueryerContext, orderID int64) ([]Shipment, error) {
	ss := []Shipment{}
	err := sqlx.SelectContext(ctx, q, &ss, `SELECT `+shipmentColumns+` FROM shipments
		WHERE order_id = $1 ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("commerce: shipments of order %d: %w", orderID, err)
	}
	return ss, nil
}

// insertShipment creates the parcel unless a concurrent request created one
// with the same tracking number first; then it returns false.
func insertShipment(ctx context.Context, q sqlx.QueryerContext, orderID int64, d shipmentData) (Shipment, bool, error) {
	var s Shipment
	err := sqlx.GetContext(ctx, q, &s, `
		INSERT INTO shipments (order_id, carrier, tracking_number, tracking_url, estimated_delivery, shipped_at)
		VALUES ($1, $2, $3, $4, $5::date, $6)
		ON CONFLICT (carrier, tracking_number) DO NOTHING
		RETURNING `+shipmentColumns,
		orderID, d.Carrier, d.TrackingNumber, d.TrackingURL, d.EstimatedDelivery, d.ShippedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("commerce: insert shipment %s %s: %w", d.Carrier, d.TrackingNumber, err)
	}
	return s, true, nil
}

// orderLine is an order item with the quantity already in shipments.
type orderLine struct {
	ID       int64  `db:"id"`
	LineNo   int    `db:"line_no"`
	SKU      string `db:"sku"`
	Quantity int    `db:"quantity"`
	Shipped  int    `db:"shipped"`
}

func orderLines(ctx context.Context, q sqlx.QueryerContext, orderID int64) ([]orderLine, error) {
	var lines []orderLine
	err := sqlx.SelectContext(ctx, q, &lines, `
		SELECT oi.id, oi.line_no, oi.sku, oi.quantity, COALESCE(sum(si.quantity), 0)::int AS shipped
		FROM order_items oi LEFT JOIN shipment_items si ON si.order_item_id = oi.id
		WHERE oi.order_id = $1 GROUP BY oi.id ORDER BY oi.line_no`, orderID)
	if err != nil {
		return nil, fmt.Errorf("commerce: lines of order %d: %w", orderID, err)
	}
	return lines, nil
}

// insertShipmentItems puts quantities (by order item id) into a shipment.
func insertShipmentItems(ctx context.Context, q sqlx.ExecerContext, shipmentID int64, qty map[int64]int) error {
	if len(qty) == 0 {
		return nil
	}
	ids, qs := make([]int64, 0, len(qty)), make([]int64, 0, len(qty))
	for id, n := range qty {
		ids, qs = append(ids, id), append(qs, int64(n))
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO shipment_items (shipment_id, order_item_id, quantity)
		SELECT $1, i.order_item_id, i.quantity FROM unnest($2::bigint[], $3::int[]) AS i (order_item_id, quantity)`,
		shipmentID, pq.Array(ids), pq.Array(qs))
	if err != nil {
		return fmt.Errorf("commerce: items of shipment %d: %w", shipmentID, err)
	}
	return nil
}

func shipmentItems(ctx context.Context, q sqlx.QueryerContext, shipmentID int64) ([]ShipmentItem, error) {
	items := []ShipmentItem{}
	err := sqlx.SelectContext(ctx, q, &items, `
		SELECT si.shipment_id, si.order_item_id, oi.line_no, oi.sku, si.quantity
		FROM shipment_items si JOIN order_items oi ON oi.id = si.order_item_id
		WHERE si.shipment_id = $1 ORDER BY oi.line_no`, shipmentID)
	if err != nil {
		return nil, fmt.Errorf("commerce: items of shipment %d: %w", shipmentID, err)
	}
	return items, nil
}

const eventColumns = `id, shipment_id, status, detail, location, occurred_at, provider_event_id, created_at`

// insertEvent stores a tracking event unless one with its provider event id
// is already on the shipment; then it returns that one and false.
func insertEvent(ctx context.Context, q sqlx.QueryerContext, e TrackingEvent) (TrackingEvent, bool, error) {
	var got TrackingEvent
	err := sqlx.GetContext(ctx, q, &got, `
		INSERT INTO tracking_events (shipment_id, status, detail, location, occurred_at, provider_event_id)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (shipment_id, provider_event_id) DO NOTHING
		RETURNING `+eventColumns,
		e.ShipmentID, e.Status, e.Detail, e.Location, e.OccurredAt, e.ProviderEventID)
	if errors.Is(err, sql.ErrNoRows) {
		err = sqlx.GetContext(ctx, q, &got, `SELECT `+eventColumns+` FROM tracking_events
			WHERE shipment_id = $1 AND provider_event_id = $2`, e.ShipmentID, e.ProviderEventID)
		if err != nil {
			return got, false, fmt.Errorf("commerce: event %q: %w", e.ProviderEventID, err)
		}
		return got, false, nil
	}
	if err != nil {
		return got, false, fmt.Errorf("commerce: insert event %q: %w", e.ProviderEventID, err)
	}
	return got, true, nil
}

// trackingEvents returns a shipment's timeline, oldest first.
func trackingEvents(ctx context.Context, q sqlx.QueryerContext, shipmentID int64) ([]TrackingEvent, error) {
	events := []TrackingEvent{}
	err := sqlx.SelectContext(ctx, q, &events, `SELECT `+eventColumns+` FROM tracking_events
		WHERE shipment_id = $1 ORDER BY occurred_at, id`, shipmentID)
	if err != nil {
		return nil, fmt.Errorf("commerce: events of shipment %d: %w", shipmentID, err)
	}
	return events, nil
}

// saveShipmentState writes what the tracking events decided.
func saveShipmentState(ctx context.Context, q sqlx.QueryerContext, s Shipment) (Shipment, error) {
	var got Shipment
	err := sqlx.GetContext(ctx, q, &got, `
		UPDATE shipments SET status = $2, estimated_delivery = $3::date, shipped_at = $4, delivered_at = $5,
		       last_event_at = $6, updated_at = now()
		WHERE id = $1
		RETURNING `+shipmentColumns,
		s.ID, s.Status, s.EstimatedDelivery, s.ShippedAt, s.DeliveredAt, s.LastEventAt)
	if err != nil {
		return got, fmt.Errorf("commerce: save shipment %d: %w", s.ID, err)
	}
	return got, nil
}
