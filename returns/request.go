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
	"github.com/aftercare/aftercare/web"
)

// RequestInput is a shopper's return request as the form sends it. Lines
// not being returned may be listed with Quantity 0.
type RequestInput struct {
	OrderID int64
	// IdempotencyKey comes from a hidden field of the form: a second submit
	// of the same form finds the return the first one made.
	IdempotencyKey string
	Resolution     Resolution
	// Withdrawal is an EU withdrawal: every returnable unit, no reason,
	// refunded.
	Withdrawal bool
	Items      []RequestItem
}

// RequestItem is one order line in a request.
type RequestItem struct {
	OrderItemID int64
	Quantity    int
	Reason      string
	Comment     string
	ExchangeSKU string
	Photos      []Upload
}

// Upload is a file as the form sent it; its name and declared type are not
// trusted.
type Upload struct {
	Data []byte
}

// itemField names a field of an item in errors, by its order line id, as
// the form names its inputs.
func itemField(orderItemID int64, name string) string {
	return fmt.Sprintf("items[%d].%s", orderItemID, name)
}

// Request records a return of the customer's order, or returns the one a
// previous submit with the same idempotency key made (created false). The
// order is locked while eligibility is decided, so two requests cannot
// claim the same units. A request within the auto-approval rules is
// approved at once. Errors: fault.NotFound for a missing or another
// customer's order; a fault.Fields error (items[<line id>].<field>) for
// anything the shopper must correct, forged fields included; fault.TooLarge
// for an oversize photo.
func (s *Service) Request(ctx context.Context, customerID int64, in RequestInput) (Return, bool, error) {
	key := strings.TrimSpace(in.IdempotencyKey)
	if key == "" || len(key) > 100 {
		return Return{}, false, fault.Errorf(fault.Invalid, "This form is out of date. Please go back to your order and start the return again.")
	}
	var out Return
	var created bool
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		a, p, err := s.assess(ctx, tx, customerID, in.OrderID, true)
		if err != nil {
			return err
		}
		if r, err := getReturn(ctx, tx, false, "r.customer_id = $1 AND r.idempotency_key = $2", customerID, key); err == nil {
			if r.OrderID != in.OrderID {
				return fault.Errorf(fault.Conflict, "This form was already used for another order.")
			}
			out = r
			return nil
		} else if !fault.Is(err, fault.NotFound) {
			return err
		}
		nr, err := s.validate(ctx, tx, a, p, in)
		if err != nil {
			return err
		}
		nr.CustomerID, nr.IdempotencyKey = customerID, key
		auto, note := decide(p, nr)
		nr.ReviewNote = note
		if out, err = s.insert(ctx, tx, nr); err != nil {
			return err
		}
		created = true
		actor := audit.Shopper(customerID)
		// An approved request gets the approval email alone.
		if err := s.record(ctx, tx, &out, Requested, actor, requestNote(nr), map[string]any{"value": nr.ValueMinor, "resolution": nr.Resolution}, !auto); err != nil {
			return err
		}
		if auto {
			if err := s.move(ctx, tx, &out, Approved, System, audit.System, note, change{}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Return{}, false, err
	}
	return out, created, s.fill(ctx, s.db, &out)
}

// insert stores nr under a fresh RMA number, drawing again on a clash.
func (s *Service) insert(ctx context.Context, tx *sqlx.Tx, nr newReturn) (Return, error) {
	for range 8 {
		rma, err := newRMA()
		if err != nil {
			return Return{}, err
		}
		nr.RMA = rma
		id, ok, err := insertReturn(ctx, tx, nr)
		if err != nil {
			return Return{}, err
		}
		if ok {
			return getReturn(ctx, tx, true, "r.id = $1", id)
		}
	}
	return Return{}, fmt.Errorf("returns: no free RMA number after 8 draws")
}

// validate checks a request against the order's eligibility and the policy.
func (s *Service) validate(ctx context.Context, q sqlx.QueryerContext, a Assessment, p Policy, in RequestInput) (newReturn, error) {
	var f fault.Fields
	nr := newReturn{OrderID: a.Order.ID, Currency: a.Order.Currency, Resolution: in.Resolution, Withdrawal: in.Withdrawal}
	if in.Withdrawal {
		if !p.EUMode {
			return nr, fault.Errorf(fault.Invalid, "This store does not offer withdrawal from a purchase; please choose the items to return.")
		}
		nr.Resolution = Refund
	} else if !nr.Resolution.Valid() || !p.Allows(nr.Resolution) {
		f.Add("resolution", "must be one of the choices offered")
	}
	seen := map[int64]bool{}
	photos := 0
	for _, it := range in.Items {
		if it.Quantity == 0 {
			continue
		}
		line, ok := a.Line(it.OrderItemID)
		if !ok || seen[it.OrderItemID] {
			f.Add(itemField(it.OrderItemID, "quantity"), "is not an item of this order")
			continue
		}
		seen[it.OrderItemID] = true
		switch {
		case it.Quantity < 0:
			f.Add(itemField(line.OrderItemID, "quantity"), "must not be negative")
			continue
		case line.Available == 0:
			f.Add(itemField(line.OrderItemID, "quantity"), "cannot be returned: "+lowerFirst(line.Why))
			continue
		case it.Quantity > line.Available:
			f.Add(itemField(line.OrderItemID, "quantity"), fmt.Sprintf("must be at most %d", line.Available))
			continue
		}
		ni := newItem{OrderItemID: line.OrderItemID, Quantity: it.Quantity, ValueMinor: PaidValue(a.Order, line.UnitPriceMinor, it.Quantity)}
		ni.Reason = it.Reason
		if in.Withdrawal {
			ni.Reason = ReasonWithdrawal
		}
		reason, ok := p.Reason(ni.Reason)
		if !ok {
			f.Add(itemField(line.OrderItemID, "reason"), "must be one of the reasons listed")
		}
		ni.Comment = strings.TrimSpace(it.Comment)
		if reason.NeedsComment() && ni.Comment == "" {
			f.Add(itemField(line.OrderItemID, "comment"), "is needed: tell us what is wrong")
		} else if utf8.RuneCountInString(ni.Comment) > 1000 {
			f.Add(itemField(line.OrderItemID, "comment"), "must be at most 1000 characters")
		}
		if nr.Resolution == Exchange {
			sku := strings.TrimSpace(it.ExchangeSKU)
			if sku == "" {
				sku = line.SKU
			}
			if _, found, err := productBySKU(ctx, q, sku); err != nil {
				return nr, err
			} else if !found {
				f.Add(itemField(line.OrderItemID, "exchange_sku"), "must be a product of the store")
			}
			ni.ExchangeSKU = sku
		}
		// Photos belong to damage claims; others are not kept.
		if reason.NeedsPhotos() {
			for _, up := range it.Photos {
				photos++
				if photos > MaxPhotos {
					break
				}
				ph, err := CheckPhoto(itemField(line.OrderItemID, "photos"), up.Data)
				if err != nil {
					return nr, err
				}
				ni.Photos = append(ni.Photos, ph)
			}
			if len(it.Photos) == 0 {
				f.Add(itemField(line.OrderItemID, "photos"), "are needed: add a photo that shows the problem")
			}
		}
		nr.ValueMinor += ni.ValueMinor
		if line.WindowEndsAt.After(nr.WindowEndsAt) {
			nr.WindowEndsAt = line.WindowEndsAt
		}
		nr.Items = append(nr.Items, ni)
	}
	if photos > MaxPhotos {
		f.Add("photos", fmt.Sprintf("must be at most %d in one return", MaxPhotos))
	}
	if len(seen) == 0 && len(f) == 0 {
		f.Add("items", "choose at least one item to return")
	}
	return nr, f.Err()
}

// decide applies the auto-approval rules: it returns whether the request is
// approved at once, and a note saying why or why not.
func decide(p Policy, nr newReturn) (bool, string) {
	if nr.Withdrawal {
		return true, "Withdrawal within the legal period: approved automatically."
	}
	if !p.AutoApprove {
		return false, "Needs review: automatic approval is off."
	}
	var why []string
	if nr.ValueMinor > p.AutoApproveMaxMinor {
		why = append(why, "worth more than "+web.Money(p.AutoApproveMaxMinor, nr.Currency))
	}
	if p.AutoApproveNoDamage {
		for _, it := range nr.Items {
			if claimsDamage(it.Reason) {
				why = append(why, "claims damage")
				break
			}
		}
	}
	if len(why) > 0 {
		return false, "Needs review: " + strings.Join(why, ", ") + "."
	}
	note := "Approved automatically: within the window, at most " + web.Money(p.AutoApproveMaxMinor, nr.Currency)
	if p.AutoApproveNoDamage {
		note += ", no damage claim"
	}
	return true, note + "."
}

// requestNote summarizes a request for its history row.
func requestNote(nr newReturn) string {
	units := 0
	for _, it := range nr.Items {
		units += it.Quantity
	}
	if units == 1 {
		return fmt.Sprintf("1 item, %s", Resolution(nr.Resolution).Label())
	}
	return fmt.Sprintf("%d items, %s", units, Resolution(nr.Resolution).Label())
}

func lowerFirst(s string) string { return lower(s) }
