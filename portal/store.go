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
	ID            int64          `db:"id"`
	Number        string         `db:"number"`
	PlacedAt      time.Time      `db:"placed_at"`
	Currency      string         `db:"currency"`
	SubtotalMinor int64          `db:"subtotal_minor"`
	DiscountMinor int64          `db:"discount_minor"`
	ShippingMinor int64          `db:"shipping_minor"`
	TaxMinor      int64          `db:"tax_minor"`
	TotalMinor    int64          `db:"total_minor"`
	DiscountCodes pq.StringArray `db:"discount_codes"`
	Status        string         `db:"status"`
	Items         []OrderItem    `db:"-"`
	Shipments     []Shipment     `db:"-"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ID             int64  `db:"id"`
	LineNo         int    `db:"line_no"`
	SKU            string `db:"sku"`
	Title          string `db:"title"`
	ImageURL       string `db:"image_url"`
	Quantity       int    `db:"quantity"`
	UnitPriceMinor int64  `db:"unit_price_minor"`
}

// Shipment is one parcel of an order, its items and its tracking events
// (newest first).
type Shipment struct {
	ID             int64  `db:"id"`
	Carrier        string `db:"carrier"`
	TrackingNumber string `db:"tracking_number"`
	TrackingURL    string `db:"tracking_url"`
	Status         string `db:"status"`
	// EstimatedDelivery is a calendar date (midnight UTC), not an instant.
	EstimatedDelivery *time.Time      `db:"estimated_delivery"`
	ShippedAt         *time.Time      `db:"shipped_at"`
	DeliveredAt       *time.Time      `db:"delivered_at"`
	Items             []ShipmentItem  `db:"-"`
	Events            []TrackingEvent `db:"-"`
}

// ShipmentItem is an order line (or part of one) inside a shipment.
type ShipmentItem struct {
	ShipmentID  int64  `db:"shipment_id"`
	OrderItemID int64  `db:"order_item_id"`
	Title       string `db:"title"`
	Quantity    int    `db:"quantity"`
}

// TrackingEvent is one carrier scan of a shipment.
type TrackingEvent struct {
	ID         int64     `db:"id"`
	ShipmentID int64     `db:"shipment_id"`
	Status     string    `db:"status"`
	Detail     string    `db:"detail"`
	Location   string    `db:"location"`
	OccurredAt time.Time `db:"occurred_at"`
}

// Orders reads a customer's orders. Every method takes the customer id and
// scopes its SQL by it.
type Orders struct {
	db      *sqlx.DB
	version *db.Stmt
	cache   *pagecache.Cache[Order]
}

// NewOrders returns the order store over pool.
func NewOrders(pool *sqlx.DB) *Orders {
	return &Orders{db: pool, cache: pagecache.New[Order](0),
		version: db.NewStmt(pool, `SELECT page_version FROM orders WHERE id = $1 AND customer_id = $2`)}
}

// Version returns the order's page_version (see internal/pagecache), or the
// not-found error when the order is not the customer's. It is the one read
// every view of an order page makes before anything cached is used.
func (s *Orders) Version(ctx context.Context, customerID, orderID int64) (int64, error) {
	var v int64
	err := s.version.GetContext(ctx, &v, orderID, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errOrderNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("portal: order version: %w", err)
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
	var o Order
	// One snapshot, so a tracking event landing mid-read cannot tear the page.
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return o, fmt.Errorf("portal: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to keep
	err = tx.GetContext(ctx, &o, `
		SELECT id, number, placed_at, currency, subtotal_minor, discount_minor, shipping_minor,
		       tax_minor, total_minor, discount_codes, status
		FROM orders
		WHERE customer_id = $1 AND id = $2`, customerID, orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errOrderNotFound
	}
	if err != nil {
		return o, fmt.Errorf("portal: get order: %w", err)
	}
	if err := loadLines(ctx, tx, customerID, &o); err != nil {
		return o, err
	}
	if err := loadShipments(ctx, tx, customerID, &o); err != nil {
		return o, err
	}
	return o, nil
}

func loadLines(ctx context.Context, tx *sqlx.Tx, customerID int64, o *Order) error {
	err := tx.SelectContext(ctx, &o.Items, `
		SELECT i.id, i.line_no, i.sku, i.title, COALESCE(p.image_url, '') AS image_url,
		       i.quantity, i.unit_price_minor
		FROM order_items i
		JOIN orders o ON o.id = i.order_id
		LEFT JOIN products p ON p.id = i.product_id
		WHERE o.customer_id = $1 AND i.order_id = $2
		ORDER BY i.line_no`, customerID, o.ID)
	if err != nil {
		return fmt.Errorf("portal: order items: %w", err)
	}
	return nil
}

func loadShipments(ctx context.Context, tx *sqlx.Tx, customerID int64, o *Order) error {
	err := tx.SelectContext(ctx, &o.Shipments, `
		SELECT s.id, s.carrier, s.tracking_number, s.tracking_url, s.status,
		       s.estimated_delivery, s.shipped_at, s.delivered_at
		FROM shipments s
		JOIN orders o ON o.id = s.order_id
		WHERE o.customer_id = $1 AND s.order_id = $2
		ORDER BY s.created_at, s.id`, customerID, o.ID)
	if err != nil {
		return fmt.Errorf("portal: shipments: %w", err)
	}
	byID := make(map[int64]int, len(o.Shipments))
	for i, sh := range o.Shipments {
		byID[sh.ID] = i
	}
	var items []ShipmentItem
	err = tx.SelectContext(ctx, &items, `
		SELECT si.shipment_id, si.order_item_id, i.title, si.quantity
		FROM shipment_items si
		JOIN shipments s ON s.id = si.shipment_id
		JOIN orders o ON o.id = s.order_id
		JOIN order_items i ON i.id = si.order_item_id
		WHERE o.customer_id = $1 AND s.order_id = $2
		ORDER BY si.shipment_id, i.line_no`, customerID, o.ID)
	if err != nil {
		return fmt.Errorf("portal: shipment items: %w", err)
	}
	for _, it := range items {
		sh := &o.Shipments[byID[it.ShipmentID]]
		sh.Items = append(sh.Items, it)
	}
	var events []TrackingEvent
	err = tx.SelectContext(ctx, &events, `
		SELECT e.id, e.shipment_id, e.status, e.detail, e.location, e.occurred_at
		FROM tracking_events e
		JOIN shipments s ON s.id = e.shipment_id
		JOIN orders o ON o.id = s.order_id
		WHERE o.customer_id = $1 AND s.order_id = $2
		ORDER BY e.occurred_at DESC, e.id DESC`, customerID, o.ID)
	if err != nil {
		return fmt.Errorf("portal: tracking events: %w", err)
	}
	for _, ev := range events {
		sh := &o.Shipments[byID[ev.ShipmentID]]
		sh.Events = append(sh.Events, ev)
	}
	return nil
}

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
