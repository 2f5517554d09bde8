package rewards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/fault"
)

const rewardColumns = `id, customer_id, kind, referral_id, order_id, milestone_no, reward_type, offer_kind, percent,
	amount_minor, currency, minimum_minor, expiry_days, status, signals, payable_at, hold_note, attempts,
	next_attempt_at, last_error, promotion_code, code_expires_at, stripe_customer_id, stripe_coupon_id,
	stripe_promotion_code_id, stripe_balance_txn_id, granted_at, void_reason, voided_at, clawback, clawback_ref,
	created_at, updated_at`

// ErrNotFound is returned for a reward that does not exist.
var ErrNotFound = fault.Errorf(fault.NotFound, "We could not find that reward.")

// rewardByID reads one reward.
func rewardByID(ctx context.Context, q sqlx.QueryerContext, id int64) (Reward, error) {
	var r Reward
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+rewardColumns+` FROM rewards WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("rewards: reward %d: %w", id, err)
	}
	return r, nil
}

// lockReward reads one reward FOR UPDATE; with skipLocked, a row another
// transaction holds reports found=false at once instead of waiting, so a
// second worker moves on rather than doing the same work.
func lockReward(ctx context.Context, tx *sqlx.Tx, id int64, skipLocked bool) (Reward, bool, error) {
	var r Reward
	lock := `FOR UPDATE`
	if skipLocked {
		lock += ` SKIP LOCKED`
	}
	err := tx.GetContext(ctx, &r, `SELECT `+rewardColumns+` FROM rewards WHERE id = $1 `+lock, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("rewards: lock reward %d: %w", id, err)
	}
	return r, true, nil
}

// insertReward writes a new reward and returns it; for a referral that has
// one already (a retried reaction), found=false and nothing is written.
func insertReward(ctx context.Context, tx *sqlx.Tx, r Reward) (Reward, bool, error) {
	var out Reward
	if r.Signals == nil {
		r.Signals = pq.StringArray{}
	}
	conflict := `ON CONFLICT (referral_id) WHERE kind = 'referral' DO NOTHING`
	if r.Kind == KindMilestone {
		conflict = `ON CONFLICT (customer_id, milestone_no) WHERE kind = 'milestone' DO NOTHING`
	}
	err := tx.GetContext(ctx, &out, `INSERT INTO rewards (customer_id, kind, referral_id, order_id, milestone_no, reward_type,
		offer_kind, percent, amount_minor, currency, minimum_minor, expiry_days, status, signals, void_reason, voided_at,
		promotion_code, code_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) `+conflict+`
		RETURNING `+rewardColumns,
		r.CustomerID, r.Kind, r.ReferralID, r.OrderID, r.MilestoneNo, r.RewardType, r.OfferKind, r.Percent, r.AmountMinor,
		r.Currency, r.MinimumMinor, r.ExpiryDays, r.Status, r.Signals, r.VoidReason, r.VoidedAt, r.PromotionCode, r.CodeExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return out, false, nil
	}
	if err != nil {
		return out, false, fmt.Errorf("rewards: insert %s reward: %w", r.Kind, err)
	}
	return out, true, nil
}

// save writes the mutable state of r.
func save(ctx context.Context, tx *sqlx.Tx, r *Reward) error {
	err := tx.GetContext(ctx, &r.UpdatedAt, `UPDATE rewards SET status = $2, signals = $3, payable_at = $4, hold_note = $5,
		attempts = $6, next_attempt_at = $7, last_error = $8, promotion_code = $9, code_expires_at = $10,
		stripe_customer_id = $11, stripe_coupon_id = $12, stripe_promotion_code_id = $13, stripe_balance_txn_id = $14,
		granted_at = $15, void_reason = $16, voided_at = $17, clawback = $18, clawback_ref = $19, updated_at = now()
		WHERE id = $1 RETURNING updated_at`,
		r.ID, r.Status, r.Signals, r.PayableAt, r.HoldNote, r.Attempts, r.NextAttemptAt, r.LastError, r.PromotionCode,
		r.CodeExpiresAt, r.StripeCustomerID, r.StripeCouponID, r.StripePromotionCodeID, r.StripeBalanceTxnID, r.GrantedAt,
		r.VoidReason, r.VoidedAt, r.Clawback, r.ClawbackRef)
	if err != nil {
		return fmt.Errorf("rewards: save reward %d: %w", r.ID, err)
	}
	return nil
}

// record appends a move to the reward's history.
func record(ctx context.Context, tx *sqlx.Tx, id int64, from, to, actor, note string) error {
	if len(note) > 500 {
		note = note[:500]
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO reward_events (reward_id, from_status, to_status, actor, note) VALUES ($1, $2, $3, $4, $5)`,
		id, from, to, actor, note)
	if err != nil {
		return fmt.Errorf("rewards: record reward %d %s -> %s: %w", id, from, to, err)
	}
	return nil
}

// idsWhere lists reward ids matching a fixed condition, oldest first.
func idsWhere(ctx context.Context, q sqlx.QueryerContext, cond string, args ...any) ([]int64, error) {
	var ids []int64
	if err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM rewards WHERE `+cond+` ORDER BY id LIMIT 500`, args...); err != nil {
		return nil, fmt.Errorf("rewards: list: %w", err)
	}
	return ids, nil
}

// Reward returns one reward; ErrNotFound if there is none.
func (s *Service) Reward(ctx context.Context, id int64) (Reward, error) {
	return rewardByID(ctx, s.db, id)
}

// OfCustomer returns a referrer's rewards, newest first.
func (s *Service) OfCustomer(ctx context.Context, customerID int64) ([]Reward, error) {
	var rs []Reward
	err := s.db.SelectContext(ctx, &rs, `SELECT `+rewardColumns+` FROM rewards WHERE customer_id = $1 ORDER BY created_at DESC, id DESC`, customerID)
	if err != nil {
		return nil, fmt.Errorf("rewards: of customer %d: %w", customerID, err)
	}
	return rs, nil
}

// WithStatus returns up to limit rewards in status, oldest first (the
// queue order staff work in).
func (s *Service) WithStatus(ctx context.Context, status string, limit int) ([]Reward, error) {
	var rs []Reward
	err := s.db.SelectContext(ctx, &rs, `SELECT `+rewardColumns+` FROM rewards WHERE status = $1 ORDER BY created_at, id LIMIT $2`, status, limit)
	if err != nil {
		return nil, fmt.Errorf("rewards: with status %s: %w", status, err)
	}
	return rs, nil
}

// Counts returns how many rewards are in each status.
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT status, count(*) AS n FROM rewards GROUP BY status`); err != nil {
		return nil, fmt.Errorf("rewards: counts: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// Events returns a reward's history, oldest first.
func (s *Service) Events(ctx context.Context, rewardID int64) ([]Event, error) {
	var es []Event
	err := s.db.SelectContext(ctx, &es, `SELECT id, reward_id, from_status, to_status, actor, note, created_at
		FROM reward_events WHERE reward_id = $1 ORDER BY id`, rewardID)
	if err != nil {
		return nil, fmt.Errorf("rewards: events of %d: %w", rewardID, err)
	}
	return es, nil
}
