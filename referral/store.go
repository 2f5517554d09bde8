package referral

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Referral is a friend's claim of a referrer's offer, or an order
// attributed through the store's referral field; it converts once.
type Referral struct {
	ID                    int64      `db:"id"`
	CodeID                int64      `db:"code_id"`
	ReferrerID            int64      `db:"referrer_id"`
	Source                string     `db:"source"`
	FriendEmail           string     `db:"friend_email"`
	FriendEmailNorm       string     `db:"friend_email_norm"`
	DeviceID              string     `db:"device_id"`
	PromotionCode         *string    `db:"promotion_code"`
	StripePromotionCodeID string     `db:"stripe_promotion_code_id"`
	OfferExpiresAt        *time.Time `db:"offer_expires_at"`
	Status                string     `db:"status"`
	FriendCustomerID      *int64     `db:"friend_customer_id"`
	OrderID               *int64     `db:"order_id"`
	ConvertedAt           *time.Time `db:"converted_at"`
	CreatedAt             time.Time  `db:"created_at"`
	UpdatedAt             time.Time  `db:"updated_at"`
}

// Referral statuses; what happens after conversion is the reward's status.
const (
	Invited   = "invited"
	Converted = "converted"
)

// Code returns the friend's promotion code, or "".
func (r Referral) Code() string {
	if r.PromotionCode == nil {
		return ""
	}
	return *r.PromotionCode
}

const referralColumns = `id, code_id, referrer_id, source, friend_email, friend_email_norm, device_id, promotion_code,
	stripe_promotion_code_id, offer_expires_at, status, friend_customer_id, order_id, converted_at, created_at, updated_at`

func referralsWhere(ctx context.Context, q sqlx.QueryerContext, cond string, args ...any) ([]Referral, error) {
	var rs []Referral
	err := sqlx.SelectContext(ctx, q, &rs, `SELECT `+referralColumns+` FROM referrals WHERE `+cond+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("referral: referrals: %w", err)
	}
	return rs, nil
}

func referralByID(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (Referral, bool, error) {
	var r Referral
	query := `SELECT ` + referralColumns + ` FROM referrals WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &r, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("referral: referral %d: %w", id, err)
	}
	return r, true, nil
}

// upsertClaim records a friend's claim of a code, or returns the one the
// friend made before (keeping its code and expiry); a first device id sticks.
func upsertClaim(ctx context.Context, tx *sqlx.Tx, r Referral) (Referral, error) {
	var out Referral
	err := tx.GetContext(ctx, &out, `INSERT INTO referrals (code_id, referrer_id, source, friend_email, friend_email_norm, device_id,
			promotion_code, offer_expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (code_id, friend_email_norm) DO UPDATE
		SET device_id = CASE WHEN referrals.device_id = '' THEN EXCLUDED.device_id ELSE referrals.device_id END
		RETURNING `+referralColumns,
		r.CodeID, r.ReferrerID, r.Source, r.FriendEmail, r.FriendEmailNorm, r.DeviceID, r.PromotionCode, r.OfferExpiresAt, r.CreatedAt)
	if err != nil {
		return out, fmt.Errorf("referral: record claim: %w", err)
	}
	return out, nil
}

// recordVisit notes a visit of a share link by a device, at most once an
// hour per device and code, so reloads and bots do not swell the funnel.
func recordVisit(ctx context.Context, q sqlx.ExecerContext, codeID int64, deviceID string, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO referral_visits (code_id, device_id, created_at)
		SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM referral_codes WHERE id = $1) AND NOT EXISTS (
			SELECT 1 FROM referral_visits WHERE code_id = $1 AND device_id = $2 AND created_at > $3::timestamptz - interval '1 hour')`,
		codeID, deviceID, now)
	if err != nil {
		return fmt.Errorf("referral: record visit: %w", err)
	}
	return nil
}

// firstVisit is when a device first opened a code's link since a time.
func firstVisit(ctx context.Context, q sqlx.QueryerContext, codeID int64, deviceID string, since time.Time) (time.Time, bool, error) {
	var at sql.NullTime
	err := sqlx.GetContext(ctx, q, &at, `SELECT min(created_at) FROM referral_visits WHERE code_id = $1 AND device_id = $2 AND created_at >= $3`,
		codeID, deviceID, since)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("referral: visits: %w", err)
	}
	return at.Time, at.Valid, nil
}

// hasEarlierOrder reports whether the customer placed an order before this
// one (by placed time, then id): only a friend's first order converts.
func hasEarlierOrder(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64, placedAt time.Time) (bool, error) {
	var yes bool
	err := sqlx.GetContext(ctx, q, &yes, `SELECT EXISTS (SELECT 1 FROM orders WHERE customer_id = $1 AND id <> $2
		AND (placed_at, id) < ($3, $2))`, customerID, orderID, placedAt)
	if err != nil {
		return false, fmt.Errorf("referral: earlier orders of %d: %w", customerID, err)
	}
	return yes, nil
}

// convert marks a referral converted by a friend's order.
func convert(ctx context.Context, tx *sqlx.Tx, id, friendID, orderID int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE referrals SET status = 'converted', friend_customer_id = $2, order_id = $3, converted_at = $4,
		updated_at = now() WHERE id = $1 AND status = 'invited'`, id, friendID, orderID, at)
	if err != nil {
		return fmt.Errorf("referral: convert %d: %w", id, err)
	}
	return nil
}

// claimsByPromotionCode finds open claims whose code is among codes.
func claimsByPromotionCode(ctx context.Context, q sqlx.QueryerContext, codes []string) ([]Referral, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	return referralsWhere(ctx, q, `status = 'invited' AND promotion_code = ANY($1)`, pq.Array(codes))
}

func customerNameEmail(ctx context.Context, q sqlx.QueryerContext, id int64) (name, email string, err error) {
	var c struct {
		Name  string `db:"name"`
		Email string `db:"email"`
	}
	if err := sqlx.GetContext(ctx, q, &c, `SELECT name, email FROM customers WHERE id = $1`, id); err != nil {
		return "", "", fmt.Errorf("referral: customer %d: %w", id, err)
	}
	return c.Name, c.Email, nil
}
