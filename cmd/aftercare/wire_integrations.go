package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/integrations"
	"github.com/aftercare/aftercare/internal/integrations/aftership"
	"github.com/aftercare/aftercare/internal/integrations/easypost"
	"github.com/aftercare/aftercare/internal/integrations/shopify"
	"github.com/aftercare/aftercare/internal/integrations/stripehook"
	"github.com/aftercare/aftercare/internal/integrations/woocommerce"
	"github.com/aftercare/aftercare/internal/staff"
)

// wireIntegrations plugs in the store and carrier integrations: the webhook
// inbox at /webhooks/{provider} (Shopify, WooCommerce, Stripe, EasyPost,
// AfterShip), its processing job, the abandoned checkout reminder, the
// staff's webhook list with replay, and the integrations settings.
func wireIntegrations(w *wiring) error {
	checkouts := integrations.NewCheckouts(w.pool, w.queue, w.outbox, w.log)
	deps := integrations.NewDeps(w.pool, w.commerce, checkouts, w.log)
	inbox := integrations.NewInbox(w.pool, w.queue, w.log,
		shopify.New(deps), woocommerce.New(deps), stripehook.New(deps, stripehook.NewLookup(w.stripe)),
		easypost.New(deps), aftership.New(deps))
	w.composers[integrations.CheckoutMailKind] = checkouts.CheckoutComposer(w.renderer)
	w.public = append(w.public, func(app *fiber.App) { inbox.Routes(app) })
	w.admin = append(w.admin, integrations.NewAdmin(w.pool, inbox, w.cfg.BaseURL).Routes)
	w.shell.AddNav("Webhooks", "/admin/webhooks", staff.RoleSupport)
	w.shell.AddNav("Integrations", "/admin/settings/integrations", staff.RoleAdmin)
	w.queue.Every("webhooks.prune", 24*time.Hour, func(ctx context.Context) error {
		_, err := inbox.Prune(ctx, integrations.Retention)
		return err
	})
	return nil
}
