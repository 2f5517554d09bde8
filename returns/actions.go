package returns

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// act runs fn on the locked return matching where, in one transaction, and
// returns the return as it is afterwards.
func (s *Service) act(ctx context.Context, fn func(tx *sqlx.Tx, r *Return) error, where string, args ...any) (Return, error) {
	var r Return
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if r, err = getReturn(ctx, tx, true, where, args...); err != nil {
			return err
		}
		if err := fillReturn(ctx, tx, &r); err != nil {
			return err
		}
		return fn(tx, &r)
	})
	if err != nil {
		return Return{}, err
	}
	return s.Get(ctx, r.ID)
}

// Cancel lets the shopper withdraw their return before it is received.
// Errors: fault.NotFound for a missing or another customer's return,
// fault.Conflict once it is received or closed.
func (s *Service) Cancel(ctx context.Context, customerID int64, rma string) (Return, error) {
	if !ValidRMA(rma) {
		return Return{}, errReturnNotFound
	}
	return s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		return s.move(ctx, tx, r, Cancelled, Shopper, audit.Shopper(customerID), "Cancelled by the shopper.", change{}, nil)
	}, "r.rma = $1 AND r.customer_id = $2", rma, customerID)
}

// Approve lets the shopper send the parcel. actor is the staff member
// ("staff:3"). Errors: fault.NotFound, fault.Conflict for an illegal move.
func (s *Service) Approve(ctx context.Context, id int64, actor string) (Return, error) {
	return s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		return s.move(ctx, tx, r, Approved, Staff, actor, "", change{}, nil)
	}, "r.id = $1", id)
}

// Reject refuses a return with a reason the shopper is shown. Errors:
// fault.Field("reason") when it is empty or too long, fault.NotFound,
// fault.Conflict.
func (s *Service) Reject(ctx context.Context, id int64, actor, reason string) (Return, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Return{}, fault.Field("reason", "is needed: the shopper is told why")
	}
	if utf8.RuneCountInString(reason) > 1000 {
		return Return{}, fault.Field("reason", "must be at most 1000 characters")
	}
	return s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		return s.move(ctx, tx, r, Rejected, Staff, actor, reason, change{RejectReason: &reason}, nil)
	}, "r.id = $1", id)
}

// MarkInTransit records that the parcel is on its way back.
func (s *Service) MarkInTransit(ctx context.Context, id int64, actor string) (Return, error) {
	return s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		return s.move(ctx, tx, r, InTransit, Staff, actor, "", change{}, nil)
	}, "r.id = $1", id)
}

// Receipt is what staff found in the parcel: per return item id, the units
// received and how many of those are damaged, and a note on their
// condition.
type Receipt struct {
	Received map[int64]int
	Damaged  map[int64]int
	Note     string
}

// Receive checks the parcel in. Every item of the return gets a received
// count (missing ones count 0) between 0 and its quantity, a damaged count
// between 0 and that; at least one unit must have arrived. Errors: a
// fault.Fields error naming received[<item id>] or damaged[<item id>] (an id
// that is not an item of this return included), fault.NotFound,
// fault.Conflict.
func (s *Service) Receive(ctx context.Context, id int64, actor string, in Receipt) (Return, error) {
	note := strings.TrimSpace(in.Note)
	return s.act(ctx, func(tx *sqlx.Tx, r *Return) error {
		if err := CheckMove(r.Status, Received, Staff); err != nil {
			return err
		}
		received, damaged, err := checkReceipt(*r, in)
		if err != nil {
			return err
		}
		if utf8.RuneCountInString(note) > 2000 {
			return fault.Field("note", "must be at most 2000 characters")
		}
		if err := saveReceipt(ctx, tx, r.ID, received, damaged); err != nil {
			return err
		}
		total, hurt := 0, 0
		for _, it := range r.Items {
			total += received[it.ID]
			hurt += damaged[it.ID]
		}
		summary := fmt.Sprintf("%d of %d units received, %d damaged.", total, r.Units(), hurt)
		if note != "" {
			summary += " " + note
		}
		return s.move(ctx, tx, r, Received, Staff, actor, summary, change{ConditionNote: &note, Received: true},
			map[string]any{"received": received, "damaged": damaged})
	}, "r.id = $1", id)
}

func checkReceipt(r Return, in Receipt) (map[int64]int, map[int64]int, error) {
	var f fault.Fields
	items := map[int64]Item{}
	for _, it := range r.Items {
		items[it.ID] = it
	}
	for id := range in.Received {
		if _, ok := items[id]; !ok {
			f.Add(fmt.Sprintf("received[%d]", id), "is not an item of this return")
		}
	}
	for id := range in.Damaged {
		if _, ok := items[id]; !ok {
			f.Add(fmt.Sprintf("damaged[%d]", id), "is not an item of this return")
		}
	}
	received, damaged := map[int64]int{}, map[int64]int{}
	total := 0
	for _, it := range r.Items {
		n, d := in.Received[it.ID], in.Damaged[it.ID]
		switch {
		case n < 0 || n > it.Quantity:
			f.Add(fmt.Sprintf("received[%d]", it.ID), fmt.Sprintf("must be between 0 and %d", it.Quantity))
		case d < 0 || d > n:
			f.Add(fmt.Sprintf("damaged[%d]", it.ID), fmt.Sprintf("must be between 0 and the %d received", n))
		}
		received[it.ID], damaged[it.ID] = n, d
		total += n
	}
	if len(f) == 0 && total == 0 {
		f.Add("received", "must count at least one unit; if the parcel was empty, contact the shopper first")
	}
	return received, damaged, f.Err()
}
