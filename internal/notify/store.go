package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/mail"
)

// Customer is the addressee of an email.
type Customer struct {
	ID    int64  `db:"id"`
	Email string `db:"email"`
	Name  string `db:"name"`
}

// FirstName is the first word of the customer's name, or "" when unknown.
func (c Customer) FirstName() string {
	if f := strings.Fields(c.Name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Order is an order as its emails show it; money in minor units.
type Order struct {
	ID            int64          `db:"id"`
	Number        string         `db:"number"`
	CustomerID    int64          `db:"customer_id"`
	PlacedAt      time.Time      `db:"placed_at"`
	Currency      string         `db:"currency"`
	Subtotal      int64          `db:"subtotal_minor"`
	Discount      int64          `db:"discount_minor"`
	Shipping      int64          `db:"shipping_minor"`
	Tax           int64          `db:"tax_minor"`
	Total         int64          `db:"total_minor"`
	DiscountCodes pq.StringArray `db:"discount_codes"`
	Items         []Item         `db:"-"`
}

// Ref is the order number as shoppers know it: "#1001".
func (o Order) Ref() string {
	if strings.HasPrefix(o.Number, "#") {
		return o.Number
	}
	return "#" + o.Number
}

// Item is an order line, or the part of it in one shipment.
type Item struct {
	Title     string `db:"title"`
	Quantity  int    `db:"quantity"`
	UnitPrice int64  `db:"unit_price_minor"`
	ImageURL  string `db:"image_url"`
}

// LineTotal is quantity times unit price.
func (i Item) LineTotal() int64 { return int64(i.Quantity) * i.UnitPrice }

// Shipment is a parcel of an order and where it is.
type Shipment struct {
	ID             int64      `db:"id"`
	OrderID        int64      `db:"order_id"`
	Carrier        string     `db:"carrier"`
	TrackingNumber string     `db:"tracking_number"`
	TrackingURL    string     `db:"tracking_url"`
	Status         string     `db:"status"`
	ETA            *time.Time `db:"estimated_delivery"` // a calendar date in the store's zone
	ShippedAt      *time.Time `db:"shipped_at"`
	DeliveredAt    *time.Time `db:"delivered_at"`
	Items          []Item     `db:"-"`
}

// Event is one tracking event of a shipment.
type Event struct {
	ID         int64     `db:"id"`
	Status     string    `db:"status"`
	Detail     string    `db:"detail"`
	Location   string    `db:"location"`
	OccurredAt time.Time `db:"occurred_at"`
}

// gone turns a missing row into a Skip: the email has nothing left to say.
func gone(err error, what string, id int64) error {
	if errors.Is(err, sql.ErrNoRows) {
		return mail.Skip(fmt.Errorf("notify: %s %d no longer exists", what, id))
	}
	return fmt.Errorf("notify: load %s %d: %w", what, id, err)
}

// loadCustomers reads the customers ids; missing ones are absent.
func loadCustomers(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]Customer, error) {
	var cs []Customer
	if err := sqlx.SelectContext(ctx, q, &cs, `SELECT id, email, name FROM customers WHERE id = ANY($1::bigint[])`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("notify: load %d customers: %w", len(ids), err)
	}
	out := make(map[int64]Customer, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}

// loadOrders reads the orders ids with their lines, with one statement
// each; missing ones are absent.
func loadOrders(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]Order, error) {
	var os []Order
	err := sqlx.SelectContext(ctx, q, &os, `SELECT id, number, customer_id, placed_at, currency, subtotal_minor,
		discount_minor, shipping_minor, tax_minor, total_minor, discount_codes FROM orders WHERE id = ANY($1::bigint[])`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("notify: load %d orders: %w", len(ids), err)
	}
	var items []struct {
		OrderID int64 `db:"order_id"`
		Item
	}
	err = sqlx.SelectContext(ctx, q, &items, `SELECT i.order_id, i.title, i.quantity, i.unit_price_minor, COALESCE(p.image_url, '') AS image_url
		FROM order_items i LEFT JOIN products p ON p.id = i.product_id
		WHERE i.order_id = ANY($1::bigint[]) ORDER BY i.order_id, i.line_no`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("notify: load items of %d orders: %w", len(ids), err)
	}
	out := make(map[int64]Order, len(os))
	for _, o := range os {
		out[o.ID] = o
	}
	for _, it := range items {
		o := out[it.OrderID]
		o.Items = append(o.Items, it.Item)
		out[it.OrderID] = o
	}
	return out, nil
}

func loadOrder(ctx context.Context, q sqlx.QueryerContext, id int64) (Order, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `SELECT id, number, customer_id, placed_at, currency, subtotal_minor,
		discount_minor, shipping_minor, tax_minor, total_minor, discount_codes FROM orders WHERE id = $1`, id)
	if err != nil {
		return o, gone(err, "order", id)
	}
	err = sqlx.SelectContext(ctx, q, &o.Items, `SELECT i.title, i.quantity, i.unit_price_minor, COALESCE(p.image_url, '') AS image_url
		FROM order_items i LEFT JOIN products p ON p.id = i.product_id
		WHERE i.order_id = $1 ORDER BY i.line_no`, id)
	if err != nil {
		return o, fmt.Errorf("notify: load items of order %d: %w", id, err)
	}
	return o, nil
}

func loadShipment(ctx context.Context, q sqlx.QueryerContext, id int64) (Shipment, error) {
	var s Shipment
	err := sqlx.GetContext(ctx, q, &s, `SELECT id, order_id, carrier, tracking_number, tracking_url, status,
		estimated_delivery, shipped_at, delivered_at FROM shipments WHERE id = $1`, id)
	if err != nil {
		return s, gone(err, "shipment", id)
	}
	err = sqlx.SelectContext(ctx, q, &s.Items, `SELECT i.title, si.quantity, i.unit_price_minor, COALESCE(p.image_url, '') AS image_url
		FROM shipment_items si JOIN order_items i ON i.id = si.order_item_id LEFT JOIN products p ON p.id = i.product_id
		WHERE si.shipment_id = $1 ORDER BY i.line_no`, id)
	if err != nil {
		return s, fmt.Errorf("notify: load items of shipment %d: %w", id, err)
	}
	return s, nil
}

// loadEvent returns event eventID of the shipment, or its newest event when
// eventID is 0; ok is false when there is none.
func loadEvent(ctx context.Context, q sqlx.QueryerContext, shipmentID, eventID int64) (e Event, ok bool, err error) {
	err = sqlx.GetContext(ctx, q, &e, `SELECT id, status, detail, location, occurred_at FROM tracking_events
		WHERE shipment_id = $1 AND ($2::bigint = 0 OR id = $2::bigint)
		ORDER BY occurred_at DESC, id DESC LIMIT 1`, shipmentID, eventID)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("notify: load event of shipment %d: %w", shipmentID, err)
	}
	return e, true, nil
}
