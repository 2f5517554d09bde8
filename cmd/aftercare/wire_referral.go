package main

import (
	"context"
	"fmt"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/referral"
	"github.com/aftercare/aftercare/referral/rewards"
)

// rewardSweepEvery is how often held rewards are looked at; holds last
// weeks, and failed grants are retried by their own scheduled jobs.
const rewardSweepEvery = 5 * time.Minute

// wireReferral plugs in the referral program: codes, share links and QR
// codes, the friend's landing (/r/:code), attribution of incoming orders,
// Stripe rewards with holds and clawbacks, the Refer page, the order page's
// referral section, the invite and reward emails, and /admin/referrals.
func wireReferral(w *wiring) error {
	rw := rewards.NewService(rewards.Options{
		DB: w.pool, Gateway: rewards.NewStripeGateway(w.stripe), Queue: w.queue, Outbox: w.outbox,
		Returns: openReturnsSQL{db: w.pool}, Logger: w.log,
	})
	rw.Register(w.queue, rewardSweepEvery)
	svc := referral.NewService(referral.Options{
		DB: w.pool, Orders: w.commerce, Rewards: rw, Bus: w.bus, Outbox: w.outbox, Limiter: w.limiter,
		BaseURL: w.cfg.BaseURL, Logger: w.log,
		// The landing (/r/:code) and the order page's panel read codes and
		// the program from memory, and visits are written in batches.
		CacheTTL: referral.DefaultCacheTTL, VisitFlushEvery: referral.DefaultVisitFlushEvery,
	})
	w.flushers = append(w.flushers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			w.log.Error("referral: write the last visits", "error", err)
		}
	})
	svc.Subscribe(w.bus)
	for kind, c := range svc.Composers(w.renderer) {
		w.composers[kind] = c
	}
	h := referral.NewHandlers(svc, w.cfg.SecureCookies)
	// Rendered on every view (the program is cached by TTL, not under the
	// page's key); the same program is rendered once (portal.MemoRender).
	panelRender := portal.MemoRender(w.views.Partial)
	w.panels = append(w.panels, portal.PanelFunc(func(ctx context.Context, _ portal.PanelContext) (template.HTML, error) {
		return svc.Panel(ctx, panelRender)
	}))
	w.public = append(w.public, func(app *fiber.App) { h.PublicRoutes(app) })
	w.shopper = append(w.shopper, func(app *fiber.App) { h.ShopperRoutes(app) })
	w.admin = append(w.admin, h.AdminRoutes)
	w.shell.AddNav("Referrals", "/admin/referrals", staff.RoleSupport)
	return nil
}

// openReturnsSQL answers rewards.OpenReturns from the returns feature's
// table: a return that is not settled (requested, approved, in transit,
// received, or a failed resolution) keeps the order's reward on hold. The
// returns package offers no such query of its own; without its table (a
// build without returns) no order has an open return.
type openReturnsSQL struct{ db *sqlx.DB }

func (o openReturnsSQL) OpenReturns(ctx context.Context, orderID int64) (bool, error) {
	var open bool
	err := o.db.GetContext(ctx, &open, `SELECT to_regclass('return_requests') IS NOT NULL`)
	if err != nil || !open {
		return false, err
	}
	err = o.db.GetContext(ctx, &open, `SELECT EXISTS (SELECT 1 FROM return_requests WHERE order_id = $1
		AND status NOT IN ('rejected', 'refunded', 'credited', 'exchanged', 'cancelled'))`, orderID)
	if err != nil {
		return false, fmt.Errorf("referral: open returns of order %d: %w", orderID, err)
	}
	return open, nil
}
