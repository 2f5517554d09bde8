package commerce

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

// AddShipment records a parcel of an order, idempotently on (carrier,
// tracking number): a retry returns the existing shipment as Unchanged. Its
// items may not exceed what each line ordered minus what earlier shipments
// carry. A new shipment queues the shipment_shipped email unless the store
// says it left more than 72 hours ago. Errors: fault.NotFound for an unknown
// order, fault.Conflict when the tracking number belongs to another order,
// fault.Fields for bad input.
func (s *Service) AddShipment(ctx context.Context, orderID int64, in ShipmentInput) (Shipment, Outcome, error) {
	now := s.now()
	d, err := in.validate(now)
	if err != nil {
		return Shipment{}, "", err
	}
	var sh Shipment
	var out Outcome
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// The order's row lock makes concurrent shipments of one order
		// count each other's quantities.
		if _, err := orderByID(ctx, tx, orderID, true); err != nil {
			return err
		}
		existing, found, err := shipmentByTracking(ctx, tx, d.Carrier, d.TrackingNumber)
		if err != nil {
			return err
		}
		if !found {
			lines, err := orderLines(ctx, tx, orderID)
			if err != nil {
				return err
			}
			qty, err := allocate(lines, d.Items)
			if err != nil {
				return err
			}
			var inserted bool
			if sh, inserted, err = insertShipment(ctx, tx, orderID, d); err != nil {
				return err
			}
			if inserted {
				out = Created
				if err := insertShipmentItems(ctx, tx, sh.ID, qty); err != nil {
					return err
				}
				historic := d.ShippedAt != nil && now.Sub(*d.ShippedAt) > mailWindow
				if !historic {
					if err := s.queueShipmentMail(ctx, tx, sh, "shipment_shipped", fmt.Sprintf("shipment_shipped:%d", sh.ID)); err != nil {
						return err
					}
				}
				if err := s.emit(ctx, tx, events.Event{Kind: events.ShipmentCreated, OrderID: orderID, ShipmentID: sh.ID, Status: string(sh.Status), Historic: historic}); err != nil {
					return err
				}
				return fillShipment(ctx, tx, &sh, false)
			}
			// Another order took this tracking number a moment ago.
			if existing, _, err = shipmentByTracking(ctx, tx, d.Carrier, d.TrackingNumber); err != nil {
				return err
			}
		}
		if existing.OrderID != orderID {
			return fault.Errorf(fault.Conflict, "Tracking number %s of %s belongs to another order.", d.TrackingNumber, d.Carrier)
		}
		sh, out = existing, Unchanged
		return fillShipment(ctx, tx, &sh, false)
	})
	return sh, out, err
}

// allocate turns the requested items into quantities per order item id.
// With no items it takes everything not shipped yet.
func allocate(lines []orderLine, items []ShipmentItemInput) (map[int64]int, error) {
	qty := map[int64]int{}
	if len(items) == 0 {
		for _, l := range lines {
			if left := l.Quantity - l.Shipped; left > 0 {
				qty[l.ID] = left
			}
		}
		return qty, nil
	}
	byLine, bySKU := map[int]orderLine{}, map[string][]orderLine{}
	for _, l := range lines {
		byLine[l.LineNo] = l
		bySKU[l.SKU] = append(bySKU[l.SKU], l)
	}
	var f fault.Fields
	for i, it := range items {
		p := fmt.Sprintf("items[%d]", i)
		l, ok := byLine[it.LineNo]
		if it.LineNo == 0 {
			switch ls := bySKU[it.SKU]; len(ls) {
			case 0:
				f.Add(p+".sku", "is not on this order")
			case 1:
				l, ok = ls[0], true
			default:
				f.Add(p+".sku", "is on several lines of this order; name the line by line_no")
			}
		} else if !ok {
			f.Add(p+".line_no", "is not a line of this order")
		}
		if !ok {
			continue
		}
		if _, dup := qty[l.ID]; dup {
			f.Add(p, fmt.Sprintf("names line %d a second time", l.LineNo))
			continue
		}
		if left := l.Quantity - l.Shipped; it.Quantity > left {
			f.Add(p+".quantity", fmt.Sprintf("must not exceed the %d of line %d not shipped yet", left, l.LineNo))
		}
		qty[l.ID] = it.Quantity
	}
	return qty, f.Err()
}

// Shipment returns a shipment with its items and timeline; fault.NotFound
// if there is none.
func (s *Service) Shipment(ctx context.Context, id int64) (Shipment, error) {
	sh, err := shipmentByID(ctx, s.db, id, false)
	if err != nil {
		return sh, err
	}
	return sh, fillShipment(ctx, s.db, &sh, true)
}

func fillShipment(ctx context.Context, q sqlx.QueryerContext, sh *Shipment, events bool) error {
	var err error
	if sh.Items, err = shipmentItems(ctx, q, sh.ID); err != nil {
		return err
	}
	if events {
		sh.Events, err = trackingEvents(ctx, q, sh.ID)
	}
	return err
}

func (s *Service) queueShipmentMail(ctx context.Context, tx *sqlx.Tx, sh Shipment, kind, key string) error {
	if s.outbox == nil {
		return nil
	}
	c, err := orderCustomer(ctx, tx, sh.OrderID)
	if err != nil {
		return err
	}
	return s.queue(ctx, tx, kind, key, c, sh.OrderID, sh.ID)
}

// AddTrackingEvent records a carrier scan on a shipment, idempotently on its
// provider event id: a duplicate returns the stored event as Unchanged and
// changes nothing. Every event joins the timeline, but only the newest (by
// occurred_at) decides the shipment's status, ETA and delivered_at, so a
// late, out-of-order event never moves a parcel back. A move to
// out_for_delivery, delivered or a delivery problem queues its email, unless
// the event happened more than 72 hours ago. It returns the event and the
// shipment after it; fault.NotFound for an unknown shipment, fault.Fields
// for bad input.
func (s *Service) AddTrackingEvent(ctx context.Context, shipmentID int64, in TrackingEventInput) (TrackingEvent, Shipment, Outcome, error) {
	now := s.now()
	d, err := in.validate(now)
	if err != nil {
		return TrackingEvent{}, Shipment{}, "", err
	}
	d.ShipmentID = shipmentID
	var ev TrackingEvent
	var sh Shipment
	var out Outcome
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// The row lock serializes events of one parcel, so two scans that
		// arrive together cannot both think they are the newest.
		if sh, err = shipmentByID(ctx, tx, shipmentID, true); err != nil {
			return err
		}
		var inserted bool
		if ev, inserted, err = insertEvent(ctx, tx, d.TrackingEvent); err != nil {
			return err
		}
		if !inserted {
			out = Unchanged
			return fillShipment(ctx, tx, &sh, false)
		}
		out = Created
		next, moved := advance(sh, ev, d.EstimatedDelivery)
		if sh, err = saveShipmentState(ctx, tx, next); err != nil {
			return err
		}
		historic := now.Sub(ev.OccurredAt) > mailWindow
		if moved {
			if err := s.emit(ctx, tx, events.Event{Kind: events.ShipmentStatusChanged, OrderID: sh.OrderID, ShipmentID: sh.ID, Status: string(sh.Status), At: ev.OccurredAt, Historic: historic}); err != nil {
				return err
			}
		}
		if kind := ev.Status.mailKind(); moved && kind != "" && !historic {
			key := fmt.Sprintf("%s:%d", kind, sh.ID)
			if kind == "shipment_exception" {
				key = fmt.Sprintf("%s:%d:%s:%d", kind, sh.ID, ev.Status, ev.ID)
			}
			if err := s.queueShipmentMail(ctx, tx, sh, kind, key); err != nil {
				return err
			}
		}
		return fillShipment(ctx, tx, &sh, false)
	})
	return ev, sh, out, err
}

// advance returns the shipment after event e and whether its status changed.
// shipped_at is the earliest event in transit or later, whatever order the
// events arrive in. Status, ETA and delivered_at move only for an event at
// least as new as the newest so far; a tie in time goes to the status
// further along, so that it cannot move the parcel back either.
// delivered_at is the time of the first delivered event while the parcel
// stands delivered: a newer scan that puts it back in transit or returns it means
// the shopper does not have it.
func advance(sh Shipment, e TrackingEvent, eta *string) (Shipment, bool) {
	at := e.OccurredAt
	if e.Status.Moving() && (sh.ShippedAt == nil || at.Before(*sh.ShippedAt)) {
		sh.ShippedAt = &at
	}
	newest := sh.LastEventAt == nil || at.After(*sh.LastEventAt) ||
		(at.Equal(*sh.LastEventAt) && e.Status.rank() >= sh.Status.rank())
	if !newest {
		return sh, false
	}
	from := sh.Status
	sh.Status, sh.LastEventAt = e.Status, &at
	if eta != nil {
		sh.EstimatedDelivery = eta
	}
	switch {
	case e.Status != Delivered:
		sh.DeliveredAt = nil
	case from != Delivered || sh.DeliveredAt == nil:
		sh.DeliveredAt = &at // a second "delivered" scan keeps the first time
	}
	return sh, sh.Status != from
}
