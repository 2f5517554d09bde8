// Package rewards pays referrers through Stripe. A converted referral gets a
// reward that is held until the friend's order is past its return window
// with no open return (or flagged for staff when a fraud signal fired), then
// granted as a single-use promotion code restricted to the referrer's Stripe
// customer, or as customer balance credit. A refund, cancellation or dispute
// inside the hold voids it; after a grant, the code is deactivated or the
// credit reversed. Every Stripe write carries an Idempotency-Key derived from
// our own record's id, and a row lock decides which worker does the work, so
// two workers never grant twice.
package rewards

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
)

// Reward statuses.
const (
	Held    = "held"    // waiting for the friend's return window
	Flagged = "flagged" // a fraud signal fired: waiting for staff
	Pending = "pending" // payable: a grant is due
	Granted = "granted" // paid in Stripe
	Failed  = "failed"  // the last grant attempt failed; retried with backoff
	Voided  = "voided"  // will never pay (or was clawed back); VoidReason says why
)

// Reward kinds.
const (
	KindReferral  = "referral"
	KindMilestone = "milestone"
)

// Clawback states of a voided reward.
const (
	ClawbackNone    = "none"
	ClawbackPending = "pending"
	ClawbackDone    = "done"
)

// Email kinds the package queues; the referral package composes them.
const (
	MailGranted   = "referral_reward"
	MailClawback  = "referral_clawback"
	mailKeyFormat = "%s:%d" // kind:reward id
)

// Reward is one reward of a referrer, with the offer copied from the
// program when it was earned.
type Reward struct {
	ID                    int64          `db:"id"`
	CustomerID            int64          `db:"customer_id"`
	Kind                  string         `db:"kind"`
	ReferralID            *int64         `db:"referral_id"`
	OrderID               *int64         `db:"order_id"`
	MilestoneNo           *int           `db:"milestone_no"`
	RewardType            string         `db:"reward_type"`
	OfferKind             string         `db:"offer_kind"`
	Percent               int            `db:"percent"`
	AmountMinor           int64          `db:"amount_minor"`
	Currency              string         `db:"currency"`
	MinimumMinor          int64          `db:"minimum_minor"`
	ExpiryDays            int            `db:"expiry_days"`
	Status                string         `db:"status"`
	Signals               pq.StringArray `db:"signals"`
	PayableAt             *time.Time     `db:"payable_at"`
	HoldNote              string         `db:"hold_note"`
	Attempts              int            `db:"attempts"`
	NextAttemptAt         *time.Time     `db:"next_attempt_at"`
	LastError             string         `db:"last_error"`
	PromotionCode         *string        `db:"promotion_code"`
	CodeExpiresAt         *time.Time     `db:"code_expires_at"`
	StripeCustomerID      string         `db:"stripe_customer_id"`
	StripeCouponID        string         `db:"stripe_coupon_id"`
	StripePromotionCodeID string         `db:"stripe_promotion_code_id"`
	StripeBalanceTxnID    string         `db:"stripe_balance_txn_id"`
	GrantedAt             *time.Time     `db:"granted_at"`
	VoidReason            string         `db:"void_reason"`
	VoidedAt              *time.Time     `db:"voided_at"`
	Clawback              string         `db:"clawback"`
	ClawbackRef           string         `db:"clawback_ref"`
	CreatedAt             time.Time      `db:"created_at"`
	UpdatedAt             time.Time      `db:"updated_at"`
}

// Code is the promotion code the reward pays with, or "".
func (r Reward) Code() string {
	if r.PromotionCode == nil {
		return ""
	}
	return *r.PromotionCode
}

// Event is one recorded move of a reward.
type Event struct {
	ID        int64     `db:"id"`
	RewardID  int64     `db:"reward_id"`
	From      string    `db:"from_status"`
	To        string    `db:"to_status"`
	Actor     string    `db:"actor"`
	Note      string    `db:"note"`
	CreatedAt time.Time `db:"created_at"`
}

// OpenReturns tells whether an order has a return in progress; an open
// return keeps its reward on hold. cmd wires it to the returns package.
type OpenReturns interface {
	OpenReturns(ctx context.Context, orderID int64) (bool, error)
}

// Options are the service's dependencies. Gateway nil means Stripe is not
// configured: rewards become payable but wait, and friend codes cannot be
// issued. Queue nil means no immediate jobs (the sweep still does the
// work). Returns nil means no order ever has an open return.
type Options struct {
	DB      *sqlx.DB
	Gateway Gateway
	Queue   *jobs.Queue
	Outbox  *mail.Outbox
	Returns OpenReturns
	Logger  *slog.Logger
	// Now is the clock (tests move it); nil is time.Now.
	Now func() time.Time
	// Code makes the customer-facing part of a promotion code; nil uses
	// crypto/rand.
	Code func(prefix string) string
}

// Service decides holds, grants, voids and clawbacks.
type Service struct {
	db      *sqlx.DB
	gw      Gateway
	queue   *jobs.Queue
	outbox  *mail.Outbox
	returns OpenReturns
	log     *slog.Logger
	now     func() time.Time
	code    func(prefix string) string
}

// NewService returns the service; call Register before the queue starts.
func NewService(o Options) *Service {
	s := &Service{db: o.DB, gw: o.Gateway, queue: o.Queue, outbox: o.Outbox, returns: o.Returns, log: o.Logger, now: o.Now, code: o.Code}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.code == nil {
		s.code = RandomCode
	}
	return s
}

// StripeConfigured reports whether grants and friend codes can be made.
func (s *Service) StripeConfigured() bool { return s.gw != nil }

// ProcessArgs is the River job that grants or claws back one reward.
type ProcessArgs struct {
	RewardID int64 `json:"reward_id"`
}

// Kind names the River job kind.
func (ProcessArgs) Kind() string { return "referral.reward" }

type processWorker struct {
	river.WorkerDefaults[ProcessArgs]
	s *Service
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	_, err := w.s.Process(ctx, job.Args.RewardID)
	return err
}

// Register adds the reward worker to the queue and the sweep that finds
// holds that became payable and failed grants whose retry is due.
func (s *Service) Register(q *jobs.Queue, every time.Duration) {
	river.AddWorker(q.Workers(), &processWorker{s: s})
	q.Every("referral.rewards", every, func(ctx context.Context) error {
		_, err := s.Sweep(ctx)
		return err
	})
}

// schedule inserts the job for reward id in tx, to run at (zero: now).
func (s *Service) schedule(ctx context.Context, tx *sqlx.Tx, id int64, at time.Time) error {
	if s.queue == nil {
		return nil
	}
	opts := &river.InsertOpts{MaxAttempts: 3}
	if !at.IsZero() {
		opts.ScheduledAt = at
	}
	return s.queue.InsertTx(ctx, tx.Tx, ProcessArgs{RewardID: id}, opts)
}
