// Package portal is the shopper's side of Aftercare: the list of their
// orders and each order's items, shipments and tracking timeline.
//
// Authorization is by construction: every query in this package is scoped
// by the signed-in customer's id, so another customer's order cannot be read
// and looks exactly like one that does not exist.
package portal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pagecache"
)

// OrderSummary is one row of a customer's order list.
type OrderSummary struct {
	ID          int64          `db:"id"`
	Number      string         `db:"number"`
	PlacedAt    time.Time      `db:"placed_at"`
	Currency    string         `db:"currency"`
	TotalMinor  int64          `db:"total_minor"`
	ItemCount   int            `db:"item_count"`
	OrderStatus string         `db:"status"`
	Shipments   pq.StringArray `db:"shipment_statuses"`
	// State is OrderState(OrderStatus, Shipments), filled by the store.
	State string `db:"-"`
}

// Order is one order of a customer with everything the order page shows.
type Order struct {
	ID            int64          `db:"id" json:"id"`
	Number        string         `db:"number" json:"number"`
	PlacedAt      time.Time      `db:"placed_at" json:"placed_at"`
	Currency      string         `db:"currency" json:"currency"`
	SubtotalMinor int64          `db:"subtotal_minor" json:"subtotal_minor"`
	DiscountMinor int64          `db:"discount_minor" json:"discount_minor"`
	ShippingMinor int64          `db:"shipping_minor" json:"shipping_minor"`
	TaxMinor      int64          `db:"tax_minor" json:"tax_minor"`
	TotalMinor    int64          `db:"total_minor" json:"total_minor"`
	DiscountCodes pq.StringArray `db:"discount_codes" json:"discount_codes"`
	Status        string         `db:"status" json:"status"`
	Items         []OrderItem    `db:"-" json:"-"`
	Shipments     []Shipment     `db:"-" json:"-"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ID             int64  `db:"id" json:"id"`
	LineNo         int    `db:"line_no" json:"line_no"`
	SKU            string `db:"sku" json:"sku"`
	Title          string `db:"title" json:"title"`
	ImageURL       string `db:"image_url" json:"image_url"`
	Quantity       int    `db:"quantity" json:"quantity"`
	UnitPriceMinor int64  `db:"unit_price_minor" json:"unit_price_minor"`
}

// Shipment is one parcel of an order, its items and its tracking events
// (newest first).
type Shipment struct {
	ID             int64  `db:"id" json:"id"`
	Carrier        string `db:"carrier" json:"carrier"`
	TrackingNumber string `db:"tracking_number" json:"tracking_number"`
	TrackingURL    string `db:"tracking_url" json:"tracking_url"`
	Status         string `db:"status" json:"status"`
	// EstimatedDelivery is a calendar date (midnight UTC), not an instant.
	EstimatedDelivery *time.Time      `db:"estimated_delivery" json:"estimated_delivery"`
	ShippedAt         *time.Time      `db:"shipped_at" json:"shipped_at"`
	DeliveredAt       *time.Time      `db:"delivered_at" json:"delivered_at"`
	Items             []ShipmentItem  `db:"-" json:"items"`
	Events            []TrackingEvent `db:"-" json:"events"`
}

// ShipmentItem is an order line (or part of one) inside a shipment.
type ShipmentItem struct {
	ShipmentID  int64  `db:"shipment_id" json:"shipment_id"`
	OrderItemID int64  `db:"order_item_id" json:"order_item_id"`
	Title       string `db:"title" json:"title"`
	Quantity    int    `db:"quantity" json:"quantity"`
}

// TrackingEvent is one carrier scan of a shipment.
type TrackingEvent struct {
	ID         int64     `db:"id" json:"id"`
	ShipmentID int64     `db:"shipment_id" json:"shipment_id"`
	Status     string    `db:"status" json:"status"`
	Detail     string    `db:"detail" json:"detail"`
	Location   string    `db:"location" json:"location"`
	OccurredAt time.Time `db:"occurred_at" json:"occurred_at"`
}

// Orders reads a customer's orders. Every method takes the customer id and
// scopes its SQL by it.
type Orders struct {
	db      *sqlx.DB
	version *db.Stmt
	order   *db.Stmt
	cache   *pagecache.Cache[Order]
}

// NewOrders returns the order store over pool.
func NewOrders(pool *sqlx.DB) *Orders {
	return &Orders{db: pool, cache: pagecache.New[Order](pagecache.SectionSize), order: db.NewStmt(pool, orderSQL),
		version: db.NewStmt(pool, `SELECT o.page_version AS order_version, c.page_version AS customer_version
			FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1 AND o.customer_id = $2`)}
}

// Versions are the numbers an order page's caches are kept under.
type Versions struct {
	Order    int64 `db:"order_version"`
	Customer int64 `db:"customer_version"`
}

// Version returns the page versions of the order and its customer (see
// internal/pagecache), or the not-found error when the order is not the
// customer's. It is the one read every view of an order page makes before
// anything cached is used.
func (s *Orders) Version(ctx context.Context, customerID, orderID int64) (Versions, error) {
	var v Versions
	err := s.version.GetContext(ctx, &v, orderID, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return v, errOrderNotFound
	}
	if err != nil {
		return v, fmt.Errorf("portal: order version: %w", err)
	}
	return v, nil
}

// errOrderNotFound is the one answer for a missing order and for someone
// else's order, so ids cannot be probed.
var errOrderNotFound = fault.Errorf(fault.NotFound, "We couldn't find that order.")

// List returns every order of the customer, newest first, each with its
// item count and summary state. It returns an empty list, not an error, when
// the customer has no orders.
func (s *Orders) List(ctx context.Context, customerID int64) ([]OrderSummary, error) {
	var out []OrderSummary
	err := sqlx.SelectContext(ctx, s.db, &out, `
		SELECT o.id, o.number, o.placed_at, o.currency, o.total_minor, o.status,
		       COALESCE((SELECT sum(i.quantity) FROM order_items i WHERE i.order_id = o.id), 0) AS item_count,
		       ARRAY(SELECT s.status FROM shipments s WHERE s.order_id = o.id ORDER BY s.id) AS shipment_statuses
		FROM orders o
		WHERE o.customer_id = $1
		ORDER BY o.placed_at DESC, o.id DESC`, customerID)
	if err != nil {
		return nil, fmt.Errorf("portal: list orders: %w", err)
	}
	for i := range out {
		out[i].State = OrderState(out[i].OrderStatus, out[i].Shipments)
	}
	return out, nil
}

// Get returns one order of the customer with its items, shipments, shipment
// items and tracking events. It returns a fault.NotFound error when the order
// does not exist or belongs to another customer; the two are indistinguishable.
//
// Within an order page (a pagecache key in ctx) the answer is cached under
// the page's version; the Order returned is then shared and read-only.
func (s *Orders) Get(ctx context.Context, customerID, orderID int64) (Order, error) {
	return s.cache.Load(ctx, orderID, func() (Order, error) { return s.get(ctx, customerID, orderID) })
}

func (s *Orders) get(ctx context.Context, customerID, orderID int64) (Order, error) {
	// One statement: one snapshot, so a tracking event landing mid-read
	// cannot tear the page, and one round trip on a prepared plan instead of
	// a transaction of five queries.
	var row struct {
		Order
		Items     []byte `db:"items"`
		Shipments []byte `db:"shipments"`
	}
	err := s.order.GetContext(ctx, &row, customerID, orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, errOrderNotFound
	}
	if err != nil {
		return Order{}, fmt.Errorf("portal: get order: %w", err)
	}
	o := row.Order
	if err := json.Unmarshal(row.Items, &o.Items); err != nil {
		return o, fmt.Errorf("portal: order items: %w", err)
	}
	if err := json.Unmarshal(row.Shipments, &o.Shipments); err != nil {
		return o, fmt.Errorf("portal: shipments: %w", err)
	}
	return o, nil
}

// orderSQL reads an order of a customer with its lines, and its shipments
// with their items and tracking events (newest first), as JSON arrays.
// Estimated delivery is a calendar date, sent as midnight UTC.
const orderSQL = `
	SELECT o.id, o.number, o.placed_at, o.currency, o.subtotal_minor, o.discount_minor, o.shipping_minor,
	       o.tax_minor, o.total_minor, o.discount_codes, o.status,
	       COALESCE((SELECT json_agg(json_build_object('id', i.id, 'line_no', i.line_no, 'sku', i.sku, 'title', i.title,
	                    'image_url', COALESCE(p.image_url, ''), 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor)
	                    ORDER BY i.line_no)
	                 FROM order_items i LEFT JOIN products p ON p.id = i.product_id
	                 WHERE i.order_id = o.id), '[]') AS items,
	       COALESCE((SELECT json_agg(json_build_object('id', s.id, 'carrier', s.carrier, 'tracking_number', s.tracking_number,
	                    'tracking_url', s.tracking_url, 'status', s.status,
	                    'estimated_delivery', to_char(s.estimated_delivery, 'YYYY-MM-DD"T00:00:00Z"'),
	                    'shipped_at', s.shipped_at, 'delivered_at', s.delivered_at,
	                    'items', COALESCE((SELECT json_agg(json_build_object('shipment_id', si.shipment_id,
	                                 'order_item_id', si.order_item_id, 'title', i.title, 'quantity', si.quantity)
	                                 ORDER BY i.line_no)
	                              FROM shipment_items si JOIN order_items i ON i.id = si.order_item_id
	                              WHERE si.shipment_id = s.id), '[]'),
	                    'events', COALESCE((SELECT json_agg(json_build_object('id', e.id, 'shipment_id', e.shipment_id,
	                                 'status', e.status, 'detail', e.detail, 'location', e.location, 'occurred_at', e.occurred_at)
	                                 ORDER BY e.occurred_at DESC, e.id DESC)
	                              FROM tracking_events e WHERE e.shipment_id = s.id), '[]'))
	                    ORDER BY s.created_at, s.id)
	                 FROM shipments s WHERE s.order_id = o.id), '[]') AS shipments
	FROM orders o
	WHERE o.customer_id = $1 AND o.id = $2`

// RecordView notes that the customer opened the page of an order of theirs,
// for the dashboard's "where is my order" load. The order must be theirs.
// One plain insert: committing it asynchronously took three more statements
// and measured no faster (BENCHMARKS.md, second pass).
func (s *Orders) RecordView(ctx context.Context, customerID, orderID int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tracking_views (order_id)
		SELECT id FROM orders WHERE id = $1 AND customer_id = $2`, orderID, customerID)
	if err != nil {
		return fmt.Errorf("portal: record view of order %d: %w", orderID, err)
	}
	return nil
}
