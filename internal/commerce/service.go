package commerce

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
)

// mailWindow bounds lifecycle email: an order placed, or a parcel event
// that happened, longer ago than this is history being loaded, and telling
// the shopper about it now would only confuse.
const mailWindow = 72 * time.Hour

// Service decides how orders, shipments and tracking events are recorded
// and which emails each change causes. Every change and its emails commit in
// one transaction.
type Service struct {
	db     *sqlx.DB
	outbox *mail.Outbox
	bus    *events.Bus
	now    func() time.Time
	// fallbacks counts the runs of batches that could not be written
	// set-wise and were written order by order (see recordRun).
	fallbacks atomic.Int64
}

// WithEvents makes the service emit domain events (order.created,
// shipment.created, shipment.status_changed) through bus, in the
// transaction of each change. It returns s.
func (s *Service) WithEvents(bus *events.Bus) *Service {
	s.bus = bus
	return s
}

// emit records ev in tx when the service has a bus.
func (s *Service) emit(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	if s.bus == nil {
		return nil
	}
	// One insert for the jobs of all subscribers, not one each.
	return s.bus.EmitMany(ctx, tx, []events.Event{ev})
}

// NewService returns a Service over db that queues email through outbox. A
// nil outbox queues nothing (for seeding and imports).
func NewService(db *sqlx.DB, outbox *mail.Outbox) *Service {
	return &Service{db: db, outbox: outbox, now: time.Now}
}

// UpsertProduct creates or replaces the product with the given SKU, and
// links order lines of that SKU that had no product yet. It returns a
// fault.Fields error for bad input.
func (s *Service) UpsertProduct(ctx context.Context, sku string, in ProductInput) (Product, Outcome, error) {
	p, err := in.validate(sku)
	if err != nil {
		return p, "", err
	}
	var out Outcome
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		p, out, err = upsertProduct(ctx, tx, p)
		return err
	})
	return p, out, err
}

// UpsertOrder records an order idempotently on (source, external_id): the
// first call creates it (and queues the order confirmation, unless it was
// placed more than 72 hours ago), a retry with the same content leaves it
// Unchanged, and changed content updates it. The customer is found or
// created by normalized email. It returns a fault.Fields error naming each
// bad field by its JSON path, and the order with its customer and items.
func (s *Service) UpsertOrder(ctx context.Context, in OrderInput) (Order, Outcome, error) {
	return s.upsertOrder(ctx, in, true, false)
}

// upsertOrder validates in and records it in its own transaction.
func (s *Service) upsertOrder(ctx context.Context, in OrderInput, notify, batch bool) (Order, Outcome, error) {
	d, err := in.validate(s.now())
	if err != nil {
		return Order{}, "", err
	}
	return s.writeOrder(ctx, d, d.hash(), notify, batch)
}

// writeOrder records one validated order in its own transaction. For a
// batch it commits without waiting for the WAL flush (UpsertOrders calls
// flushWAL before it answers) and does not read the order back: a batch
// result needs only its id.
func (s *Service) writeOrder(ctx context.Context, d orderData, hash []byte, notify, batch bool) (Order, Outcome, error) {
	var o Order
	var out Outcome
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		fill := func() error {
			if batch {
				return nil
			}
			return s.fillOrder(ctx, tx, &o, false)
		}
		if batch {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return fmt.Errorf("commerce: %w", err)
			}
		}
		old, found, err := lockOrderByKey(ctx, tx, d.Source, d.ExternalID)
		if err != nil {
			return err
		}
		if !found {
			// A known customer is written last: concurrent orders of one
			// shopper wait for each other's customer row only from there to
			// commit. Inserting the order takes just a key-share lock on it.
			c, err := customerByEmail(ctx, tx, d.Email)
			known := err == nil
			if fault.KindOf(err) == fault.NotFound {
				c, err = upsertCustomer(ctx, tx, d.Email, d.Name, d.MarketingConsent)
			}
			if err != nil {
				return err
			}
			var inserted bool
			if o, inserted, err = insertOrder(ctx, tx, d, c.ID, hash); err != nil {
				return err
			}
			if inserted {
				out = Created
				// A new order has no lines to trim, and what the insert
				// returns is what a read-back would find.
				if o.Items, err = insertOrderItems(ctx, tx, o.ID, d.Items); err != nil {
					return err
				}
				if o.DiscountCodes == nil {
					o.DiscountCodes = []string{}
				}
				historic := s.now().Sub(d.PlacedAt) > mailWindow
				if notify && !historic {
					key := fmt.Sprintf("order_confirmation:%d", o.ID)
					if err := s.queue(ctx, tx, "order_confirmation", key, c, o.ID, 0); err != nil {
						return err
					}
				}
				if err := s.emit(ctx, tx, events.Event{Kind: events.OrderCreated, CustomerID: c.ID, OrderID: o.ID, Historic: historic || !notify}); err != nil {
					return err
				}
				if known {
					c, err = upsertCustomer(ctx, tx, d.Email, d.Name, d.MarketingConsent)
				}
				o.Customer = c
				return err
			}
			// A concurrent request created it first; its row is committed now.
			if old, found, err = lockOrderByKey(ctx, tx, d.Source, d.ExternalID); err != nil {
				return err
			} else if !found {
				return fmt.Errorf("commerce: order %s/%s neither inserted nor found", d.Source, d.ExternalID)
			}
		}
		if bytes.Equal(old.ContentHash, hash) {
			o, out = old, Unchanged
			return fill()
		}
		if err := keepsShipped(ctx, tx, old.ID, d.Items); err != nil {
			return err
		}
		if err := keepsRefunds(old, d); err != nil {
			return err
		}
		c, err := upsertCustomer(ctx, tx, d.Email, d.Name, d.MarketingConsent)
		if err != nil {
			return err
		}
		if o, err = updateOrder(ctx, tx, old.ID, d, c.ID, hash); err != nil {
			return err
		}
		out = Updated
		if err := putOrderItems(ctx, tx, o.ID, d.Items); err != nil {
			return err
		}
		return fill()
	})
	return o, out, err
}

// keepsShipped refuses an update that would leave a line with fewer units
// than its shipments already carry.
func keepsShipped(ctx context.Context, q sqlx.QueryerContext, orderID int64, items []itemData) error {
	shipped, err := shippedByLine(ctx, q, orderID)
	if err != nil {
		return err
	}
	return shippedFits(shipped, items)
}

// shippedFits is keepsShipped's check on the quantities already shipped
// per line number.
func shippedFits(shipped map[int]int, items []itemData) error {
	var f fault.Fields
	for i, it := range items {
		if n := shipped[i+1]; it.Quantity < n {
			f.Add(fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("must be at least the %d already shipped", n))
		}
	}
	return f.Err()
}

// keepsRefunds refuses an update that would leave the order's refunds
// larger than its total, or in another currency than the order.
func keepsRefunds(old Order, d orderData) error {
	if old.RefundedMinor == 0 {
		return nil
	}
	var f fault.Fields
	if d.Currency != old.Currency {
		f.Add("currency", fmt.Sprintf("must stay %s: the order has refunds in it", old.Currency))
	}
	if d.Total < old.RefundedMinor {
		f.Add("total", fmt.Sprintf("must be at least the %d already refunded", old.RefundedMinor))
	}
	return f.Err()
}

// Order returns an order with its customer, items, shipments (each with
// its items and timeline) and refunds; fault.NotFound if there is none.
func (s *Service) Order(ctx context.Context, id int64) (Order, error) {
	o, err := orderByID(ctx, s.db, id, false)
	if err != nil {
		return o, err
	}
	return o, s.fillOrder(ctx, s.db, &o, true)
}

// fillOrder loads an order's customer and items, and its shipments and
// refunds when asked.
func (s *Service) fillOrder(ctx context.Context, q sqlx.QueryerContext, o *Order, shipments bool) error {
	var err error
	if o.Customer, err = customerByID(ctx, q, o.CustomerID); err != nil {
		return err
	}
	if o.Items, err = orderItems(ctx, q, o.ID); err != nil {
		return err
	}
	if o.DiscountCodes == nil {
		o.DiscountCodes = []string{}
	}
	if !shipments {
		return nil
	}
	if o.Shipments, err = shipmentsOfOrder(ctx, q, o.ID); err != nil {
		return err
	}
	if o.Refunds, err = refundsOfOrder(ctx, q, o.ID); err != nil {
		return err
	}
	for i := range o.Shipments {
		if err := fillShipment(ctx, q, &o.Shipments[i], true); err != nil {
			return err
		}
	}
	return nil
}

// queue writes an email to the outbox in tx, addressed to c.
func (s *Service) queue(ctx context.Context, tx *sqlx.Tx, kind, key string, c Customer, orderID, shipmentID int64) error {
	if s.outbox == nil {
		return nil
	}
	return s.outbox.Queue(ctx, tx, mail.Queued{
		Kind: kind, DedupeKey: key, To: c.Email, CustomerID: c.ID, OrderID: orderID, ShipmentID: shipmentID,
	})
}
