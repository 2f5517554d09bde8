package portal

import (
	"strconv"
	"strings"
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
	// pages keeps each order's page rendered (page.go).
	pages *pagecache.Cache[*renderedPage]
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
	h := &Handlers{db: db, now: time.Now, pages: pagecache.New[*renderedPage](0)}
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
	version, err := h.version(c, who, id)
	if err != nil {
		return err
	}
	if ep, ok := settings.EpochsFrom(ctx); ok {
		ctx = pagecache.WithKey(ctx, pagecache.Key{Order: id, Version: version.Order, Customer: version.Customer,
			Settings: ep.Settings, Catalog: ep.Catalog})
	}
	now := h.now()
	csrf, _ := c.Locals("csrf").(string)
	pc := PanelContext{CustomerID: who, OrderID: id, CSRF: csrf, Location: loc, Now: now}
	// The page is kept rendered under its key while the clock lets it
	// stand; what belongs to this request is filled in as it is written.
	page, err := h.pages.LoadIf(ctx, id, func(p *renderedPage) bool {
		return p.until.IsZero() || now.Before(p.until)
	}, func() (*renderedPage, error) {
		order, err := h.svc.orderAt(ctx, who, id, loc, now)
		if err != nil {
			return nil, err
		}
		return h.renderPage(c, ctx, order, pc, now)
	})
	if err != nil {
		return err
	}
	if h.views != nil {
		h.views.Record(id, now)
	} else if err := h.svc.orders.RecordView(ctx, who, id); err != nil {
		return err
	}
	private(c)
	return h.writePage(c, ctx, page, pc)
}

// version is the order's page versions, read with the session when the
// session's read carried VersionQuery (auth.Rider), else read now.
func (h *Handlers) version(c *fiber.Ctx, who, id int64) (Versions, error) {
	if r, ok := c.Locals("portal.versions").(riddenVersions); ok && r.order == id && r.customer == who {
		if !r.found {
			return Versions{}, errOrderNotFound
		}
		return r.v, nil
	}
	return h.svc.orders.Version(c.UserContext(), who, id)
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

// VersionQuery reads an order page's versions in the statement that reads
// the session (auth.Rider): $3 is the order id, s.customer_id the signed-in
// customer; no row when the order is not theirs.
const VersionQuery = `SELECT o.page_version AS a, c.page_version AS b
	FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $3 AND o.customer_id = s.customer_id`

// OrderPageID returns the order id of a GET of an order page
// (/orders/{id}), for auth.Rider's Match.
func OrderPageID(c *fiber.Ctx) (int64, bool) {
	if c.Method() != fiber.MethodGet {
		return 0, false
	}
	rest, ok := strings.CutPrefix(c.Path(), "/orders/")
	if !ok || rest == "" || len(rest) > 18 {
		return 0, false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

// riddenVersions is what KeepVersions stores for the handler.
type riddenVersions struct {
	order, customer int64 // whose order the read was scoped by
	v               Versions
	found           bool
}

// KeepVersions keeps what VersionQuery read for customer's view of order
// id, for auth.Rider's Keep.
func KeepVersions(c *fiber.Ctx, id, customer, orderVersion, customerVersion int64, found bool) {
	c.Locals("portal.versions", riddenVersions{order: id, customer: customer,
		v: Versions{Order: orderVersion, Customer: customerVersion}, found: found})
}
