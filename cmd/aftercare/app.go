package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/changefeed"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/notify"
	"github.com/aftercare/aftercare/internal/payments"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/web"
)

// App is the wired product: database, queue and HTTP application.
type App struct {
	Config   config.Config
	DB       *sqlx.DB
	Queue    *jobs.Queue
	HTTP     *fiber.App
	Links    *auth.Links
	Commerce *commerce.Service
	Events   *events.Bus
	Log      *slog.Logger
	// Feed is the change feed (nil when AFTERCARE_CHANGE_FEED is off).
	Feed *changefeed.Feed
	// flushers write what parts of the app keep in memory for a moment
	// (order-page views); they run once HTTP has stopped, and on Close.
	flushers []func()
}

// appOptions are knobs that tests and dev turn.
type appOptions struct {
	PollInterval time.Duration
	RetryBase    time.Duration
	// JobTimeout and RescueAfter shorten the queue's defaults (2 and 5
	// minutes) for fault tests that wait for a stuck job's rescue.
	JobTimeout  time.Duration
	RescueAfter time.Duration
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) //nolint:errcheck // validated in config
	// slog's JSON handler, through which the server writes its access log
	// lines by hand (server.LogHandler).
	return slog.New(server.NewLogHandler(w, &slog.HandlerOptions{Level: level}))
}

// buildApp connects to the database, migrates when configured, and wires
// every package. The caller owns Close.
func buildApp(ctx context.Context, cfg config.Config, log *slog.Logger, o appOptions) (*App, error) {
	pool, err := db.Open(ctx, cfg.DatabaseURL, db.Options{MaxConns: cfg.DBMaxConns, HotStatements: cfg.DBHotStatements, StatementTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		if err := db.Migrate(ctx, pool.DB, func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }); err != nil {
			pool.Close()
			return nil, err
		}
	}
	metrics := server.NewMetrics(prometheus.NewRegistry())
	queue, err := jobs.New(pool.DB, jobs.Options{Concurrency: cfg.WorkerConcurrency, PollInterval: o.PollInterval, RetryBase: o.RetryBase,
		JobTimeout: o.JobTimeout, RescueAfter: o.RescueAfter, Logger: log})
	if err != nil {
		pool.Close()
		return nil, err
	}
	queue.OnEvent(func(ev *river.Event) {
		metrics.Jobs.WithLabelValues(ev.Job.Kind, string(ev.Kind)).Inc()
	})

	views, err := web.NewEngine(nil)
	if err != nil {
		pool.Close()
		return nil, err
	}
	renderer, err := mail.NewRenderer()
	if err != nil {
		pool.Close()
		return nil, err
	}
	links := auth.NewLinks(pool, cfg.SigningKeys, cfg.BaseURL)
	outbox := mail.NewOutbox(queue)
	var sender mail.Sender
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTPSender(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			pool.Close()
			return nil, err
		}
		sender = s
	}
	bus := events.New(pool, queue)
	commerceSvc := commerce.NewService(pool, outbox).WithEvents(bus)
	sessions := auth.NewSessions(pool, cfg.SecureCookies)
	limiter := auth.NewRateLimiter(pool)
	apiKeys := auth.NewAPIKeys(pool)
	staffSessions := staff.NewSessions(pool, cfg.SecureCookies)
	staffLinks := staff.NewLinks(pool, cfg.BaseURL)
	queue.Every("auth.sweep", time.Hour, func(ctx context.Context) error {
		if _, err := links.Sweep(ctx); err != nil {
			return err
		}
		if _, err := sessions.Sweep(ctx); err != nil {
			return err
		}
		_, err := limiter.Sweep(ctx)
		return err
	})
	queue.Every("staff.sweep", time.Hour, func(ctx context.Context) error {
		if _, err := staffSessions.Sweep(ctx); err != nil {
			return err
		}
		_, err := staffLinks.Sweep(ctx)
		return err
	})

	w := &wiring{
		cfg: cfg, log: log, pool: pool, queue: queue, bus: bus, outbox: outbox, renderer: renderer, views: views,
		links: links, limiter: limiter, commerce: commerceSvc, stripe: payments.NewClient(cfg.StripeSecretKey, cfg.StripeAPIBase),
		shell: staff.NewShell(), composers: notify.Composers(pool, links, renderer, cfg.BaseURL),
	}
	w.composers[staff.MailKind] = staff.Composer(pool, cfg.BaseURL, renderer)
	for _, wire := range features {
		if err := wire(w); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if w.finish != nil {
		mail.Decorate(w.composers, w.finish)
	}
	delivery := mail.NewDelivery(pool, sender, w.composers, mail.DeliveryOptions{
		From:     cfg.MailFrom,
		OnState:  func(kind, state string) { metrics.Emails.WithLabelValues(kind, state).Inc() },
		Settings: settings.NewCache(pool),
	})
	delivery.Register(queue)

	// The change feed lets a signed-in page be answered without reading the
	// session and the order's versions again while nothing they say has
	// changed (internal/changefeed); every write request here fences it.
	var feed *changefeed.Feed
	var afterWrite func()
	if cfg.ChangeFeed {
		feedURL := cfg.ChangeFeedURL
		if feedURL == "" {
			feedURL = cfg.DatabaseURL
		}
		feed = changefeed.Start(feedURL, pool, log)
		feed.Subscribe(sessions.Remember(feed))
		afterWrite = feed.Fence
	}

	app := server.New(server.Options{
		DB: pool, Logger: log, Views: views, Metrics: metrics, DBTimeout: cfg.DBTimeout,
		MaxBodyBytes: cfg.MaxBodyBytes, SecureCookies: cfg.SecureCookies, BaseURL: cfg.BaseURL,
		// The referral landing caches codes and the program for seconds
		// already; its store branding may be a second old too.
		RelaxedSettings: []string{"/r/"},
		// Referral landings are counted in the metrics and recorded as
		// visits; only their failures go to the access log.
		QuietPaths: []string{"/r/"},
		// The shopper's order pages read the settings epochs with the session.
		SessionSettings: []string{"/orders"},
		TrustedProxies:  cfg.TrustedProxies,
		AfterWrite:      afterWrite,
	})
	// Public routes first: webhooks, the storefront's read API, referral links.
	app.Get("/api/v1/openapi.json", commerce.OpenAPIHandler)
	for _, mount := range w.public {
		mount(app)
	}
	apiGroup := app.Group("/api/v1", apiKeys.Require)
	commerce.NewAPI(commerceSvc).Routes(apiGroup)
	for _, mount := range w.api {
		mount(apiGroup)
	}

	// The admin: staff sessions and the shell's navigation on every /admin
	// page. Features mount their staff pages in w.admin and add a section
	// with w.shell.AddNav (see internal/staff).
	admin := app.Group("/admin", staffSessions.Load, w.shell.Load)
	staff.NewHandlers(staff.Options{DB: pool, Accounts: staff.NewAccounts(pool), Links: staffLinks, Sessions: staffSessions,
		Shell: w.shell, Limiter: limiter, Outbox: outbox, Logger: log}).Routes(admin)
	w.shell.AddNav("Staff", "/admin/staff", staff.RoleAdmin)
	w.shell.AddNav("Audit log", "/admin/audit", staff.RoleSupport)
	for _, mount := range w.admin {
		mount(admin)
	}

	// The order page's versions are read with the session.
	sessions.Ride(auth.Rider{Match: portal.OrderPageID, Query: portal.VersionQuery, Keep: portal.KeepVersions})
	app.Use(sessions.Load)
	if cfg.DevMode {
		mail.DevMailbox(pool).Routes(app)
	}
	auth.NewHandlers(pool, links, sessions, limiter, outbox, log).Routes(app)
	app.Get("/", func(c *fiber.Ctx) error {
		if auth.CustomerID(c) != 0 {
			return c.Redirect("/orders", fiber.StatusSeeOther)
		}
		return c.Redirect("/signin", fiber.StatusSeeOther)
	})
	for _, mount := range w.shopper {
		mount(app)
	}
	app.Use("/orders", auth.RequireCustomer)
	portalOpts := []portal.Option{}
	for _, p := range w.panels {
		portalOpts = append(portalOpts, portal.WithPanel(p))
	}
	pageViews := portal.NewViewRecorder(pool, log)
	portalOpts = append(portalOpts, portal.WithViewRecorder(pageViews))
	portal.NewHandlers(pool, portalOpts...).Routes(app)
	app.Use(func(c *fiber.Ctx) error {
		return fiber.NewError(fiber.StatusNotFound, "We could not find that page.")
	})
	return &App{Config: cfg, DB: pool, Queue: queue, HTTP: app, Links: links, Commerce: commerceSvc, Events: bus, Log: log,
		Feed: feed, flushers: append(w.flushers, pageViews.Close)}, nil
}

// Serve works jobs and answers HTTP on ln until ctx ends, then shuts down
// gracefully: in-flight requests finish, running jobs get time to complete.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if err := a.Queue.Start(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- a.HTTP.Listener(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.HTTP.ShutdownWithContext(shutdownCtx); err != nil {
		a.Log.Error("http shutdown", "error", err)
	}
	a.flush()
	if err := a.Queue.Stop(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.Log.Error("queue shutdown", "error", err)
	}
	return serveErr
}

// Close writes what is waiting in memory and releases the database.
func (a *App) Close() error {
	a.flush()
	a.Feed.Close()
	return a.DB.Close()
}

// flush runs the flushers; each may run more than once.
func (a *App) flush() {
	for _, f := range a.flushers {
		f()
	}
}
