package returns

import (
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/settings"
)

// Return is a return request with the order and customer it belongs to.
// Money is in minor units of Currency.
type Return struct {
	ID             int64      `db:"id"`
	RMA            string     `db:"rma"`
	OrderID        int64      `db:"order_id"`
	CustomerID     int64      `db:"customer_id"`
	IdempotencyKey string     `db:"idempotency_key"`
	Status         Status     `db:"status"`
	Resolution     Resolution `db:"resolution"`
	Withdrawal     bool       `db:"withdrawal"`
	Currency       string     `db:"currency"`
	// ValueMinor is what the shopper paid for the requested units.
	ValueMinor     int64       `db:"value_minor"`
	ReviewNote     string      `db:"review_note"`
	RejectReason   string      `db:"reject_reason"`
	ConditionNote  string      `db:"condition_note"`
	ResolvedMethod *Resolution `db:"resolved_method"`
	// ResolvedMinor is the money refunded or credited (bonus included).
	ResolvedMinor   *int64     `db:"resolved_minor"`
	FeeMinor        int64      `db:"fee_minor"`
	ResolutionRef   string     `db:"resolution_ref"`
	ResolutionError string     `db:"resolution_error"`
	Attempts        int        `db:"attempts"`
	WindowEndsAt    time.Time  `db:"window_ends_at"`
	StatusChangedAt time.Time  `db:"status_changed_at"`
	ReceivedAt      *time.Time `db:"received_at"`
	ResolvedAt      *time.Time `db:"resolved_at"`
	CreatedAt       time.Time  `db:"created_at"`
	UpdatedAt       time.Time  `db:"updated_at"`

	OrderNumber   string `db:"order_number"`
	CustomerEmail string `db:"customer_email"`
	CustomerName  string `db:"customer_name"`

	Items  []Item  `db:"-"`
	Events []Event `db:"-"`
	Photos []Photo `db:"-"`
}

// Subject is the return as an audit subject: "return:<id>".
func (r Return) Subject() string { return "return:" + strconv.FormatInt(r.ID, 10) }

// Units is the number of units requested.
func (r Return) Units() int {
	n := 0
	for _, it := range r.Items {
		n += it.Quantity
	}
	return n
}

// ClaimsDamage reports whether an item is returned as damaged or not as
// described.
func (r Return) ClaimsDamage() bool {
	for _, it := range r.Items {
		if claimsDamage(it.Reason) {
			return true
		}
	}
	return false
}

// LastDay is the last instant of the return window (WindowEndsAt is the
// first instant after it), for pages that show the window's last day.
func (r Return) LastDay() time.Time { return r.WindowEndsAt.Add(-time.Nanosecond) }

// Cancellable reports whether the shopper may still cancel it.
func (r Return) Cancellable() bool { return CanMove(r.Status, Cancelled, Shopper) }

// ShowsLabel reports whether the drop-off label applies: the return is
// approved and not yet received.
func (r Return) ShowsLabel() bool { return r.Status == Approved || r.Status == InTransit }

// Item is one order line in a return.
type Item struct {
	ID          int64  `db:"id"`
	ReturnID    int64  `db:"return_id"`
	OrderItemID int64  `db:"order_item_id"`
	Quantity    int    `db:"quantity"`
	Reason      string `db:"reason"`
	Comment     string `db:"comment"`
	ExchangeSKU string `db:"exchange_sku"`
	// ValueMinor is what the shopper paid for Quantity units.
	ValueMinor  int64 `db:"value_minor"`
	ReceivedQty *int  `db:"received_qty"`
	DamagedQty  *int  `db:"damaged_qty"`

	LineNo         int    `db:"line_no"`
	SKU            string `db:"sku"`
	Title          string `db:"title"`
	UnitPriceMinor int64  `db:"unit_price_minor"`
	// ReasonLabel is the store's wording of Reason, filled by the service.
	ReasonLabel string `db:"-"`
}

// Received is the number of units checked in (0 before receipt).
func (it Item) Received() int {
	if it.ReceivedQty == nil {
		return 0
	}
	return *it.ReceivedQty
}

// Damaged is the number of received units found damaged.
func (it Item) Damaged() int {
	if it.DamagedQty == nil {
		return 0
	}
	return *it.DamagedQty
}

// Event is one change in a return's history.
type Event struct {
	ID        int64     `db:"id"`
	ReturnID  int64     `db:"return_id"`
	Status    Status    `db:"status"`
	Actor     string    `db:"actor"`
	Note      string    `db:"note"`
	CreatedAt time.Time `db:"created_at"`
	// ActorName is the staff member's name for "staff:<id>", else "".
	ActorName string `db:"actor_name"`
}

// Who names the actor for staff: the staff member's name, "Shopper" or
// "Automatically".
func (e Event) Who() string {
	switch {
	case e.ActorName != "":
		return e.ActorName
	case strings.HasPrefix(e.Actor, "shopper:"):
		return "Shopper"
	case e.Actor == "system":
		return "Automatically"
	}
	return e.Actor
}

// Photo describes a stored photo (its bytes are read separately).
type Photo struct {
	ID           int64     `db:"id"`
	ReturnID     int64     `db:"return_id"`
	ReturnItemID *int64    `db:"return_item_id"`
	ContentType  string    `db:"content_type"`
	Width        int       `db:"width"`
	Height       int       `db:"height"`
	Size         int       `db:"size"`
	CreatedAt    time.Time `db:"created_at"`
}

// Product is a SKU the shopper may pick for an exchange.
type Product struct {
	SKU   string `db:"sku"`
	Title string `db:"title"`
}

// AmountMinor is the money refunded or credited, 0 when none.
func (r Return) AmountMinor() int64 {
	if r.ResolvedMinor == nil {
		return 0
	}
	return *r.ResolvedMinor
}

// CreditCode is the promotion code of a credit given as one, or "".
func (r Return) CreditCode() string {
	if r.Status == Credited && strings.HasPrefix(r.ResolutionRef, "CREDIT-") {
		return r.ResolutionRef
	}
	return ""
}

// HistoryEntry is one change as the shopper reads it.
type HistoryEntry struct {
	ISO, When string
	Status    Status
	Note      string
	Who       string // "You", "Our team", "Automatically"
}

// History is the return's changes, newest first, with times in zone, for
// the shopper's pages.
func (r Return) History(zone string) []HistoryEntry {
	loc, ok := settings.Zone(zone)
	if !ok {
		loc = time.UTC
	}
	out := make([]HistoryEntry, 0, len(r.Events))
	for _, e := range r.Events {
		who := "Our team"
		switch {
		case strings.HasPrefix(e.Actor, "shopper:"):
			who = "You"
		case e.Actor == "system":
			who = "Automatically"
		}
		out = append(out, HistoryEntry{
			ISO: e.CreatedAt.UTC().Format(time.RFC3339), When: e.CreatedAt.In(loc).Format("Mon 2 Jan 2006, 15:04"),
			Status: e.Status, Note: shopperNote(e), Who: who,
		})
	}
	return out
}

// shopperNote is the part of a history note the shopper may read: staff
// notes on condition and failures stay in the admin.
func shopperNote(e Event) string {
	switch e.Status {
	case Rejected, Cancelled, Refunded, Credited, Exchanged:
		return e.Note
	case Requested:
		return e.Note
	}
	return ""
}

// Attempted is the method of the first resolution attempt, or "".
func (r Return) Attempted() string {
	if r.ResolvedMethod == nil {
		return ""
	}
	return string(*r.ResolvedMethod)
}
