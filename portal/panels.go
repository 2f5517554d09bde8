package portal

import (
	"context"
	"html/template"
	"time"
)

// PanelContext is what a panel knows about the order page it is part of.
type PanelContext struct {
	CustomerID int64
	OrderID    int64
	// CSRF is the token for forms the panel renders (field name `_csrf`).
	CSRF string
	// Location is the store's time zone.
	Location *time.Location
	// Now is the page's clock.
	Now time.Time
}

// Panel renders one section of the order page for a feature that portal
// does not know about (returns, guides, reviews, referrals): the feature
// provides it, cmd wires it in, so feature packages never import each other.
// A panel that has nothing to show returns "" and no error. It must check
// nothing else about authorization: the order is the signed-in customer's.
type Panel interface {
	OrderPanel(ctx context.Context, pc PanelContext) (template.HTML, error)
}

// PanelFunc adapts a function to Panel.
type PanelFunc func(ctx context.Context, pc PanelContext) (template.HTML, error)

// OrderPanel calls f.
func (f PanelFunc) OrderPanel(ctx context.Context, pc PanelContext) (template.HTML, error) {
	return f(ctx, pc)
}

// WithPanel adds a section to the order page, after the delivery and items,
// in the order the panels are added.
func WithPanel(p Panel) Option {
	return func(h *Handlers) { h.panels = append(h.panels, p) }
}

func (h *Handlers) renderPanels(ctx context.Context, pc PanelContext) ([]template.HTML, error) {
	var out []template.HTML
	for _, p := range h.panels {
		html, err := p.OrderPanel(ctx, pc)
		if err != nil {
			return nil, err
		}
		if html != "" {
			out = append(out, html)
		}
	}
	return out, nil
}
