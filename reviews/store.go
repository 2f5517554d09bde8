package reviews

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

const reviewColumns = `r.id, r.order_item_id, r.order_id, r.customer_id, r.sku, r.rating, r.title, r.body, r.author_name,
	r.status, r.reject_reason, r.reply_body, r.reply_at, r.published_at, r.created_at, r.updated_at`

// ErrItemNotFound is what a shopper sees for an order line that is not
// theirs, or does not exist: the same answer.
var ErrItemNotFound = fault.Errorf(fault.NotFound, "We could not find that item in your orders.")

// Item is an order line that its buyer may review.
type Item struct {
	ID          int64   `db:"id"`
	OrderID     int64   `db:"order_id"`
	OrderNumber string  `db:"number"`
	OrderStatus string  `db:"status"`
	SKU         string  `db:"sku"`
	Title       string  `db:"title"`
	ImageURL    string  `db:"image_url"`
	BuyerName   string  `db:"name"`
	Review      *Review `db:"-"`
}

// itemOf returns order line itemID when it belongs to customerID, with its
// review; with lock, the line is locked for the rest of tx q.
func itemOf(ctx context.Context, q sqlx.QueryerContext, customerID, itemID int64, lock bool) (Item, error) {
	query := `SELECT i.id, i.order_id, o.number, o.status, i.sku, i.title, COALESCE(p.image_url, '') AS image_url, c.name
		FROM order_items i JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id
		LEFT JOIN products p ON p.id = i.product_id
		WHERE i.id = $1 AND o.customer_id = $2`
	if lock {
		query += ` FOR UPDATE OF i`
	}
	var it Item
	err := sqlx.GetContext(ctx, q, &it, query, itemID, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return it, ErrItemNotFound
	}
	if err != nil {
		return it, fmt.Errorf("reviews: item %d: %w", itemID, err)
	}
	r, ok, err := reviewOfItem(ctx, q, itemID)
	if err != nil {
		return it, err
	}
	if ok {
		it.Review = &r
	}
	return it, nil
}

func reviewOfItem(ctx context.Context, q sqlx.QueryerContext, itemID int64) (Review, bool, error) {
	var r Review
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+reviewColumns+` FROM reviews r WHERE r.order_item_id = $1`, itemID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("reviews: review of item %d: %w", itemID, err)
	}
	return r, true, nil
}

// itemsOfOrder returns the lines of an order of customerID with their reviews.
func itemsOfOrder(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64) ([]Item, error) {
	var items []Item
	err := acdb.Select(ctx, q, &items, `SELECT i.id, i.order_id, o.number, o.status, i.sku, i.title,
		COALESCE(p.image_url, '') AS image_url, c.name
		FROM order_items i JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id
		LEFT JOIN products p ON p.id = i.product_id
		WHERE o.id = $1 AND o.customer_id = $2 ORDER BY i.line_no`, orderID, customerID)
	if err != nil {
		return nil, fmt.Errorf("reviews: items of order %d: %w", orderID, err)
	}
	var rs []Review
	err = acdb.Select(ctx, q, &rs, `SELECT `+reviewColumns+` FROM reviews r WHERE r.order_id = $1 AND r.customer_id = $2`, orderID, customerID)
	if err != nil {
		return nil, fmt.Errorf("reviews: reviews of order %d: %w", orderID, err)
	}
	for i := range items {
		for j := range rs {
			if rs[j].OrderItemID == items[i].ID {
				items[i].Review = &rs[j]
			}
		}
	}
	return items, nil
}

func insertReview(ctx context.Context, tx *sqlx.Tx, r Review) (Review, error) {
	var out Review
	err := tx.GetContext(ctx, &out, `INSERT INTO reviews AS r (order_item_id, order_id, customer_id, sku, rating, title, body, author_name,
		status, published_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
		RETURNING `+reviewColumns, r.OrderItemID, r.OrderID, r.CustomerID, r.SKU, r.Rating, r.Title, r.Body, r.AuthorName,
		r.Status, r.PublishedAt, r.CreatedAt)
	if err != nil {
		return out, fmt.Errorf("reviews: insert review of item %d: %w", r.OrderItemID, err)
	}
	return out, nil
}

func updateReview(ctx context.Context, tx *sqlx.Tx, r Review) (Review, error) {
	var out Review
	err := tx.GetContext(ctx, &out, `UPDATE reviews AS r SET rating = $2, title = $3, body = $4, status = $5, published_at = $6,
		reject_reason = NULL, moderated_by = NULL, updated_at = $7
		WHERE id = $1 RETURNING `+reviewColumns, r.ID, r.Rating, r.Title, r.Body, r.Status, r.PublishedAt, r.UpdatedAt)
	if err != nil {
		return out, fmt.Errorf("reviews: update review %d: %w", r.ID, err)
	}
	return out, nil
}

// Entry is a review on the staff's moderation pages.
type Entry struct {
	Review
	ProductTitle string `db:"product_title"`
	Email        string `db:"email"`
	OrderNumber  string `db:"number"`
}

func lockEntry(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (Entry, error) {
	query := `SELECT ` + reviewColumns + `, i.title AS product_title, c.email, o.number
		FROM reviews r JOIN order_items i ON i.id = r.order_item_id JOIN customers c ON c.id = r.customer_id
		JOIN orders o ON o.id = r.order_id WHERE r.id = $1`
	if lock {
		query += ` FOR UPDATE OF r`
	}
	var e Entry
	err := sqlx.GetContext(ctx, q, &e, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fault.Errorf(fault.NotFound, "There is no review %d.", id)
	}
	if err != nil {
		return e, fmt.Errorf("reviews: review %d: %w", id, err)
	}
	return e, nil
}

func listEntries(ctx context.Context, q sqlx.QueryerContext, status string, limit, offset int) ([]Entry, error) {
	order := `r.created_at, r.id` // the queue: oldest first
	if status != StatusPending {
		order = `r.updated_at DESC, r.id DESC`
	}
	var out []Entry
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+reviewColumns+`, i.title AS product_title, c.email, o.number
		FROM reviews r JOIN order_items i ON i.id = r.order_item_id JOIN customers c ON c.id = r.customer_id
		JOIN orders o ON o.id = r.order_id WHERE r.status = $1 ORDER BY `+order+` LIMIT $2 OFFSET $3`, status, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("reviews: list %s: %w", status, err)
	}
	return out, nil
}

func countByStatus(ctx context.Context, q sqlx.QueryerContext) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT status, count(*) AS n FROM reviews GROUP BY status`); err != nil {
		return nil, fmt.Errorf("reviews: count: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

func setModeration(ctx context.Context, tx *sqlx.Tx, id int64, status string, reason *string, staffID int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE reviews SET status = $2, reject_reason = $3, moderated_by = $4,
		published_at = CASE WHEN $2 = 'published' THEN COALESCE(published_at, $5) ELSE NULL END, updated_at = $5
		WHERE id = $1`, id, status, reason, staffID, at)
	if err != nil {
		return fmt.Errorf("reviews: moderate review %d: %w", id, err)
	}
	return nil
}

func setReply(ctx context.Context, tx *sqlx.Tx, id int64, body string, staffID int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE reviews SET reply_body = $2, reply_by = $3, reply_at = CASE WHEN $2 = '' THEN NULL ELSE $4::timestamptz END,
		updated_at = $4 WHERE id = $1`, id, body, staffID, at)
	if err != nil {
		return fmt.Errorf("reviews: reply to review %d: %w", id, err)
	}
	return nil
}

// publishOverdue publishes pending reviews created before cutoff.
func publishOverdue(ctx context.Context, q sqlx.ExecerContext, cutoff, now time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE reviews SET status = 'published', published_at = $2, updated_at = $2
		WHERE status = 'pending' AND created_at < $1`, cutoff, now)
	if err != nil {
		return 0, fmt.Errorf("reviews: publish overdue: %w", err)
	}
	return res.RowsAffected()
}

// Summary is the published reviews of a product in numbers.
type Summary struct {
	Count   int     `db:"count" json:"count"`
	Average float64 `db:"average" json:"average"`
	// Histogram counts reviews by stars: Histogram[4] is five stars.
	Histogram [5]int `db:"-" json:"-"`
}

func summary(ctx context.Context, q sqlx.QueryerContext, sku string) (Summary, error) {
	var rows []struct {
		Rating int `db:"rating"`
		N      int `db:"n"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT rating, count(*) AS n FROM reviews WHERE sku = $1 AND status = 'published' GROUP BY rating`, sku)
	if err != nil {
		return Summary{}, fmt.Errorf("reviews: summary of %q: %w", sku, err)
	}
	var s Summary
	total := 0
	for _, r := range rows {
		s.Histogram[r.Rating-1] = r.N
		s.Count += r.N
		total += r.Rating * r.N
	}
	if s.Count > 0 {
		s.Average = float64(int(float64(total)/float64(s.Count)*10+0.5)) / 10
	}
	return s, nil
}

func published(ctx context.Context, q sqlx.QueryerContext, sku string, limit, offset int) ([]Review, error) {
	var out []Review
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+reviewColumns+` FROM reviews r
		WHERE r.sku = $1 AND r.status = 'published' ORDER BY r.published_at DESC, r.id DESC LIMIT $2 OFFSET $3`, sku, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("reviews: published reviews of %q: %w", sku, err)
	}
	return out, nil
}
