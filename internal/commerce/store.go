package commerce

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/fault"
)

// The store functions take the transaction (or pool) they run in: services
// decide what goes in one transaction, the store only speaks SQL.

const customerColumns = `id, email, name, created_at, updated_at`

// upsertCustomer finds or creates the customer with a normalized email; a
// non-empty name replaces the stored one, an empty name keeps it. consent,
// when not nil, sets marketing consent; nil keeps what is stored.
func upsertCustomer(ctx context.Context, q sqlx.QueryerContext, email, name string, consent *bool) (Customer, error) {
	var c Customer
	err := sqlx.GetContext(ctx, q, &c, `
		INSERT INTO customers (email, name, marketing_consent) VALUES ($1, $2, COALESCE($3, false))
		ON CONFLICT (email) DO UPDATE
		SET name = CASE WHEN EXCLUDED.name = '' THEN customers.name ELSE EXCLUDED.name END,
		    marketing_consent = COALESCE($3, customers.marketing_consent),
		    updated_at = CASE WHEN EXCLUDED.name IN ('', customers.name) AND $3::boolean IS NOT DISTINCT FROM NULL
		                      THEN customers.updated_at ELSE now() END
		RETURNING `+customerColumns, email, name, consent)
	if err != nil {
		return c, fmt.Errorf("commerce: upsert customer: %w", err)
	}
	return c, nil
}

func customerByID(ctx context.Context, q sqlx.QueryerContext, id int64) (Customer, error) {
	var c Customer
	if err := sqlx.GetContext(ctx, q, &c, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id); err != nil {
		return c, fmt.Errorf("commerce: customer %d: %w", id, err)
	}
	return c, nil
}

// customerByEmail returns the customer with a normalized email;
// fault.NotFound if there is none.
func customerByEmail(ctx context.Context, q sqlx.QueryerContext, email string) (Customer, error) {
	var c Customer
	err := sqlx.GetContext(ctx, q, &c, `SELECT `+customerColumns+` FROM customers WHERE email = $1`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fault.Errorf(fault.NotFound, "There is no customer with that email.")
	}
	if err != nil {
		return c, fmt.Errorf("commerce: customer by email: %w", err)
	}
	return c, nil
}

const productColumns = `id, sku, title, image_url, product_url, returnable, replenish_days, guide_md, guide_video_url, created_at, updated_at`

// upsertProduct writes p by SKU and says whether it was created, updated or
// already held exactly this content (then the row is not touched).
func upsertProduct(ctx context.Context, q sqlx.ExtContext, p Product) (Product, Outcome, error) {
	var row struct {
		Product
		Inserted bool `db:"inserted"`
	}
	err := sqlx.GetContext(ctx, q, &row, `
		INSERT INTO products (sku, title, image_url, product_url, returnable, replenish_days, guide_md, guide_video_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (sku) DO UPDATE
		SET title = EXCLUDED.title, image_url = EXCLUDED.image_url, product_url = EXCLUDED.product_url,
		    returnable = EXCLUDED.returnable, replenish_days = EXCLUDED.replenish_days,
		    guide_md = EXCLUDED.guide_md, guide_video_url = EXCLUDED.guide_video_url, updated_at = now()
		WHERE (products.title, products.image_url, products.product_url, products.returnable,
		       products.replenish_days, products.guide_md, products.guide_video_url)
		      IS DISTINCT FROM
		      (EXCLUDED.title, EXCLUDED.image_url, EXCLUDED.product_url, EXCLUDED.returnable,
		       EXCLUDED.replenish_days, EXCLUDED.guide_md, EXCLUDED.guide_video_url)
		RETURNING `+productColumns+`, (xmax = 0) AS inserted`,
		p.SKU, p.Title, p.ImageURL, p.ProductURL, p.Returnable, p.ReplenishDays, p.GuideMD, p.GuideVideoURL)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// The WHERE held the row back: it already had this content.
		err = sqlx.GetContext(ctx, q, &row.Product, `SELECT `+productColumns+` FROM products WHERE sku = $1`, p.SKU)
		if err != nil {
			return row.Product, "", fmt.Errorf("commerce: product %q: %w", p.SKU, err)
		}
		return row.Product, Unchanged, nil
	case err != nil:
		return row.Product, "", fmt.Errorf("commerce: upsert product %q: %w", p.SKU, err)
	case !row.Inserted:
		return row.Product, Updated, nil
	}
	// Lines ordered before the product was known get linked to it now.
	if _, err := q.ExecContext(ctx,
		`UPDATE order_items SET product_id = $1 WHERE sku = $2 AND product_id IS NULL`, row.ID, row.SKU); err != nil {
		return row.Product, "", fmt.Errorf("commerce: link order items to %q: %w", p.SKU, err)
	}
	return row.Product, Created, nil
}

const orderColumns = `id, source, external_id, number, customer_id, placed_at, currency,
	subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor,
	discount_codes, payment_reference, status, content_hash, created_at, updated_at,
	shipping_address, payment_fingerprint, referral_code, device_id, cancelled_at, cancel_reason, refunded_minor`

// lockOrderByKey returns the order of (source, externalID), locked until the
// transaction ends, and false when there is none.
//
// Orders and shipments are locked FOR NO KEY UPDATE: it serializes every
// writer of the row like FOR UPDATE does, yet lets other transactions insert
// rows that reference it (an email, a shipment) without waiting.
func lockOrderByKey(ctx context.Context, q sqlx.QueryerContext, source, externalID string) (Order, bool, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `SELECT `+orderColumns+` FROM orders
		WHERE source = $1 AND external_id = $2 FOR NO KEY UPDATE`, source, externalID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("commerce: lock order %s/%s: %w", source, externalID, err)
	}
	return o, true, nil
}

// orderByID returns an order, locked when lock is set; fault.NotFound if none.
func orderByID(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (Order, error) {
	var o Order
	query := `SELECT ` + orderColumns + ` FROM orders WHERE id = $1`
	if lock {
		query += ` FOR NO KEY UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &o, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fault.Errorf(fault.NotFound, "There is no order %d.", id)
	}
	if err != nil {
		return o, fmt.Errorf("commerce: order %d: %w", id, err)
	}
	return o, nil
}

// orderByExternal returns the order of (source, externalID); fault.NotFound
// if there is none.
func orderByExternal(ctx context.Context, q sqlx.QueryerContext, source, externalID string) (Order, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `SELECT `+orderColumns+` FROM orders
		WHERE source = $1 AND external_id = $2`, source, externalID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fault.Errorf(fault.NotFound, "There is no order %s from %s.", externalID, source)
	}
	if err != nil {
		return o, fmt.Errorf("commerce: order %s/%s: %w", source, externalID, err)
	}
	return o, nil
}

// insertOrder creates the order unless a concurrent request created it
// first; then it returns false and the caller reads that one.
func insertOrder(ctx context.Context, q sqlx.QueryerContext, d orderData, customerID int64, hash []byte) (Order, bool, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `
		INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor,
		                    discount_minor, shipping_minor, tax_minor, total_minor, discount_codes,
		                    payment_reference, content_hash, shipping_address, payment_fingerprint,
		                    referral_code, device_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (source, external_id) DO NOTHING
		RETURNING `+orderColumns,
		d.Source, d.ExternalID, d.Number, customerID, d.PlacedAt, d.Currency, d.Subtotal,
		d.Discount, d.Shipping, d.Tax, d.Total, pq.Array(d.DiscountCodes), d.PaymentReference, hash,
		d.ShippingAddress, d.PaymentFingerprint, d.ReferralCode, d.DeviceID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("commerce: insert order %s/%s: %w", d.Source, d.ExternalID, err)
	}
	return o, true, nil
}

// updateOrder writes the store's new content; a refunded order's status
// follows its new total (the caller made sure refunds still fit in it).
func updateOrder(ctx context.Context, q sqlx.QueryerContext, id int64, d orderData, customerID int64, hash []byte) (Order, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `
		UPDATE orders SET number = $2, customer_id = $3, placed_at = $4, currency = $5, subtotal_minor = $6,
		       discount_minor = $7, shipping_minor = $8, tax_minor = $9, total_minor = $10,
		       discount_codes = $11, payment_reference = $12, content_hash = $13,
		       shipping_address = $14, payment_fingerprint = $15, referral_code = $16, device_id = $17,
		       status = CASE WHEN status IN ('refunded', 'partially_refunded')
		                     THEN CASE WHEN refunded_minor = $10 THEN 'refunded' ELSE 'partially_refunded' END
		                     ELSE status END,
		       updated_at = now()
		WHERE id = $1
		RETURNING `+orderColumns,
		id, d.Number, customerID, d.PlacedAt, d.Currency, d.Subtotal, d.Discount, d.Shipping, d.Tax,
		d.Total, pq.Array(d.DiscountCodes), d.PaymentReference, hash,
		d.ShippingAddress, d.PaymentFingerprint, d.ReferralCode, d.DeviceID)
	if err != nil {
		return o, fmt.Errorf("commerce: update order %d: %w", id, err)
	}
	return o, nil
}

// putOrderItems makes the order's lines those of items (line_no = index+1),
// linking each to the product of its SKU when there is one. Lines beyond the
// new count are deleted unless a shipment holds them: what was shipped stays
// on record.
func putOrderItems(ctx context.Context, q sqlx.ExtContext, orderID int64, items []itemData) error {
	n := len(items)
	lineNos, skus, titles, qtys, prices := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, it := range items {
		lineNos[i], skus[i], titles[i], qtys[i], prices[i] = int64(i+1), it.SKU, it.Title, int64(it.Quantity), it.UnitPrice
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO order_items (order_id, line_no, sku, product_id, title, quantity, unit_price_minor)
		SELECT $1, i.line_no, i.sku, p.id, i.title, i.quantity, i.unit_price
		FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::bigint[])
		     AS i (line_no, sku, title, quantity, unit_price)
		LEFT JOIN products p ON p.sku = i.sku
		ON CONFLICT (order_id, line_no) DO UPDATE
		SET sku = EXCLUDED.sku, product_id = EXCLUDED.product_id, title = EXCLUDED.title,
		    quantity = EXCLUDED.quantity, unit_price_minor = EXCLUDED.unit_price_minor`,
		orderID, pq.Array(lineNos), pq.Array(skus), pq.Array(titles), pq.Array(qtys), pq.Array(prices))
	if err != nil {
		return fmt.Errorf("commerce: put items of order %d: %w", orderID, err)
	}
	_, err = q.ExecContext(ctx, `
		DELETE FROM order_items oi WHERE oi.order_id = $1 AND oi.line_no > $2
		AND NOT EXISTS (SELECT 1 FROM shipment_items si WHERE si.order_item_id = oi.id)`, orderID, n)
	if err != nil {
		return fmt.Errorf("commerce: trim items of order %d: %w", orderID, err)
	}
	return nil
}

const orderItemColumns = `id, order_id, line_no, sku, product_id, title, quantity, unit_price_minor`

// insertOrderItems writes the lines of a new order and returns them in
// line order.
func insertOrderItems(ctx context.Context, q sqlx.QueryerContext, orderID int64, items []itemData) ([]OrderItem, error) {
	n := len(items)
	lineNos, skus, titles, qtys, prices := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, it := range items {
		lineNos[i], skus[i], titles[i], qtys[i], prices[i] = int64(i+1), it.SKU, it.Title, int64(it.Quantity), it.UnitPrice
	}
	out := make([]OrderItem, 0, n)
	err := sqlx.SelectContext(ctx, q, &out, `
		INSERT INTO order_items (order_id, line_no, sku, product_id, title, quantity, unit_price_minor)
		SELECT $1, i.line_no, i.sku, p.id, i.title, i.quantity, i.unit_price
		FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::bigint[])
		     AS i (line_no, sku, title, quantity, unit_price)
		LEFT JOIN products p ON p.sku = i.sku
		RETURNING `+orderItemColumns,
		orderID, pq.Array(lineNos), pq.Array(skus), pq.Array(titles), pq.Array(qtys), pq.Array(prices))
	if err != nil {
		return nil, fmt.Errorf("commerce: insert items of order %d: %w", orderID, err)
	}
	// RETURNING follows no ORDER BY; a read-back lists lines in order.
	slices.SortFunc(out, func(a, b OrderItem) int { return a.LineNo - b.LineNo })
	return out, nil
}

func orderItems(ctx context.Context, q sqlx.QueryerContext, orderID int64) ([]OrderItem, error) {
	items := []OrderItem{}
	err := sqlx.SelectContext(ctx, q, &items, `SELECT `+orderItemColumns+` FROM order_items
		WHERE order_id = $1 ORDER BY line_no`, orderID)
	if err != nil {
		return nil, fmt.Errorf("commerce: items of order %d: %w", orderID, err)
	}
	return items, nil
}

// shippedByLine returns, per line number, the quantity already in shipments.
func shippedByLine(ctx context.Context, q sqlx.QueryerContext, orderID int64) (map[int]int, error) {
	var rows []struct {
		LineNo   int `db:"line_no"`
		Quantity int `db:"quantity"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT oi.line_no, sum(si.quantity)::int AS quantity
		FROM shipment_items si JOIN order_items oi ON oi.id = si.order_item_id
		WHERE oi.order_id = $1 GROUP BY oi.line_no`, orderID)
	if err != nil {
		return nil, fmt.Errorf("commerce: shipped quantities of order %d: %w", orderID, err)
	}
	m := make(map[int]int, len(rows))
	for _, r := range rows {
		m[r.LineNo] = r.Quantity
	}
	return m, nil
}

// orderCustomer returns the buyer of an order, to address its emails.
func orderCustomer(ctx context.Context, q sqlx.QueryerContext, orderID int64) (Customer, error) {
	var c Customer
	err := sqlx.GetContext(ctx, q, &c, `SELECT c.id, c.email, c.name, c.created_at, c.updated_at
		FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.id = $1`, orderID)
	if err != nil {
		return c, fmt.Errorf("commerce: customer of order %d: %w", orderID, err)
	}
	return c, nil
}
