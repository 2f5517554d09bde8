package referral

import (
	"context"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/auth"
)

// refer is the shopper's Refer page: code, link, QR, terms and ledger.
func (h *Handlers) refer(c *fiber.Ctx) error {
	pg, err := h.svc.ReferPage(c.UserContext(), auth.CustomerID(c), h.device(c))
	if err != nil {
		return err
	}
	v := QRVersion(pg.Link)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render("referral/refer", fiber.Map{
		"page": pg, "qrPNG": "/r/" + pg.Code.Code + "/qr.png?v=" + v, "qrSVG": "/r/" + pg.Code.Code + "/qr.svg?v=" + v,
	})
}

// PanelData is what the order page's referral section (partial
// referral_panel) shows.
type PanelData struct {
	Offer, Reward string
}

// Panel renders the order page's section that points to the Refer page,
// or nothing while the program is off. render draws a partial (the web
// engine's Partial). It runs on every order page: with Options.CacheTTL it
// reads nothing from the database within the TTL.
func (s *Service) Panel(ctx context.Context, render func(name string, data any) (template.HTML, error)) (template.HTML, error) {
	pv, err := s.programView(ctx)
	if err != nil || !pv.p.Enabled {
		return "", err
	}
	return render("referral_panel", PanelData{Offer: pv.offer, Reward: pv.reward})
}
