// Package server assembles the Fiber application: middleware, the one place
// where errors become status codes and pages, health, readiness and metrics.
// Feature packages mount their routes on the returned app in cmd.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/web"
)

// Options are the server's dependencies and limits.
type Options struct {
	DB           *sqlx.DB
	Logger       *slog.Logger
	Views        *web.Engine
	Metrics      *Metrics
	DBTimeout    time.Duration
	MaxBodyBytes int
	// ReadTimeout bounds the reading of one request, headers and body, so a
	// client that drips its body (slowloris) loses the connection; 0 is 15 s.
	ReadTimeout    time.Duration
	SecureCookies  bool
	TrustedProxies []string
	// BaseURL is the public origin; unsafe requests from another origin are refused.
	BaseURL string
	// RelaxedSettings lists path prefixes of anonymous GET pages (the
	// referral landing) that may show the store's settings up to
	// settings.RelaxedAge old instead of reading the cache epochs per
	// request: the one query those pages would otherwise make.
	RelaxedSettings []string
	// SessionSettings lists path prefixes of GET pages that
	// auth.Sessions.Load always runs in front of (nothing answers them
	// before it). Their settings epochs are read in the statement that
	// reads the session (settings.Defer) instead of a read of their own.
	SessionSettings []string
	// QuietPaths lists path prefixes of GET pages whose answers below 400
	// are counted in the metrics but not written to the access log (errors
	// still are): the referral landing, opened at a campaign's rate, records
	// each visit in its own table, and its log line was a tenth of its CPU.
	QuietPaths []string
	// AfterWrite, when set, runs after each request whose method may write
	// (anything but GET, HEAD and OPTIONS) has been answered, before the
	// answer is sent: the change feed's fence (internal/changefeed).
	AfterWrite func()
}

// New returns the application with middleware, health and metrics routes.
func New(o Options) *fiber.App {
	if o.DBTimeout == 0 {
		o.DBTimeout = 5 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 15 * time.Second
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	eh := &errorHandler{log: o.Logger}
	cfg := fiber.Config{
		AppName:                 "aftercare",
		Immutable:               true,
		BodyLimit:               o.MaxBodyBytes,
		ReadTimeout:             o.ReadTimeout,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             90 * time.Second,
		ReadBufferSize:          16 * 1024,
		PassLocalsToViews:       true,
		ErrorHandler:            eh.handle,
		DisableStartupMessage:   true,
		EnableTrustedProxyCheck: len(o.TrustedProxies) > 0,
		TrustedProxies:          o.TrustedProxies,
	}
	if o.Views != nil {
		cfg.Views = o.Views // a nil *web.Engine inside the interface would be called
	}
	if len(o.TrustedProxies) > 0 {
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
	}
	app := fiber.New(cfg)
	warmUpRender(app)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e interface{}) {
		o.Logger.Error("panic", "request_id", RequestID(c), "panic", e)
	}}))
	app.Use(front(o))
	app.Use(storeSettings(o.DB, o.RelaxedSettings, o.SessionSettings))
	app.Use(CSRF(CSRFConfig{Secure: o.SecureCookies, BaseURL: o.BaseURL}))
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(web.Static()), MaxAge: 3600}))

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := o.DB.PingContext(ctx); err != nil {
			o.Logger.Warn("not ready", "error", err)
			return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
		}
		return c.SendString("ready")
	})
	app.Get("/metrics", o.Metrics.handler())
	return app
}

// storeSettings puts the store's branding in the view locals of every page,
// and starts the request's view of the settings cache: one read of the
// cache epochs, after which the settings every part of the page reads come
// from memory while they are current.
//
// On the pages in deferred (GET only) the epochs are read later, with the
// session, and the branding is put in the locals then (settings.Defer).
func storeSettings(db *sqlx.DB, relaxed, deferred []string) fiber.Handler {
	cache := settings.NewCache(db)
	return func(c *fiber.Ctx) error {
		p := c.Path()
		if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/static/") || p == "/metrics" || p == "/healthz" || p == "/readyz" {
			return c.Next()
		}
		if c.Method() == fiber.MethodGet && hasAnyPrefix(p, deferred) {
			c.SetUserContext(cache.Defer(c.UserContext(), func(ctx context.Context) error {
				s, err := settings.Load(ctx, db)
				if err != nil {
					return err
				}
				c.Locals("store", boxStore(s))
				return nil
			}))
			return c.Next()
		}
		begin := cache.Begin
		if c.Method() == fiber.MethodGet && hasAnyPrefix(p, relaxed) {
			begin = cache.BeginRelaxed
		}
		ctx, _, err := begin(c.UserContext())
		if err != nil {
			return err
		}
		c.SetUserContext(ctx)
		s, err := settings.Load(ctx, db)
		if err != nil {
			return err
		}
		c.Locals("store", boxStore(s))
		return c.Next()
	}
}

// boxedStore is the settings last put in a request's locals, boxed.
type boxedStore struct {
	s settings.Store
	v any
}

var lastStore atomic.Pointer[boxedStore]

// boxStore returns s as an interface value, the same one while the
// settings do not change: boxing them anew cost an allocation of the whole
// struct per page.
func boxStore(s settings.Store) any {
	if b := lastStore.Load(); b != nil && b.s == s {
		return b.v
	}
	b := &boxedStore{s: s, v: s}
	lastStore.Store(b)
	return b.v
}

func hasAnyPrefix(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// warmUpRender renders once, into nothing, before the app serves. Fiber
// builds its list of (mounted) apps lazily in the first Render, without a
// lock, so two first pages rendered at once race (seen under -race when 40
// shoppers arrived together). The render itself fails: no template has this
// name.
func warmUpRender(app *fiber.App) {
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	_ = c.Render("aftercare-warm-up-no-such-template", nil) //nolint:errcheck // expected to fail; only its side effect counts
}
