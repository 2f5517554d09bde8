package main

import (
	"context"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/returns"
)

// wireReturns plugs in self-service returns: the return_* emails, the
// order page's returns section, the shopper's return pages, the staff's
// returns desk and the return policy settings.
func wireReturns(w *wiring) error {
	svc := returns.NewService(returns.Options{
		DB: w.pool, Commerce: w.commerce, Bus: w.bus, Outbox: w.outbox, Stripe: w.stripe,
	})
	h := returns.NewHandlers(svc, w.views)
	for kind, c := range returns.Composers(w.pool, w.links, w.renderer, w.cfg.BaseURL) {
		w.composers[kind] = c
	}
	w.panels = append(w.panels, portal.PanelFunc(func(ctx context.Context, pc portal.PanelContext) (template.HTML, error) {
		return h.OrderPanel(ctx, pc.CustomerID, pc.OrderID, pc.CSRF, pc.Location)
	}))
	w.shopper = append(w.shopper, func(app *fiber.App) { h.Routes(app) })
	w.admin = append(w.admin, h.AdminRoutes)
	w.shell.AddNav("Returns", "/admin/returns", staff.RoleSupport)
	return nil
}
