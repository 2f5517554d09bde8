package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/dashboard"
	"github.com/aftercare/aftercare/internal/privacy"
	"github.com/aftercare/aftercare/internal/staff"
)

// wireDashboard makes the KPI dashboard the admin's start page (GET /admin,
// every staff member) with its CSV exports, adds the customer look-up
// (/admin/customers) and the data rights: the shopper's /account/data and
// /account/erase, and the admin's export and erasure on the customer page;
// and the daily staff digest email.
func wireDashboard(w *wiring) error {
	h := dashboard.NewHandlers(dashboard.NewService(w.pool), nil)
	w.shell.SetDashboard(h.Page)
	rights := privacy.NewHandlers(privacy.NewService(w.pool))
	customers := dashboard.NewCustomerHandlers(dashboard.NewCustomers(w.pool, w.outbox))
	w.admin = append(w.admin, h.Routes, rights.AdminRoutes, customers.Routes)
	w.shopper = append(w.shopper, func(app *fiber.App) { rights.Routes(app) })
	w.shell.AddNav("Customers", "/admin/customers", staff.RoleSupport)
	// The digest is checked hourly; its dedupe key holds the day, so each
	// member gets one a day, from 07:00 store time.
	digest := dashboard.NewDigest(w.pool, w.outbox, w.renderer, w.cfg.BaseURL)
	w.composers[dashboard.DigestKind] = digest
	w.queue.Every("dashboard.digest", time.Hour, func(ctx context.Context) error { return digest.Queue(ctx, time.Now()) })
	// The daily rollups behind the dashboard: today, yesterday and changed days.
	rollup := dashboard.NewRollup(w.pool)
	w.queue.Every("dashboard.rollup", dashboard.RollupEvery, func(ctx context.Context) error { return rollup.Refresh(ctx, time.Now()) })
	return nil
}
