package returns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	acdb "github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// errOrderNotFound is the one answer for a missing order and for another
// customer's order, so ids cannot be probed.
var errOrderNotFound = fault.Errorf(fault.NotFound, "We couldn't find that order.")

// anyCustomer stands for "no customer scope" in loadOrderFacts: staff read
// every order.
const anyCustomer int64 = -1

// loadOrderFacts reads an order of customerID (or of anyone, for
// anyCustomer) with its lines, deliveries and claimed units. With lock it
// takes the order's row lock first, so concurrent requests for the same
// order see each other's returns.
func loadOrderFacts(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64, lock bool) (OrderFacts, error) {
	var o struct {
		ID            int64      `db:"id"`
		CustomerID    int64      `db:"customer_id"`
		Number        string     `db:"number"`
		Currency      string     `db:"currency"`
		Status        string     `db:"status"`
		CancelledAt   *time.Time `db:"cancelled_at"`
		SubtotalMinor int64      `db:"subtotal_minor"`
		ShippingMinor int64      `db:"shipping_minor"`
		TotalMinor    int64      `db:"total_minor"`
		RefundedMinor int64      `db:"refunded_minor"`
	}
	query := `SELECT id, customer_id, number, currency, status, cancelled_at, subtotal_minor, shipping_minor, total_minor, refunded_minor
		FROM orders WHERE id = $1 AND ($2::bigint = -1 OR customer_id = $2::bigint)`
	if lock {
		query += ` FOR UPDATE`
	}
	err := acdb.Get(ctx, q, &o, query, orderID, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return OrderFacts{}, errOrderNotFound
	}
	if err != nil {
		return OrderFacts{}, fmt.Errorf("returns: order %d: %w", orderID, err)
	}
	f := OrderFacts{
		ID: o.ID, CustomerID: o.CustomerID, Number: o.Number, Currency: o.Currency, Status: o.Status,
		Cancelled: o.CancelledAt != nil, SubtotalMinor: o.SubtotalMinor, ShippingMinor: o.ShippingMinor,
		TotalMinor: o.TotalMinor, RefundedMinor: o.RefundedMinor,
	}
	if f.Lines, err = orderLines(ctx, q, o.ID); err != nil {
		return f, err
	}
	return f, nil
}

// orderLines reads the lines of an order with their product's flag and
// guide, the units in open returns, and the parcels that delivered them.
func orderLines(ctx context.Context, q sqlx.QueryerContext, orderID int64) ([]Line, error) {
	var rows []struct {
		ID             int64  `db:"id"`
		LineNo         int    `db:"line_no"`
		SKU            string `db:"sku"`
		Title          string `db:"title"`
		ImageURL       string `db:"image_url"`
		Quantity       int    `db:"quantity"`
		UnitPriceMinor int64  `db:"unit_price_minor"`
		Returnable     bool   `db:"returnable"`
		GuideMD        string `db:"guide_md"`
		Claimed        int    `db:"claimed"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT oi.id, oi.line_no, oi.sku, oi.title, COALESCE(p.image_url, '') AS image_url, oi.quantity, oi.unit_price_minor,
		       COALESCE(p.returnable, true) AS returnable, COALESCE(p.guide_md, '') AS guide_md,
		       COALESCE((SELECT sum(ri.quantity) FROM return_items ri JOIN return_requests r ON r.id = ri.return_id
		                 WHERE ri.order_item_id = oi.id AND r.status NOT IN ('rejected', 'cancelled')), 0)::int AS claimed
		FROM order_items oi
		LEFT JOIN products p ON p.id = oi.product_id
		WHERE oi.order_id = $1
		ORDER BY oi.line_no`, orderID)
	if err != nil {
		return nil, fmt.Errorf("returns: lines of order %d: %w", orderID, err)
	}
	var deliveries []struct {
		OrderItemID int64     `db:"order_item_id"`
		DeliveredAt time.Time `db:"delivered_at"`
		Quantity    int       `db:"quantity"`
	}
	// A parcel sent back to the store (returned_to_sender) delivered nothing.
	err = sqlx.SelectContext(ctx, q, &deliveries, `
		SELECT si.order_item_id, s.delivered_at, si.quantity
		FROM shipments s JOIN shipment_items si ON si.shipment_id = s.id
		WHERE s.order_id = $1 AND s.delivered_at IS NOT NULL AND s.status <> 'returned_to_sender'
		ORDER BY s.delivered_at, s.id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("returns: deliveries of order %d: %w", orderID, err)
	}
	lines := make([]Line, 0, len(rows))
	for _, r := range rows {
		l := Line{
			OrderItemID: r.ID, LineNo: r.LineNo, SKU: r.SKU, Title: r.Title, ImageURL: r.ImageURL, Quantity: r.Quantity,
			UnitPriceMinor: r.UnitPriceMinor, Returnable: r.Returnable, GuideMD: r.GuideMD, Claimed: r.Claimed,
		}
		for _, d := range deliveries {
			if d.OrderItemID == r.ID {
				l.Deliveries = append(l.Deliveries, Delivery{At: d.DeliveredAt, Quantity: d.Quantity})
			}
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// products lists the SKUs a shopper may exchange for, by title.
func products(ctx context.Context, q sqlx.QueryerContext) ([]Product, error) {
	out := []Product{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT sku, title FROM products ORDER BY title, sku LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("returns: products: %w", err)
	}
	return out, nil
}

// productBySKU returns the product with sku, or false.
func productBySKU(ctx context.Context, q sqlx.QueryerContext, sku string) (Product, bool, error) {
	var p Product
	err := sqlx.GetContext(ctx, q, &p, `SELECT sku, title FROM products WHERE sku = $1`, sku)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("returns: product %s: %w", sku, err)
	}
	return p, true, nil
}

// stripeCustomer is what a credit needs of the customer.
type stripeCustomer struct {
	ID       int64   `db:"id"`
	Email    string  `db:"email"`
	Name     string  `db:"name"`
	StripeID *string `db:"stripe_customer_id"`
}

func customerForStripe(ctx context.Context, q sqlx.QueryerContext, id int64) (stripeCustomer, error) {
	var c stripeCustomer
	err := sqlx.GetContext(ctx, q, &c, `SELECT id, email, name, stripe_customer_id FROM customers WHERE id = $1`, id)
	if err != nil {
		return c, fmt.Errorf("returns: customer %d: %w", id, err)
	}
	return c, nil
}

// saveStripeCustomer keeps the first Stripe customer recorded for a
// customer and returns the one on record.
func saveStripeCustomer(ctx context.Context, q sqlx.QueryerContext, id int64, stripeID string) (string, error) {
	var kept string
	err := sqlx.GetContext(ctx, q, &kept, `UPDATE customers SET stripe_customer_id = COALESCE(stripe_customer_id, $2), updated_at = now()
		WHERE id = $1 RETURNING stripe_customer_id`, id, stripeID)
	if err != nil {
		return "", fmt.Errorf("returns: save Stripe customer of %d: %w", id, err)
	}
	return kept, nil
}

// OrderSummary is the order of a return as staff see it beside the return.
type OrderSummary struct {
	ID               int64     `db:"id"`
	Number           string    `db:"number"`
	PlacedAt         time.Time `db:"placed_at"`
	Currency         string    `db:"currency"`
	TotalMinor       int64     `db:"total_minor"`
	RefundedMinor    int64     `db:"refunded_minor"`
	PaymentReference string    `db:"payment_reference"`
	Status           string    `db:"status"`
}

// OrderSummary returns the order with id, for staff.
func (s *Service) OrderSummary(ctx context.Context, id int64) (OrderSummary, error) {
	var o OrderSummary
	err := s.db.GetContext(ctx, &o, `SELECT id, number, placed_at, currency, total_minor, refunded_minor, payment_reference, status
		FROM orders WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errOrderNotFound
	}
	if err != nil {
		return o, fmt.Errorf("returns: order %d: %w", id, err)
	}
	return o, nil
}
