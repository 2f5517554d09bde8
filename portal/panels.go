package portal

import (
	"context"
	"html/template"
	"reflect"
	"sync"
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
//
// The page is kept rendered under its key (page.go). A panel whose section
// shows only what that key names (the order's data, settings, catalog) and
// the clock says so with pagecache.Stable, and reports with pagecache.Until
// the instant at which the clock would change it; it is then rendered once
// per key (with a placeholder CSRF token, replaced on every view). Any other
// panel is rendered again for every view.
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

// MemoRender wraps a partial renderer (the web engine's Partial) for a
// section rendered on every view (one that is not kept with the page): it
// remembers the last rendering of each template for its data, and renders
// again only when the data differ. Templates depend on their data alone
// (no template function reads the clock or the request), so a remembered
// rendering is exactly what rendering again would write. Data that cannot
// be compared (holding slices or maps) are always rendered.
func MemoRender(render func(name string, data any) (template.HTML, error)) func(name string, data any) (template.HTML, error) {
	type last struct {
		data any
		html template.HTML
	}
	var mu sync.Mutex
	memo := map[string]last{}
	return func(name string, data any) (template.HTML, error) {
		comparable := data != nil && reflect.ValueOf(data).Comparable()
		if comparable {
			mu.Lock()
			l, ok := memo[name]
			mu.Unlock()
			if ok && l.data == data {
				return l.html, nil
			}
		}
		html, err := render(name, data)
		if err == nil && comparable {
			mu.Lock()
			memo[name] = last{data: data, html: html}
			mu.Unlock()
		}
		return html, err
	}
}
