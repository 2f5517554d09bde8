package returns

import (
	"context"
	"html/template"
	"time"

	"github.com/aftercare/aftercare/internal/pagecache"
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
	a, p, rs, err := h.svc.panel(ctx, customerID, orderID)
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

// panelFacts is what the returns section reads from the database about one
// order; within an order page it is cached under the page's version, which
// moves with any change to the order, its returns, the settings (the reason
// labels come from the policy) or the catalog (returnable products).
type panelFacts struct {
	Facts   OrderFacts
	Returns []Return
}

// panel returns the section's assessment (made afresh: the window closes
// with time, not with a write), the policy and the order's returns.
func (s *Service) panel(ctx context.Context, customerID, orderID int64) (Assessment, Policy, []Return, error) {
	f, err := s.panels.Load(ctx, orderID, func() (panelFacts, error) {
		o, err := loadOrderFacts(ctx, s.db, customerID, orderID, false)
		if err != nil {
			return panelFacts{}, err
		}
		rs, err := s.OrderReturns(ctx, customerID, orderID)
		return panelFacts{Facts: o, Returns: rs}, err
	})
	if err != nil {
		return Assessment{}, Policy{}, nil, err
	}
	p, err := LoadPolicy(ctx, s.db)
	if err != nil {
		return Assessment{}, p, nil, err
	}
	loc, err := s.storeZone(ctx, s.db)
	if err != nil {
		return Assessment{}, p, nil, err
	}
	now := s.now()
	// Kept rendered with the order page (internal/pagecache): it shows the
	// order, its returns and the settings, all under the page's key, and
	// the clock, which changes it only when a delivery's window closes.
	pagecache.Stable(ctx)
	pagecache.Until(ctx, nextWindowEnd(f.Facts, p.Days(), now, loc))
	return Assess(f.Facts, p, now, loc), p, f.Returns, nil
}

// nextWindowEnd is the first instant after now at which one of the
// order's return windows closes, zero when none is open.
func nextWindowEnd(o OrderFacts, days int, now time.Time, loc *time.Location) time.Time {
	var next time.Time
	for _, l := range o.Lines {
		for _, d := range l.Deliveries {
			if end := WindowEnd(d.At, days, loc); now.Before(end) && (next.IsZero() || end.Before(next)) {
				next = end
			}
		}
	}
	return next
}
