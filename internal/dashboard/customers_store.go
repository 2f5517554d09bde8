package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// CustomerHit is one row of the customer search.
type CustomerHit struct {
	ID        int64     `db:"id"`
	Email     string    `db:"email"`
	Name      string    `db:"name"`
	Orders    int64     `db:"orders"`
	CreatedAt time.Time `db:"created_at"`
}

// likePattern escapes LIKE's wildcards so a search for "50%" means that text.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

func searchCustomers(ctx context.Context, q sqlx.QueryerContext, text string) ([]CustomerHit, error) {
	var hits []CustomerHit
	err := sqlx.SelectContext(ctx, q, &hits, `
SELECT c.id, c.email, c.name, c.created_at,
       (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS orders
FROM customers c
WHERE c.email ILIKE $1 OR c.name ILIKE $1
   OR c.id IN (SELECT customer_id FROM orders WHERE number = $2 OR number = '#' || $2 OR external_id = $2)
ORDER BY c.id DESC LIMIT 50`, likePattern(text), strings.TrimPrefix(text, "#"))
	if err != nil {
		return nil, fmt.Errorf("dashboard: search customers: %w", err)
	}
	return hits, nil
}

// Customer is everything the customer page shows.
type Customer struct {
	ID           int64     `db:"id"`
	Email        string    `db:"email"`
	Name         string    `db:"name"`
	Consent      bool      `db:"marketing_consent"`
	Unsubscribed bool      `db:"unsubscribed"`
	CreatedAt    time.Time `db:"created_at"`
	ReferralCode string    `db:"referral_code"`
	Orders       []CustomerOrder
	Shipments    []CustomerShipment
	Returns      []CustomerReturn
	Reviews      []CustomerReview
	Referrals    []CustomerReferral
	Rewards      []CustomerReward
	Emails       []CustomerEmail
	Erased       bool
}

// CustomerOrder is one order of the customer page.
type CustomerOrder struct {
	ID       int64     `db:"id"`
	Number   string    `db:"number"`
	PlacedAt time.Time `db:"placed_at"`
	Currency string    `db:"currency"`
	Total    int64     `db:"total_minor"`
	Refunded int64     `db:"refunded_minor"`
	Status   string    `db:"status"`
}

// CustomerShipment is one shipment of the customer's orders.
type CustomerShipment struct {
	Number   string `db:"number"`
	Carrier  string `db:"carrier"`
	Tracking string `db:"tracking_number"`
	Status   string `db:"status"`
}

// CustomerReturn is one return request.
type CustomerReturn struct {
	ID        int64     `db:"id"`
	RMA       string    `db:"rma"`
	Status    string    `db:"status"`
	Currency  string    `db:"currency"`
	Value     int64     `db:"value_minor"`
	CreatedAt time.Time `db:"created_at"`
}

// CustomerReview is one review.
type CustomerReview struct {
	SKU    string `db:"sku"`
	Rating int    `db:"rating"`
	Title  string `db:"title"`
	Status string `db:"status"`
}

// CustomerReferral is one friend the customer referred.
type CustomerReferral struct {
	FriendEmail string    `db:"friend_email"`
	Status      string    `db:"status"`
	CreatedAt   time.Time `db:"created_at"`
}

// CustomerReward is one reward of the customer.
type CustomerReward struct {
	Kind     string `db:"kind"`
	Status   string `db:"status"`
	Type     string `db:"reward_type"`
	Percent  int    `db:"percent"`
	Amount   int64  `db:"amount_minor"`
	Currency string `db:"currency"`
}

// CustomerEmail is one message of the outbox sent to the customer.
type CustomerEmail struct {
	ID        int64     `db:"id"`
	Kind      string    `db:"kind"`
	To        string    `db:"to_address"`
	Subject   string    `db:"subject"`
	Status    string    `db:"status"`
	CreatedAt time.Time `db:"created_at"`
}

func loadCustomer(ctx context.Context, q sqlx.QueryerContext, id int64) (Customer, error) {
	var c Customer
	err := sqlx.GetContext(ctx, q, &c, `
SELECT c.id, c.email, c.name, c.marketing_consent, c.unsubscribed_at IS NOT NULL AS unsubscribed, c.created_at,
       coalesce((SELECT code FROM referral_codes WHERE customer_id = c.id), '') AS referral_code
FROM customers c WHERE c.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fault.Errorf(fault.NotFound, "There is no such customer.")
	}
	if err != nil {
		return c, fmt.Errorf("dashboard: customer %d: %w", id, err)
	}
	lists := []struct {
		dest  any
		query string
	}{
		{&c.Orders, `SELECT id, number, placed_at, currency, total_minor, refunded_minor, status FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC LIMIT 200`},
		{&c.Shipments, `SELECT o.number, s.carrier, s.tracking_number, s.status FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.customer_id = $1 ORDER BY s.id DESC LIMIT 200`},
		{&c.Returns, `SELECT id, rma, status, currency, value_minor, created_at FROM return_requests WHERE customer_id = $1 ORDER BY id DESC LIMIT 200`},
		{&c.Reviews, `SELECT sku, rating, title, status FROM reviews WHERE customer_id = $1 ORDER BY id DESC LIMIT 200`},
		{&c.Referrals, `SELECT friend_email, status, created_at FROM referrals WHERE referrer_id = $1 ORDER BY id DESC LIMIT 200`},
		{&c.Rewards, `SELECT kind, status, reward_type, percent, amount_minor, currency FROM rewards WHERE customer_id = $1 ORDER BY id DESC LIMIT 200`},
		{&c.Emails, `SELECT id, kind, to_address, subject, status, created_at FROM messages WHERE customer_id = $1 ORDER BY id DESC LIMIT 200`},
	}
	for _, l := range lists {
		if err := sqlx.SelectContext(ctx, q, l.dest, l.query, id); err != nil {
			return c, fmt.Errorf("dashboard: customer %d: %w", id, err)
		}
	}
	c.Erased = strings.HasPrefix(c.Email, "erased+") && strings.HasSuffix(c.Email, "@invalid")
	return c, nil
}
