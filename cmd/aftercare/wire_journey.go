package main

import (
	"context"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/guides"
	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/notify"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/reviews"
)

// wireJourney plugs in how-to guides, verified reviews and the email
// journey: the scheduled emails (review request and reminder,
// replenishment, recommendations, win-back), the order page's guides,
// reviews and recommendations, the review form, the storefront's review
// API and widget, the preferences and unsubscribe pages, open and click
// tracking, and the staff's guides, reviews and journey pages.
//
// Its finisher (preferences link, unsubscribe headers on marketing mail,
// tracking) is applied by buildApp to every kind, whichever feature adds it.
func wireJourney(w *wiring) error {
	engine := journey.NewEngine(w.pool, w.queue, w.outbox, journey.Options{Stripe: w.stripe})
	engine.Register()
	engine.WarmUp()
	engine.Subscribe(w.bus)
	reviews.NewRequests(engine).Subscribe(w.bus)

	reviewSvc := reviews.NewService(w.pool, w.bus, nil)
	guideSvc := guides.NewService(w.pool, nil)
	signer := journey.NewLinks(w.cfg.SigningKeys, w.cfg.BaseURL)
	for kind, c := range engine.Composers(w.links, w.renderer, w.cfg.BaseURL) {
		w.composers[kind] = c
	}
	for kind, c := range reviews.Composers(w.pool, engine, w.links, w.renderer, w.cfg.BaseURL) {
		w.composers[kind] = c
	}
	w.finish = journey.NewFinisher(w.pool, signer, notify.KindLoginLink, staff.MailKind)

	guideH := guides.NewHandlers(guideSvc, w.views)
	reviewH := reviews.NewHandlers(reviewSvc, w.pool, w.links, auth.NewSessions(w.pool, w.cfg.SecureCookies))
	reviewAPI := reviews.NewAPI(reviewSvc, w.pool, w.views)
	journeyH := journey.NewHandlers(engine, signer)

	w.public = append(w.public, func(app *fiber.App) {
		reviewAPI.Routes(app)
		journeyH.Routes(app)
	})
	w.api = append(w.api, guideH.APIRoutes)
	w.shopper = append(w.shopper, func(app *fiber.App) {
		guideH.Routes(app)
		reviewH.Routes(app)
	})
	w.admin = append(w.admin, guideH.AdminRoutes, reviewH.AdminRoutes, journeyH.AdminRoutes)
	w.shell.AddNav("Reviews", "/admin/reviews", staff.RoleSupport)
	w.shell.AddNav("Guides", "/admin/guides", staff.RoleSupport)
	w.shell.AddNav("Email journey", "/admin/journey", staff.RoleAdmin)

	w.panels = append(w.panels,
		portal.PanelFunc(func(ctx context.Context, pc portal.PanelContext) (template.HTML, error) {
			return guideH.OrderPanel(ctx, pc.CustomerID, pc.OrderID)
		}),
		portal.PanelFunc(func(ctx context.Context, pc portal.PanelContext) (template.HTML, error) {
			return reviewSvc.OrderPanel(ctx, w.views, pc.CustomerID, pc.OrderID)
		}),
		portal.PanelFunc(func(ctx context.Context, pc portal.PanelContext) (template.HTML, error) {
			return engine.OrderPanel(ctx, w.views, pc.CustomerID, pc.OrderID)
		}))

	// Reviews nobody checked are published after the store's limit, so
	// that waiting for moderation never hides one for good.
	w.queue.Every("reviews.publish_overdue", time.Hour, func(ctx context.Context) error {
		_, err := reviewSvc.PublishOverdue(ctx)
		return err
	})
	return nil
}
