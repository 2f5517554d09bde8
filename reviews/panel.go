package reviews

import (
	"context"
	"html/template"
)

// OrderPanel renders the order page's "Your reviews" section: each line
// with its review (stars, where it stands, the store's reply) or a link to
// write one; nothing for a refunded or cancelled order.
func (s *Service) OrderPanel(ctx context.Context, views Partials, customerID, orderID int64) (template.HTML, error) {
	items, err := s.ForOrder(ctx, customerID, orderID)
	if err != nil || len(items) == 0 {
		return "", err
	}
	if st := items[0].OrderStatus; st == "refunded" || st == "cancelled" {
		return "", nil
	}
	return views.Partial("reviews_panel", map[string]any{"items": items})
}
