package notify

import (
	"context"
	"html/template"
	"net/url"

	"github.com/aftercare/aftercare/internal/guides"
)

// Guide is a how-to guide as the delivered email carries it.
type Guide struct {
	Title    string
	URL      string // the guide's page in the portal
	VideoURL string
	// HTML is the guide, rendered and sanitized; empty when the guide is
	// too long for an email (then only the link goes).
	HTML template.HTML
	// Text is the guide's markdown, for the text part; empty with HTML.
	Text string
}

// Guides in an email: at most maxEmailGuides of them, each in full only up
// to maxEmailGuideBytes of markdown; the rest are links.
const (
	maxEmailGuides     = 3
	maxEmailGuideBytes = 6000
)

// guides returns the guides of the products in shipment shipmentID.
func (n *notifier) guides(ctx context.Context, shipmentID int64) ([]Guide, error) {
	gs, err := guides.ForShipment(ctx, n.db, shipmentID)
	if err != nil {
		return nil, err
	}
	out := make([]Guide, 0, min(len(gs), maxEmailGuides))
	for i, g := range gs {
		if i == maxEmailGuides {
			break
		}
		eg := Guide{Title: g.Title, URL: n.baseURL + "/guides/" + url.PathEscape(g.SKU), VideoURL: g.VideoURL}
		if g.Markdown != "" && len(g.Markdown) <= maxEmailGuideBytes {
			eg.HTML, eg.Text = guides.Render(g.Markdown), g.Markdown
		}
		out = append(out, eg)
	}
	return out, nil
}
