package returns

import (
	"context"
	"html/template"
	"time"
)

// PanelData is what the order page's returns section (the partial
// "returns_panel") shows.
type PanelData struct {
	OrderID int64
	CSRF    string
	Zone    string
	// Any is set when at least one unit may be returned now.
	Any    bool
	EUMode bool
	Days   int
	// Blocked lists the lines that cannot be returned, with why, when
	// nothing can.
	Blocked []LineEligibility
	Returns []Return
}

// OrderPanel renders the returns section of one of the customer's orders:
// "Return items" when anything is eligible (and "Withdraw from this
// purchase" in EU mode), why not when nothing is, and each return with its
// status, history and a cancel button until it is received. It returns ""
// when there is nothing to say. The caller has checked that the order is
// the customer's; every query is scoped by the customer anyway.
func (h *Handlers) OrderPanel(ctx context.Context, customerID, orderID int64, csrf string, loc *time.Location) (template.HTML, error) {
	a, p, err := h.svc.Eligibility(ctx, customerID, orderID)
	if err != nil {
		return "", err
	}
	rs, err := h.svc.OrderReturns(ctx, customerID, orderID)
	if err != nil {
		return "", err
	}
	d := PanelData{OrderID: orderID, CSRF: csrf, Any: a.Any(), EUMode: p.EUMode, Days: a.Days, Returns: rs, Zone: "UTC"}
	if loc != nil {
		d.Zone = loc.String()
	}
	// Before anything arrives there is nothing to explain yet.
	delivered := false
	for _, l := range a.Lines {
		delivered = delivered || len(l.Deliveries) > 0
	}
	if !d.Any && delivered {
		for _, l := range a.Lines {
			if l.Why != "" {
				d.Blocked = append(d.Blocked, l)
			}
		}
	}
	if !d.Any && len(d.Returns) == 0 && len(d.Blocked) == 0 {
		return "", nil
	}
	return h.views.Partial("returns_panel", d)
}
