package rewards

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// void moves r to voided with reason (shown to the referrer). A reward
// already granted gets a clawback, done by Process.
func (s *Service) void(ctx context.Context, tx *sqlx.Tx, r *Reward, reason, actor string) error {
	if r.Status == Voided {
		return nil
	}
	from, now := r.Status, s.now()
	r.Status, r.VoidReason, r.VoidedAt = Voided, reason, &now
	r.Attempts, r.NextAttemptAt, r.LastError = 0, nil, ""
	if from == Granted {
		r.Clawback = ClawbackPending
	}
	if err := save(ctx, tx, r); err != nil {
		return err
	}
	if err := record(ctx, tx, r.ID, from, Voided, actor, reason); err != nil {
		return err
	}
	if r.Clawback == ClawbackPending {
		return s.schedule(ctx, tx, r.ID, s.now())
	}
	return nil
}

// VoidOrder voids, in tx, the referral rewards earned by an order (a
// refund, cancellation or dispute): those still on hold never pay, granted
// ones are clawed back. It reports how many it voided.
func (s *Service) VoidOrder(ctx context.Context, tx *sqlx.Tx, orderID int64, reason string) (int, error) {
	var ids []int64
	err := tx.SelectContext(ctx, &ids, `SELECT id FROM rewards WHERE order_id = $1 AND kind = 'referral' AND status <> 'voided' ORDER BY id`, orderID)
	if err != nil {
		return 0, fmt.Errorf("rewards: rewards of order %d: %w", orderID, err)
	}
	n := 0
	for _, id := range ids {
		// Waits for a grant in progress, then sees it granted and claws back.
		r, found, err := lockReward(ctx, tx, id, false)
		if err != nil {
			return n, err
		}
		if !found || r.Status == Voided {
			continue
		}
		if err := s.void(ctx, tx, &r, reason, audit.System); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// staffAction runs fn on reward id under its row lock, with an audit entry
// of action by actor, in one transaction.
func (s *Service) staffAction(ctx context.Context, id int64, actor, action string, detail map[string]any, fn func(tx *sqlx.Tx, r *Reward) error) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		r, found, err := lockReward(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		if err := fn(tx, &r); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, action, "reward:"+strconv.FormatInt(id, 10), detail)
	})
}

// Approve clears a flagged reward: it goes on hold like any other and is
// released at once if its hold is already over. It returns fault.Conflict
// when the reward is not flagged.
func (s *Service) Approve(ctx context.Context, id int64, actor string) error {
	return s.staffAction(ctx, id, actor, "referral.reward_approved", nil, func(tx *sqlx.Tx, r *Reward) error {
		if r.Status != Flagged {
			return fault.Errorf(fault.Conflict, "This reward is no longer waiting for review.")
		}
		r.Status = Held
		if err := save(ctx, tx, r); err != nil {
			return err
		}
		if err := record(ctx, tx, r.ID, Flagged, Held, actor, "approved"); err != nil {
			return err
		}
		return s.release(ctx, tx, r)
	})
}

// Reject voids a flagged reward with reason (which the referrer sees). It
// returns a fault.Field error for an empty reason and fault.Conflict when
// the reward is not flagged.
func (s *Service) Reject(ctx context.Context, id int64, reason, actor string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fault.Field("reason", "must say why, for the referrer")
	}
	return s.staffAction(ctx, id, actor, "referral.reward_rejected", map[string]any{"reason": reason}, func(tx *sqlx.Tx, r *Reward) error {
		if r.Status != Flagged {
			return fault.Errorf(fault.Conflict, "This reward is no longer waiting for review.")
		}
		return s.void(ctx, tx, r, reason, actor)
	})
}

// Void voids any reward that is not void yet, clawing back a granted one.
// It returns a fault.Field error for an empty reason and fault.Conflict for
// a reward already voided.
func (s *Service) Void(ctx context.Context, id int64, reason, actor string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fault.Field("reason", "must say why, for the referrer")
	}
	return s.staffAction(ctx, id, actor, "referral.reward_voided", map[string]any{"reason": reason}, func(tx *sqlx.Tx, r *Reward) error {
		if r.Status == Voided {
			return fault.Errorf(fault.Conflict, "This reward is already void.")
		}
		return s.void(ctx, tx, r, reason, actor)
	})
}

// Retry makes a failed grant (or a stuck clawback) due now, with a fresh
// count of attempts. It returns fault.Conflict when there is nothing to
// retry.
func (s *Service) Retry(ctx context.Context, id int64, actor string) error {
	return s.staffAction(ctx, id, actor, "referral.reward_retried", nil, func(tx *sqlx.Tx, r *Reward) error {
		if r.Status != Failed && !(r.Status == Voided && r.Clawback == ClawbackPending) {
			return fault.Errorf(fault.Conflict, "This reward has no failed step to retry.")
		}
		now := s.now()
		r.Attempts, r.NextAttemptAt = 0, &now
		if err := save(ctx, tx, r); err != nil {
			return err
		}
		if err := record(ctx, tx, r.ID, r.Status, r.Status, actor, "retry asked"); err != nil {
			return err
		}
		return s.schedule(ctx, tx, r.ID, now)
	})
}
