// Package returns is self-service returns and the support staff's returns
// desk: the store's return policy and what it makes eligible, return
// requests with reasons, photos and a chosen resolution, RMA numbers and
// drop-off labels with a QR code, the staff queue and its actions (approve,
// reject, receive, resolve by Stripe refund, store credit or exchange), and
// the emails each change sends.
//
// Every status change goes through one function, Move, over one table of
// legal moves; each writes a history row (return_events), an audit entry and
// a return.changed domain event in the transaction of the change.
package returns

import (
	"fmt"

	"github.com/aftercare/aftercare/internal/fault"
)

// Status is where a return is.
type Status string

// The statuses of a return.
const (
	Requested        Status = "requested"         // waiting for a decision
	Approved         Status = "approved"          // the shopper may send the parcel
	Rejected         Status = "rejected"          // refused, with a reason the shopper sees
	InTransit        Status = "in_transit"        // on its way back (optional step)
	Received         Status = "received"          // staff checked the parcel in
	ResolutionFailed Status = "resolution_failed" // a refund or credit failed; retry
	Refunded         Status = "refunded"          // money back to the original payment
	Credited         Status = "credited"          // store credit issued
	Exchanged        Status = "exchanged"         // a replacement order was made
	Cancelled        Status = "cancelled"         // withdrawn by the shopper before receipt
)

// Statuses lists every status in the order a return normally passes them.
func Statuses() []Status {
	return []Status{Requested, Approved, InTransit, Received, ResolutionFailed, Refunded, Credited, Exchanged, Rejected, Cancelled}
}

// Label is the status as shoppers and staff read it.
func (s Status) Label() string {
	switch s {
	case Requested:
		return "Waiting for review"
	case Approved:
		return "Approved: send it back"
	case Rejected:
		return "Not accepted"
	case InTransit:
		return "On its way back"
	case Received:
		return "Received"
	case ResolutionFailed:
		return "Refund or credit failed"
	case Refunded:
		return "Refunded"
	case Credited:
		return "Store credit issued"
	case Exchanged:
		return "Exchanged"
	case Cancelled:
		return "Cancelled"
	}
	return string(s)
}

// EventLabel names a change to s in a return's history.
func (s Status) EventLabel() string {
	switch s {
	case Requested:
		return "Return requested"
	case Approved:
		return "Approved"
	case Rejected:
		return "Not accepted"
	case InTransit:
		return "On its way back"
	case ResolutionFailed:
		return "Refund or credit failed"
	}
	return s.Label()
}

// State is the status as in "this return is <state>".
func (s Status) State() string { return state(s) }

// Open reports whether the return still holds its units: every status but
// rejected and cancelled counts against what may be returned.
func (s Status) Open() bool { return s != Rejected && s != Cancelled }

// Done reports whether nothing more can happen to the return.
func (s Status) Done() bool {
	switch s {
	case Rejected, Refunded, Credited, Exchanged, Cancelled:
		return true
	}
	return false
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses() {
		if v == s {
			return true
		}
	}
	return false
}

// Party is who makes a move.
type Party string

// The parties.
const (
	Shopper Party = "shopper"
	Staff   Party = "staff"
	System  Party = "system" // the auto-approval rules
)

// move is one legal transition and who may make it.
type move struct {
	from, to Status
	by       Party
}

// moves is the one table of legal transitions. A refund or credit that
// fails moves to resolution_failed, and may fail again from there.
var moves = []move{
	{Requested, Approved, Staff},
	{Requested, Approved, System},
	{Requested, Rejected, Staff},
	{Requested, Cancelled, Shopper},
	{Approved, InTransit, Staff},
	{Approved, Received, Staff},
	{Approved, Cancelled, Shopper},
	{InTransit, Received, Staff},
	{InTransit, Cancelled, Shopper},
	{Received, Refunded, Staff},
	{Received, Credited, Staff},
	{Received, Exchanged, Staff},
	{Received, ResolutionFailed, Staff},
	{ResolutionFailed, Refunded, Staff},
	{ResolutionFailed, Credited, Staff},
	{ResolutionFailed, Exchanged, Staff},
	{ResolutionFailed, ResolutionFailed, Staff},
}

// CheckMove returns nil when by may move a return from one status to
// another, and otherwise a fault.Conflict error whose message says why, in
// words staff and shoppers understand.
func CheckMove(from, to Status, by Party) error {
	allowedByOther := false
	for _, m := range moves {
		if m.from == from && m.to == to {
			if m.by == by {
				return nil
			}
			allowedByOther = true
		}
	}
	if allowedByOther {
		return fault.Errorf(fault.Conflict, "A return cannot be %s by the %s.", verb(to), by)
	}
	if from.Done() {
		return fault.Errorf(fault.Conflict, "This return is already %s; it cannot be %s.", state(from), verb(to))
	}
	return fault.Errorf(fault.Conflict, "A return that is %s cannot be %s.", state(from), verb(to))
}

// CanMove reports whether CheckMove allows the move.
func CanMove(from, to Status, by Party) bool { return CheckMove(from, to, by) == nil }

// verb is what a move to status does, as in "cannot be <verb>".
func verb(to Status) string {
	switch to {
	case Requested:
		return "requested again"
	case InTransit:
		return "marked as on its way back"
	case ResolutionFailed:
		return "resolved"
	}
	return string(to)
}

// state is where a return is, as in "a return that is <state>".
func state(s Status) string {
	switch s {
	case Requested:
		return "waiting for review"
	case InTransit:
		return "on its way back"
	case ResolutionFailed:
		return "waiting for a retry of its resolution"
	}
	return string(s)
}

func lower(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// Resolution is what the shopper gets for a return.
type Resolution string

// The resolutions.
const (
	Refund   Resolution = "refund"   // money back to the original payment
	Credit   Resolution = "credit"   // store credit, with the policy's bonus
	Exchange Resolution = "exchange" // another SKU, as a replacement order
)

// Valid reports whether r is a known resolution.
func (r Resolution) Valid() bool { return r == Refund || r == Credit || r == Exchange }

// Label is the resolution as pages show it.
func (r Resolution) Label() string {
	switch r {
	case Refund:
		return "Refund to the original payment"
	case Credit:
		return "Store credit"
	case Exchange:
		return "Exchange for another item"
	}
	return string(r)
}

// Outcome is the status a successful resolution by r ends in.
func (r Resolution) Outcome() Status {
	switch r {
	case Refund:
		return Refunded
	case Credit:
		return Credited
	case Exchange:
		return Exchanged
	}
	panic(fmt.Sprintf("returns: no outcome for resolution %q", string(r)))
}
