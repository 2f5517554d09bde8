package journey

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/events"
)

// The step kinds of this package; each is also the kind of its email.
const (
	KindReplenish = "replenish_reminder"
	KindRecommend = "recommendations"
	KindWinback   = "winback_offer"
)

// Subscribe registers the journey's reactions: a delivered parcel
// schedules replenishment reminders and recommendations, a new order a
// win-back offer. History being loaded (Historic events) schedules nothing.
func (e *Engine) Subscribe(bus Subscriber) {
	bus.Subscribe(events.ShipmentStatusChanged, "journey.delivered", e.onDelivered)
	bus.Subscribe(events.OrderCreated, "journey.ordered", e.onOrdered)
}

// Delivered is a delivered parcel as journey reactions see it.
type Delivered struct {
	CustomerID  int64
	OrderID     int64
	ShipmentID  int64
	DeliveredAt time.Time
}

// DeliveredParcel reads what a shipment.status_changed event to "delivered"
// is about; ok is false for any other event, and for history being loaded.
func DeliveredParcel(ctx context.Context, q sqlx.QueryerContext, ev events.Event) (d Delivered, ok bool, err error) {
	if ev.Status != "delivered" || ev.Historic || ev.ShipmentID == 0 {
		return d, false, nil
	}
	var row struct {
		CustomerID  int64      `db:"customer_id"`
		OrderID     int64      `db:"order_id"`
		DeliveredAt *time.Time `db:"delivered_at"`
	}
	err = sqlx.GetContext(ctx, q, &row, `SELECT o.customer_id, o.id AS order_id, s.delivered_at
		FROM shipments s JOIN orders o ON o.id = s.order_id WHERE s.id = $1`, ev.ShipmentID)
	if err != nil {
		return d, false, fmt.Errorf("journey: delivered shipment %d: %w", ev.ShipmentID, err)
	}
	at := ev.At
	if at.IsZero() && row.DeliveredAt != nil {
		at = *row.DeliveredAt
	}
	return Delivered{CustomerID: row.CustomerID, OrderID: row.OrderID, ShipmentID: ev.ShipmentID, DeliveredAt: at}, true, nil
}

func (e *Engine) onDelivered(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	d, ok, err := DeliveredParcel(ctx, tx, ev)
	if err != nil || !ok {
		return err
	}
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return err
	}
	var items []struct {
		ItemID int64 `db:"order_item_id"`
		Days   int   `db:"replenish_days"`
	}
	err = tx.SelectContext(ctx, &items, `SELECT i.id AS order_item_id, p.replenish_days
		FROM shipment_items si JOIN order_items i ON i.id = si.order_item_id JOIN products p ON p.id = i.product_id
		WHERE si.shipment_id = $1 AND p.replenish_days IS NOT NULL ORDER BY i.line_no`, d.ShipmentID)
	if err != nil {
		return fmt.Errorf("journey: replenishable items of shipment %d: %w", d.ShipmentID, err)
	}
	if set.ReplenishEnabled {
		for _, it := range items {
			_, err := e.Schedule(ctx, tx, Step{Kind: KindReplenish, Key: KindReplenish + ":" + strconv.FormatInt(it.ItemID, 10),
				CustomerID: d.CustomerID, OrderID: d.OrderID, ShipmentID: d.ShipmentID, OrderItemID: it.ItemID,
				DueAt: d.DeliveredAt.AddDate(0, 0, it.Days)})
			if err != nil {
				return err
			}
		}
	}
	if set.RecommendEnabled {
		_, err := e.Schedule(ctx, tx, Step{Kind: KindRecommend, Key: KindRecommend + ":" + strconv.FormatInt(d.OrderID, 10),
			CustomerID: d.CustomerID, OrderID: d.OrderID, ShipmentID: d.ShipmentID,
			DueAt: d.DeliveredAt.AddDate(0, 0, set.RecommendAfterDays)})
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) onOrdered(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	if ev.Historic || ev.OrderID == 0 {
		return nil
	}
	set, err := LoadSettings(ctx, tx)
	if err != nil || !set.WinbackEnabled {
		return err
	}
	var o struct {
		CustomerID int64     `db:"customer_id"`
		PlacedAt   time.Time `db:"placed_at"`
	}
	if err := tx.GetContext(ctx, &o, `SELECT customer_id, placed_at FROM orders WHERE id = $1`, ev.OrderID); err != nil {
		return fmt.Errorf("journey: order %d: %w", ev.OrderID, err)
	}
	_, err = e.Schedule(ctx, tx, Step{Kind: KindWinback, Key: KindWinback + ":" + strconv.FormatInt(ev.OrderID, 10),
		CustomerID: o.CustomerID, OrderID: ev.OrderID, DueAt: o.PlacedAt.AddDate(0, 0, set.WinbackAfterDays)})
	return err
}
