package main

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/web"
)

// wiring is what a feature package plugs into: the shared parts, and lists
// the feature appends to. Each feature has one wire function in its own
// file (wire_<feature>.go), listed in features; buildApp calls them in
// order, then mounts what they collected.
type wiring struct {
	cfg      config.Config
	log      *slog.Logger
	pool     *sqlx.DB
	queue    *jobs.Queue
	bus      *events.Bus
	outbox   *mail.Outbox
	renderer *mail.Renderer
	views    *web.Engine
	links    *auth.Links
	limiter  *auth.RateLimiter
	commerce *commerce.Service
	// stripe is nil when no Stripe key is configured.
	stripe *client.API
	shell  *staff.Shell

	// composers render each email kind; add the kinds the feature sends.
	composers map[string]mail.Composer
	// finish, when set, finishes every composed email (footer links,
	// unsubscribe headers, tracking); buildApp applies it after all features.
	finish mail.Finisher
	// panels are sections of the shopper's order page.
	panels []portal.Panel
	// public routes need no sign-in (webhooks, the storefront read API,
	// referral landing pages); mounted before the API-key group.
	public []func(app *fiber.App)
	// api routes live under /api/v1 behind the API key.
	api []func(r fiber.Router)
	// admin routes live under /admin with staff sessions loaded; each route
	// or sub-group must add staff.Require itself.
	admin []func(admin fiber.Router)
	// shopper routes are mounted after the shopper session is loaded; each
	// must add auth.RequireCustomer itself where sign-in is needed.
	shopper []func(app *fiber.App)
	// flushers write what a feature keeps in memory for a moment (the
	// referral landing's visits); App runs them once HTTP has stopped, and
	// on Close. Each may run more than once.
	flushers []func()
}

// features lists the wire functions of the feature packages, in order.
var features = []func(*wiring) error{wireReturns, wireReferral, wireJourney, wireIntegrations, wireDashboard}
