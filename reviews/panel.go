package reviews

import (
	"context"
	"html/template"

	"github.com/aftercare/aftercare/internal/pagecache"
)

// OrderPanel renders the order page's "Your reviews" section: each line
// with its review (stars, where it stands, the store's reply) or a link to
// write one; nothing for a refunded or cancelled order.
func (s *Service) OrderPanel(ctx context.Context, views Partials, customerID, orderID int64) (template.HTML, error) {
	items, err := s.ForOrder(ctx, customerID, orderID)
	if err != nil {
		return "", err
	}
	// Kept rendered with the order page: the order's reviews are under its
	// key, and nothing here depends on the clock.
	pagecache.Stable(ctx)
	if len(items) == 0 {
		return "", nil
	}
	if st := items[0].OrderStatus; st == "refunded" || st == "cancelled" {
		return "", nil
	}
	return views.Partial("reviews_panel", map[string]any{"items": items})
}
