package referral

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

// QueueRow is a reward as staff see it in /admin/referrals.
type QueueRow struct {
	Reward        rewards.Reward
	ReferrerName  string `db:"referrer_name"`
	ReferrerEmail string `db:"referrer_email"`
	FriendEmail   string `db:"friend_email"`
	OrderNumber   string `db:"order_number"`
	Signals       []Signal
}

// Queue lists up to limit rewards in status, oldest first, with who and
// what they are about.
func (s *Service) Queue(ctx context.Context, status string, limit int) ([]QueueRow, error) {
	rs, err := s.rewards.WithStatus(ctx, status, limit)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	var details []struct {
		ID int64 `db:"id"`
		QueueRow
	}
	err = s.db.SelectContext(ctx, &details, `SELECT w.id, c.name AS referrer_name, c.email AS referrer_email,
			COALESCE(r.friend_email, '') AS friend_email, COALESCE(o.number, '') AS order_number
		FROM rewards w JOIN customers c ON c.id = w.customer_id
		LEFT JOIN referrals r ON r.id = w.referral_id LEFT JOIN orders o ON o.id = w.order_id
		WHERE w.id = ANY($1)`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("referral: queue details: %w", err)
	}
	byID := map[int64]QueueRow{}
	for _, d := range details {
		byID[d.ID] = d.QueueRow
	}
	out := make([]QueueRow, len(rs))
	for i, r := range rs {
		row := byID[r.ID]
		row.Reward = r
		for _, sig := range r.Signals {
			row.Signals = append(row.Signals, Signal(sig))
		}
		out[i] = row
	}
	return out, nil
}

// Funnel counts the program's steps: devices that opened a share link,
// friends who took an offer, friends who ordered, rewards paid.
type Funnel struct {
	Visitors, Claims, Orders, Rewarded int
}

// Funnel returns the counts since the start.
func (s *Service) Funnel(ctx context.Context) (Funnel, error) {
	var f Funnel
	var row struct {
		Visitors int `db:"visitors"`
		Claims   int `db:"claims"`
		Orders   int `db:"orders"`
		Rewarded int `db:"rewarded"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT
		(SELECT count(DISTINCT device_id) FROM referral_visits) AS visitors,
		(SELECT count(*) FROM referrals WHERE stripe_promotion_code_id <> '' OR status = 'converted') AS claims,
		(SELECT count(*) FROM referrals WHERE status = 'converted') AS orders,
		(SELECT count(*) FROM rewards WHERE kind = 'referral' AND status = 'granted') AS rewarded`)
	if err != nil {
		return f, fmt.Errorf("referral: funnel: %w", err)
	}
	return Funnel(row), nil
}

// FindReferrer returns the customer whose email (as typed, any case) or
// referral code is q; fault.NotFound when none is.
func (s *Service) FindReferrer(ctx context.Context, q string) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT id FROM customers WHERE email = lower(btrim($1))
		UNION ALL SELECT customer_id FROM referral_codes WHERE code = $2 LIMIT 1`, q, NormalizeCode(q))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fault.Errorf(fault.NotFound, "No customer has the email or referral code %q.", strings.TrimSpace(q))
	}
	if err != nil {
		return 0, fmt.Errorf("referral: find referrer: %w", err)
	}
	return id, nil
}

// RewardHistory is a reward with its recorded moves.
type RewardHistory struct {
	rewards.Reward
	Events []rewards.Event
}

// OrderRef is an order of a referrer, for the insert cards.
type OrderRef struct {
	ID       int64     `db:"id"`
	Number   string    `db:"number"`
	PlacedAt time.Time `db:"placed_at"`
}

// History is one referrer's whole story for staff.
type History struct {
	CustomerID  int64
	Name, Email string
	Code        *Code
	Referrals   []Referral
	Rewards     []RewardHistory
	Orders      []OrderRef
}

// History returns a referrer's code, referrals, rewards (each with its
// moves) and orders; fault.NotFound for an unknown customer.
func (s *Service) History(ctx context.Context, customerID int64) (History, error) {
	h := History{CustomerID: customerID}
	var err error
	h.Name, h.Email, err = customerNameEmail(ctx, s.db, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return h, fault.Errorf(fault.NotFound, "There is no such customer.")
	}
	if err != nil {
		return h, err
	}
	if c, found, err := codeOfCustomer(ctx, s.db, customerID); err != nil {
		return h, err
	} else if found {
		h.Code = &c
	}
	if h.Referrals, err = referralsWhere(ctx, s.db, `referrer_id = $1`, customerID); err != nil {
		return h, err
	}
	rs, err := s.rewards.OfCustomer(ctx, customerID)
	if err != nil {
		return h, err
	}
	for _, r := range rs {
		es, err := s.rewards.Events(ctx, r.ID)
		if err != nil {
			return h, err
		}
		h.Rewards = append(h.Rewards, RewardHistory{Reward: r, Events: es})
	}
	err = s.db.SelectContext(ctx, &h.Orders, `SELECT id, number, placed_at FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC LIMIT 50`, customerID)
	if err != nil {
		return h, fmt.Errorf("referral: orders of %d: %w", customerID, err)
	}
	return h, nil
}

// InsertCard is the printable parcel card of one order: the customer's
// code and link (for the QR code) with the friend's offer.
type InsertCard struct {
	OrderID     int64
	OrderNumber string
	FirstName   string
	Code        Code
	Link        string
	Offer       string
	Reward      string
	Program     program.Settings
}

// InsertCard returns the card for an order, creating its customer's code
// if needed; fault.NotFound for an unknown order.
func (s *Service) InsertCard(ctx context.Context, orderID int64) (InsertCard, error) {
	card := InsertCard{OrderID: orderID}
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var o struct {
			Number     string `db:"number"`
			CustomerID int64  `db:"customer_id"`
			Name       string `db:"name"`
		}
		err := tx.GetContext(ctx, &o, `SELECT o.number, o.customer_id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1`, orderID)
		if errors.Is(err, sql.ErrNoRows) {
			return fault.Errorf(fault.NotFound, "There is no order %d.", orderID)
		}
		if err != nil {
			return fmt.Errorf("referral: order %d: %w", orderID, err)
		}
		card.OrderNumber, card.FirstName = o.Number, firstName(o.Name)
		card.Code, err = s.EnsureCode(ctx, tx, o.CustomerID)
		return err
	})
	if err != nil {
		return card, err
	}
	if card.Program, err = program.Load(ctx, s.db); err != nil {
		return card, err
	}
	p := card.Program
	card.Link, card.Offer, card.Reward = s.ShareLink(card.Code.Code), p.Friend.Describe(p.Currency), p.DescribeReward(p.Referrer)
	return card, nil
}

// SetCodeDisabled switches a referrer's code off (or on again), with an
// audit entry by actor; a disabled code's link shows a kind "not active"
// page and takes no claims. fault.NotFound when the customer has no code.
func (s *Service) SetCodeDisabled(ctx context.Context, customerID int64, disabled bool, actor string) error {
	// The landing's cache drops the codes after the commit, and a read that
	// began before it is not kept: this instance's links follow at once,
	// other instances' within their TTL.
	defer s.forgetCodes()
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE referral_codes SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END
			WHERE customer_id = $1`, customerID, disabled)
		if err != nil {
			return fmt.Errorf("referral: disable code of %d: %w", customerID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fault.Errorf(fault.NotFound, "This customer has no referral code.")
		}
		action := "referral.code_enabled"
		if disabled {
			action = "referral.code_disabled"
		}
		return audit.Record(ctx, tx, actor, action, "customer:"+strconv.FormatInt(customerID, 10), nil)
	})
}
