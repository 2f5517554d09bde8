package commerce

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The set-wise writes of a batch (UpsertOrders). Each statement takes its
// rows as parallel arrays, unnested in SQL: one round trip per table for
// the whole batch instead of one per order.

// lockOrdersByKeys returns the stored orders among keys (id, key, content
// hash, currency and refunded amount: what a batch decides on), locked
// until the transaction ends, in key order so that two batches over the
// same orders wait for each other instead of deadlocking.
func lockOrdersByKeys(ctx context.Context, q sqlx.QueryerContext, keys []orderKey) (map[orderKey]Order, error) {
	sources, externalIDs := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		sources[i], externalIDs[i] = k.source, k.externalID
	}
	var rows []Order
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT o.id, o.source, o.external_id, o.content_hash, o.currency, o.refunded_minor
		FROM orders o JOIN unnest($1::text[], $2::text[]) AS k (source, external_id)
		     ON o.source = k.source AND o.external_id = k.external_id
		ORDER BY o.source, o.external_id
		FOR NO KEY UPDATE OF o`, pq.Array(sources), pq.Array(externalIDs))
	if err != nil {
		return nil, fmt.Errorf("commerce: lock %d orders: %w", len(keys), err)
	}
	m := make(map[orderKey]Order, len(rows))
	for _, o := range rows {
		m[orderKey{o.Source, o.ExternalID}] = o
	}
	return m, nil
}

// lockCustomersByEmail locks the stored customers among emails until the
// transaction ends, in email order.
func lockCustomersByEmail(ctx context.Context, q sqlx.ExecerContext, emails []string) error {
	_, err := q.ExecContext(ctx, `
		SELECT 1 FROM customers WHERE email = ANY($1::text[])
		ORDER BY email FOR NO KEY UPDATE`, pq.Array(emails))
	if err != nil {
		return fmt.Errorf("commerce: lock %d customers: %w", len(emails), err)
	}
	return nil
}

// shippedByOrders returns, per order and line number, the quantity already
// in shipments.
func shippedByOrders(ctx context.Context, q sqlx.QueryerContext, orderIDs []int64) (map[int64]map[int]int, error) {
	var rows []struct {
		OrderID  int64 `db:"order_id"`
		LineNo   int   `db:"line_no"`
		Quantity int   `db:"quantity"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT oi.order_id, oi.line_no, sum(si.quantity)::int AS quantity
		FROM shipment_items si JOIN order_items oi ON oi.id = si.order_item_id
		WHERE oi.order_id = ANY($1::bigint[]) GROUP BY oi.order_id, oi.line_no`, pq.Array(orderIDs))
	if err != nil {
		return nil, fmt.Errorf("commerce: shipped quantities of %d orders: %w", len(orderIDs), err)
	}
	m := map[int64]map[int]int{}
	for _, r := range rows {
		if m[r.OrderID] == nil {
			m[r.OrderID] = map[int]int{}
		}
		m[r.OrderID][r.LineNo] = r.Quantity
	}
	return m, nil
}

// upsertCustomers finds or creates the customer of each fold and leaves it
// as upsertCustomer would after each of the fold's writes, in key order of
// email (for the lock order). It returns the customer ids by email.
//
// ON CONFLICT DO UPDATE sees only the proposed row, which cannot say
// "no consent sent" (the column is NOT NULL), so each email's consent and
// whether updated_at may stay travel in a JSON object keyed by email,
// built once per statement: "true" or "false" (consent sent), "keep" (no
// consent, at most one distinct name) or "touch".
func upsertCustomers(ctx context.Context, q sqlx.QueryerContext, folds []customerFold) (map[string]int64, error) {
	emails, names, flags := make([]string, len(folds)), make([]string, len(folds)), make([]string, len(folds))
	for i, f := range folds {
		emails[i], names[i] = f.email, f.name
		switch {
		case f.consent != nil:
			flags[i] = fmt.Sprint(*f.consent)
		case f.sameNames:
			flags[i] = "keep"
		default:
			flags[i] = "touch"
		}
	}
	var rows []struct {
		ID    int64  `db:"id"`
		Email string `db:"email"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		WITH flag AS (
			SELECT jsonb_object_agg(f.email, f.flag) AS by_email
			FROM unnest($1::text[], $3::text[]) AS f (email, flag)
		)
		INSERT INTO customers (email, name, marketing_consent)
		SELECT u.email, u.name, u.flag = 'true'
		FROM unnest($1::text[], $2::text[], $3::text[]) AS u (email, name, flag)
		ORDER BY u.email
		ON CONFLICT (email) DO UPDATE
		SET name = CASE WHEN EXCLUDED.name = '' THEN customers.name ELSE EXCLUDED.name END,
		    marketing_consent = CASE (SELECT by_email ->> EXCLUDED.email FROM flag)
		                        WHEN 'true' THEN true WHEN 'false' THEN false
		                        ELSE customers.marketing_consent END,
		    updated_at = CASE WHEN (SELECT by_email ->> EXCLUDED.email FROM flag) = 'keep'
		                           AND EXCLUDED.name IN ('', customers.name)
		                      THEN customers.updated_at ELSE now() END
		RETURNING id, email`, pq.Array(emails), pq.Array(names), pq.Array(flags))
	if err != nil {
		return nil, fmt.Errorf("commerce: upsert %d customers: %w", len(folds), err)
	}
	if len(rows) != len(folds) {
		return nil, fmt.Errorf("commerce: upsert %d customers returned %d", len(folds), len(rows))
	}
	m := make(map[string]int64, len(rows))
	for _, r := range rows {
		m[r.Email] = r.ID
	}
	return m, nil
}

// orderRow is an order to insert (id 0) or update.
type orderRow struct {
	id         int64
	d          orderData
	hash       []byte
	customerID int64
}

// orderArrays are the columns of rows as parallel arrays, $1 to $16 of
// orderUnnest.
func orderArrays(rows []orderRow) []any {
	n := len(rows)
	var (
		number, placed, currency, codes, payRef, addr, fingerprint, referral, device = make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n)
		customer, subtotal, discount, shipping, tax, total = make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		hashes = make([][]byte, n)
	)
	for i, r := range rows {
		d := r.d
		number[i], customer[i], placed[i], currency[i] = d.Number, r.customerID, d.PlacedAt.UTC().Format(time.RFC3339Nano), d.Currency
		subtotal[i], discount[i], shipping[i], tax[i], total[i] = d.Subtotal, d.Discount, d.Shipping, d.Tax, d.Total
		// Each order's codes travel as a text[] literal, cast back in SQL:
		// an array of arrays must be rectangular.
		codes[i] = "{}"
		if lit, _ := pq.StringArray(d.DiscountCodes).Value(); lit != nil {
			codes[i] = lit.(string)
		}
		payRef[i], hashes[i] = d.PaymentReference, r.hash
		// "" stands for no address (NULL): an address is a JSON object.
		if d.ShippingAddress != nil {
			v, _ := d.ShippingAddress.Value() // json.Marshal of plain strings cannot fail
			addr[i] = v.(string)
		}
		fingerprint[i], referral[i], device[i] = d.PaymentFingerprint, d.ReferralCode, d.DeviceID
	}
	return []any{pq.Array(number), pq.Array(customer), pq.Array(placed), pq.Array(currency),
		pq.Array(subtotal), pq.Array(discount), pq.Array(shipping), pq.Array(tax), pq.Array(total),
		pq.Array(codes), pq.Array(payRef), pq.ByteaArray(hashes), pq.Array(addr),
		pq.Array(fingerprint), pq.Array(referral), pq.Array(device)}
}

// orderUnnest is the FROM item "u" of the columns of orderArrays, followed
// by the key columns of the statement ($17 on), given as "name type".
func orderUnnest(keys ...[2]string) string {
	arrays := `$1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[],
		$7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bytea[], $13::text[],
		$14::text[], $15::text[], $16::text[]`
	cols := `number, customer_id, placed_at, currency, subtotal, discount, shipping, tax, total,
		discount_codes, payment_reference, content_hash, shipping_address, payment_fingerprint,
		referral_code, device_id`
	for i, k := range keys {
		arrays += fmt.Sprintf(", $%d::%s[]", 17+i, k[1])
		cols += ", " + k[0]
	}
	return "unnest(" + arrays + ") AS u (" + cols + ")"
}

// insertOrders creates the orders of rows, in key order, and returns the
// ids of those it created by key; an order a concurrent request created
// first is left out.
func insertOrders(ctx context.Context, q sqlx.QueryerContext, rows []orderRow) (map[orderKey]int64, error) {
	if len(rows) == 0 {
		return map[orderKey]int64{}, nil
	}
	sources, externalIDs := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		sources[i], externalIDs[i] = r.d.Source, r.d.ExternalID
	}
	args := append(orderArrays(rows), pq.Array(sources), pq.Array(externalIDs))
	var out []struct {
		ID         int64  `db:"id"`
		Source     string `db:"source"`
		ExternalID string `db:"external_id"`
	}
	err := sqlx.SelectContext(ctx, q, &out, `
		INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor,
		                    discount_minor, shipping_minor, tax_minor, total_minor, discount_codes,
		                    payment_reference, content_hash, shipping_address, payment_fingerprint,
		                    referral_code, device_id)
		SELECT u.source, u.external_id, u.number, u.customer_id, u.placed_at, u.currency, u.subtotal, u.discount,
		       u.shipping, u.tax, u.total, u.discount_codes::text[], u.payment_reference, u.content_hash,
		       NULLIF(u.shipping_address, '')::jsonb, u.payment_fingerprint, u.referral_code, u.device_id
		FROM `+orderUnnest([2]string{"source", "text"}, [2]string{"external_id", "text"})+`
		ORDER BY u.source, u.external_id
		ON CONFLICT (source, external_id) DO NOTHING
		RETURNING id, source, external_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("commerce: insert %d orders: %w", len(rows), err)
	}
	m := make(map[orderKey]int64, len(out))
	for _, o := range out {
		m[orderKey{o.Source, o.ExternalID}] = o.ID
	}
	return m, nil
}

// updateOrders writes the new content of rows, locked by the caller, like
// updateOrder does for one.
func updateOrders(ctx context.Context, q sqlx.ExecerContext, rows []orderRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	args := append(orderArrays(rows), pq.Array(ids))
	res, err := q.ExecContext(ctx, `
		UPDATE orders o SET number = u.number, customer_id = u.customer_id, placed_at = u.placed_at,
		       currency = u.currency, subtotal_minor = u.subtotal, discount_minor = u.discount,
		       shipping_minor = u.shipping, tax_minor = u.tax, total_minor = u.total,
		       discount_codes = u.discount_codes::text[], payment_reference = u.payment_reference,
		       content_hash = u.content_hash, shipping_address = NULLIF(u.shipping_address, '')::jsonb,
		       payment_fingerprint = u.payment_fingerprint, referral_code = u.referral_code,
		       device_id = u.device_id,
		       status = CASE WHEN o.status IN ('refunded', 'partially_refunded')
		                     THEN CASE WHEN o.refunded_minor = u.total THEN 'refunded' ELSE 'partially_refunded' END
		                     ELSE o.status END,
		       updated_at = now()
		FROM `+orderUnnest([2]string{"id", "bigint"})+`
		WHERE o.id = u.id`, args...)
	if err != nil {
		return fmt.Errorf("commerce: update %d orders: %w", len(rows), err)
	}
	if n, err := res.RowsAffected(); err == nil && n != int64(len(rows)) {
		return fmt.Errorf("commerce: update %d orders changed %d", len(rows), n)
	}
	return nil
}

// itemsOf are the lines an order is to have.
type itemsOf struct {
	orderID int64
	items   []itemData
}

// putBatchItems does putOrderItems for many orders: it writes the lines of
// each of orders, and trims those of each of trims (orders that existed)
// beyond its new count, keeping shipped lines.
func putBatchItems(ctx context.Context, q sqlx.ExecerContext, orders, trims []itemsOf) error {
	var orderIDs, lineNos, qtys, prices []int64
	var skus, titles []string
	for _, o := range orders {
		for i, it := range o.items {
			orderIDs, lineNos, qtys, prices = append(orderIDs, o.orderID), append(lineNos, int64(i+1)),
				append(qtys, int64(it.Quantity)), append(prices, it.UnitPrice)
			skus, titles = append(skus, it.SKU), append(titles, it.Title)
		}
	}
	if len(orderIDs) > 0 {
		_, err := q.ExecContext(ctx, `
			INSERT INTO order_items (order_id, line_no, sku, product_id, title, quantity, unit_price_minor)
			SELECT i.order_id, i.line_no, i.sku, p.id, i.title, i.quantity, i.unit_price
			FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::int[], $6::bigint[])
			     AS i (order_id, line_no, sku, title, quantity, unit_price)
			LEFT JOIN products p ON p.sku = i.sku
			ON CONFLICT (order_id, line_no) DO UPDATE
			SET sku = EXCLUDED.sku, product_id = EXCLUDED.product_id, title = EXCLUDED.title,
			    quantity = EXCLUDED.quantity, unit_price_minor = EXCLUDED.unit_price_minor`,
			pq.Array(orderIDs), pq.Array(lineNos), pq.Array(skus), pq.Array(titles), pq.Array(qtys), pq.Array(prices))
		if err != nil {
			return fmt.Errorf("commerce: put items of %d orders: %w", len(orders), err)
		}
	}
	if len(trims) == 0 {
		return nil
	}
	ids, counts := make([]int64, len(trims)), make([]int64, len(trims))
	for i, t := range trims {
		ids[i], counts[i] = t.orderID, int64(len(t.items))
	}
	_, err := q.ExecContext(ctx, `
		DELETE FROM order_items oi USING unnest($1::bigint[], $2::int[]) AS u (order_id, n)
		WHERE oi.order_id = u.order_id AND oi.line_no > u.n
		AND NOT EXISTS (SELECT 1 FROM shipment_items si WHERE si.order_item_id = oi.id)`,
		pq.Array(ids), pq.Array(counts))
	if err != nil {
		return fmt.Errorf("commerce: trim items of %d orders: %w", len(trims), err)
	}
	return nil
}
