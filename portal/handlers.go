package portal

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pagecache"
	"github.com/aftercare/aftercare/internal/settings"
)

// Handlers serves the shopper's order pages. Mount them behind
// auth.RequireCustomer: they expect a signed-in customer.
type Handlers struct {
	db     *sqlx.DB
	svc    *Service
	now    func() time.Time
	panels []Panel
	views  *ViewRecorder
}

// Option configures Handlers.
type Option func(*Handlers)

// WithClock makes the pages speak of "today" as of now(), for tests.
func WithClock(now func() time.Time) Option {
	return func(h *Handlers) { h.now = now }
}

// WithViewRecorder records page views through r (in batches) instead of
// one insert per view.
func WithViewRecorder(r *ViewRecorder) Option {
	return func(h *Handlers) { h.views = r }
}

// NewHandlers returns the order pages over db.
func NewHandlers(db *sqlx.DB, opts ...Option) *Handlers {
	h := &Handlers{db: db, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.svc = NewService(NewOrders(db), h.now)
	return h
}

// Routes mounts GET /orders (My orders) and GET /orders/:id (one order).
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/orders", h.list)
	r.Get("/orders/:id", h.show)
}

func (h *Handlers) list(c *fiber.Ctx) error {
	who, err := signedIn(c)
	if err != nil {
		return err
	}
	loc, err := h.storeZone(c)
	if err != nil {
		return err
	}
	orders, err := h.svc.MyOrders(c.UserContext(), who, loc)
	if err != nil {
		return err
	}
	private(c)
	return c.Render("portal/orders", fiber.Map{"orders": orders})
}

func (h *Handlers) show(c *fiber.Ctx) error {
	who, err := signedIn(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return errOrderNotFound
	}
	loc, err := h.storeZone(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	// The one read every view makes: it checks the order is the customer's
	// and names the version of everything below, which is then read from
	// memory while it is current (internal/pagecache).
	version, err := h.svc.orders.Version(ctx, who, id)
	if err != nil {
		return err
	}
	if ep, ok := settings.EpochsFrom(ctx); ok {
		ctx = pagecache.WithKey(ctx, pagecache.Key{Order: id, Version: version.Order, Customer: version.Customer,
			Settings: ep.Settings, Catalog: ep.Catalog})
	}
	order, err := h.svc.Order(ctx, who, id, loc)
	if err != nil {
		return err
	}
	if h.views != nil {
		h.views.Record(id, h.now())
	} else if err := h.svc.orders.RecordView(ctx, who, id); err != nil {
		return err
	}
	csrf, _ := c.Locals("csrf").(string)
	panels, err := h.renderPanels(ctx, PanelContext{CustomerID: who, OrderID: id, CSRF: csrf, Location: loc, Now: h.now()})
	if err != nil {
		return err
	}
	private(c)
	return c.Render("portal/order", fiber.Map{"order": order, "panels": panels})
}

// customerID reads the signed-in customer from the locals that
// auth.Sessions.Load sets (key "customerID", int64). It mirrors
// auth.CustomerID so that portal does not depend on the auth package; the
// two must agree on the key and type.
func customerID(c *fiber.Ctx) int64 {
	id, _ := c.Locals("customerID").(int64)
	return id
}

// signedIn returns the customer id, or an Unauthorized error when the routes
// were mounted without auth.RequireCustomer in front.
func signedIn(c *fiber.Ctx) (int64, error) {
	if id := customerID(c); id > 0 {
		return id, nil
	}
	return 0, fault.Errorf(fault.Unauthorized, "Please sign in to see your orders.")
}

// storeZone is the store's time zone from the settings the server middleware
// put in locals, or read afresh when they are missing.
func (h *Handlers) storeZone(c *fiber.Ctx) (*time.Location, error) {
	if s, ok := c.Locals("store").(settings.Store); ok {
		return s.Location(), nil
	}
	s, err := settings.Load(c.UserContext(), h.db)
	if err != nil {
		return nil, err
	}
	return s.Location(), nil
}

// private keeps a shopper's order pages out of shared caches and the back
// button of a shared device after sign-out.
func private(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
}
