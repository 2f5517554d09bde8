package rewards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
)

// DefaultReturnDays is the return window when the returns settings say
// nothing: a reward waits this long after delivery.
const DefaultReturnDays = 30

// HoldInput is a converted referral to reward.
type HoldInput struct {
	ReferralID int64
	ReferrerID int64
	OrderID    int64
	// Signals are the fraud signals that fired; any flags the reward for
	// staff.
	Signals []string
	// VoidReason, when set, records the reward as voided at once, with this
	// reason for the referrer (an order under the minimum, say).
	VoidReason string
	Program    program.Settings
}

// Hold records the reward of a converted referral in tx: flagged when a
// signal fired, else held until the friend's order is past its return
// window. A referral that has its reward already (a retried reaction) gets
// no second one: created is false and the existing reward is returned.
func (s *Service) Hold(ctx context.Context, tx *sqlx.Tx, in HoldInput) (r Reward, created bool, err error) {
	o := in.Program.Referrer
	ref, order := in.ReferralID, in.OrderID
	r = Reward{
		CustomerID: in.ReferrerID, Kind: KindReferral, ReferralID: &ref, OrderID: &order, RewardType: in.Program.RewardType,
		OfferKind: o.Kind, Percent: o.Percent, AmountMinor: o.AmountMinor, Currency: in.Program.Currency,
		MinimumMinor: o.MinimumMinor, ExpiryDays: o.ExpiryDays, Status: Held, Signals: pq.StringArray(in.Signals),
	}
	note := ""
	switch {
	case in.VoidReason != "":
		now := s.now()
		r.Status, r.VoidReason, r.VoidedAt = Voided, in.VoidReason, &now
		note = in.VoidReason
	case len(in.Signals) > 0:
		r.Status = Flagged
		note = "signals: " + strings.Join(in.Signals, ", ")
	}
	r, created, err = insertReward(ctx, tx, r)
	if err != nil || !created {
		if err == nil {
			err = tx.GetContext(ctx, &r, `SELECT `+rewardColumns+` FROM rewards WHERE referral_id = $1 AND kind = 'referral'`, ref)
		}
		return r, false, err
	}
	if err := record(ctx, tx, r.ID, "", r.Status, audit.System, note); err != nil {
		return r, true, err
	}
	if r.Status == Held {
		// Say at once what it waits for (usually the delivery).
		err = s.release(ctx, tx, &r)
	}
	return r, true, err
}

// Evaluate looks again at the held rewards of an order (after a delivery, a
// return's change, a staff approval) and releases those now payable.
func (s *Service) Evaluate(ctx context.Context, tx *sqlx.Tx, orderID int64) error {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, `SELECT id FROM rewards WHERE order_id = $1 AND status = 'held' ORDER BY id`, orderID); err != nil {
		return fmt.Errorf("rewards: held of order %d: %w", orderID, err)
	}
	for _, id := range ids {
		r, found, err := lockReward(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if found && r.Status == Held {
			if err := s.release(ctx, tx, &r); err != nil {
				return err
			}
		}
	}
	return nil
}

// release moves a held reward to pending when its hold is over, or notes
// what it waits for (and when, once known).
func (s *Service) release(ctx context.Context, tx *sqlx.Tx, r *Reward) error {
	h, err := s.holdOf(ctx, tx, r)
	if err != nil {
		return err
	}
	if h.void != "" {
		return s.void(ctx, tx, r, h.void, audit.System)
	}
	if !h.payable {
		if h.note == r.HoldNote && samePtrTime(h.at, r.PayableAt) {
			return nil
		}
		r.HoldNote, r.PayableAt = h.note, h.at
		return save(ctx, tx, r)
	}
	r.PayableAt, r.HoldNote = h.at, ""
	if err := s.makePending(ctx, tx, r, audit.System, "past the return window with no open return"); err != nil {
		return err
	}
	return nil
}

// makePending moves r to pending and fixes what the grant will send (the
// code and its expiry), so a retried grant sends the same request.
func (s *Service) makePending(ctx context.Context, tx *sqlx.Tx, r *Reward, actor, note string) error {
	from := r.Status
	r.Status, r.Attempts, r.NextAttemptAt, r.LastError = Pending, 0, nil, ""
	if r.RewardType == program.Coupon && r.PromotionCode == nil {
		code := s.code("THANKS")
		exp := s.now().Add(time.Duration(r.ExpiryDays) * 24 * time.Hour).Truncate(time.Second)
		r.PromotionCode, r.CodeExpiresAt = &code, &exp
	}
	if err := save(ctx, tx, r); err != nil {
		return err
	}
	if err := record(ctx, tx, r.ID, from, Pending, actor, note); err != nil {
		return err
	}
	return s.schedule(ctx, tx, r.ID, time.Time{})
}

// hold is what a held reward waits for.
type hold struct {
	payable bool
	at      *time.Time // when the return window ends, once delivered
	note    string     // what it waits for, for staff and the ledger
	void    string     // set when the order can no longer pay
}

func (s *Service) holdOf(ctx context.Context, q sqlx.QueryerContext, r *Reward) (hold, error) {
	if r.OrderID == nil {
		return hold{payable: true}, nil
	}
	orderID := *r.OrderID
	var status string
	err := sqlx.GetContext(ctx, q, &status, `SELECT status FROM orders WHERE id = $1`, orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return hold{void: "The order is no longer on record."}, nil
	}
	if err != nil {
		return hold{}, fmt.Errorf("rewards: order %d: %w", orderID, err)
	}
	switch status {
	case "cancelled":
		return hold{void: "Your friend's order was cancelled."}, nil
	case "refunded":
		return hold{void: "Your friend's order was refunded."}, nil
	}
	var ship struct {
		N           int        `db:"n"`
		Delivered   int        `db:"delivered"`
		DeliveredAt *time.Time `db:"delivered_at"`
	}
	err = sqlx.GetContext(ctx, q, &ship, `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'delivered') AS delivered,
		max(delivered_at) AS delivered_at FROM shipments WHERE order_id = $1`, orderID)
	if err != nil {
		return hold{}, fmt.Errorf("rewards: shipments of order %d: %w", orderID, err)
	}
	if ship.N == 0 || ship.Delivered < ship.N || ship.DeliveredAt == nil {
		return hold{note: "waiting for delivery"}, nil
	}
	days, err := ReturnDays(ctx, q)
	if err != nil {
		return hold{}, err
	}
	end := ship.DeliveredAt.Add(time.Duration(days) * 24 * time.Hour)
	if s.now().Before(end) {
		return hold{at: &end, note: "inside the return window"}, nil
	}
	if s.returns != nil {
		open, err := s.returns.OpenReturns(ctx, orderID)
		if err != nil {
			return hold{}, fmt.Errorf("rewards: open returns of order %d: %w", orderID, err)
		}
		if open {
			return hold{at: &end, note: "a return is open"}, nil
		}
	}
	return hold{payable: true, at: &end}, nil
}

// ReturnDays is the store's return window in days from the returns
// settings ("returns".window_days), DefaultReturnDays when unset.
func ReturnDays(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	policy := struct {
		WindowDays int `json:"window_days"`
	}{WindowDays: DefaultReturnDays}
	if err := settings.LoadSection(ctx, q, "returns", &policy); err != nil {
		return 0, err
	}
	return max(policy.WindowDays, 0), nil
}

func samePtrTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// SweepResult counts what one sweep did.
type SweepResult struct {
	Released int // held rewards that became payable
	Granted  int
	Failed   int
	Clawed   int // clawbacks done
}

// Sweep releases held rewards whose hold is over, then grants what is due
// (pending, and failed ones whose retry time came) and does pending
// clawbacks. Each reward is worked under its own row lock; one reward's
// trouble does not stop the others, and the errors are returned together.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var errs []error
	held, err := idsWhere(ctx, s.db, `status = 'held'`)
	if err != nil {
		return res, err
	}
	for _, id := range held {
		err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
			r, found, err := lockReward(ctx, tx, id, true)
			if err != nil || !found || r.Status != Held {
				return err
			}
			if err := s.release(ctx, tx, &r); err != nil {
				return err
			}
			if r.Status == Pending {
				res.Released++
			}
			return nil
		})
		errs = append(errs, err)
	}
	due, err := idsWhere(ctx, s.db, `status = 'pending' OR (status = 'failed' AND attempts < $2 AND next_attempt_at <= $1)
		OR (status = 'voided' AND clawback = 'pending' AND attempts < $2 AND (next_attempt_at IS NULL OR next_attempt_at <= $1))`,
		s.now(), MaxAttempts)
	if err != nil {
		return res, err
	}
	for _, id := range due {
		out, err := s.Process(ctx, id)
		errs = append(errs, err)
		switch out {
		case OutcomeGranted:
			res.Granted++
		case OutcomeFailed:
			res.Failed++
		case OutcomeClawedBack:
			res.Clawed++
		}
	}
	return res, errors.Join(errs...)
}
