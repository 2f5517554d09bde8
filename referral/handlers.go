package referral

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/staff"
)

// deviceCookie is the first-party cookie that ties a friend's visit to a
// later claim or order (and a referrer's own device to their Refer page).
const deviceCookie = "aftercare_device"

// Handlers serves the friend's landing, the QR images, the shopper's Refer
// page and the admin's referral pages.
type Handlers struct {
	svc    *Service
	secure bool
	// pages keeps rendered landings (see page.go); nil without the
	// service's cache.
	pages *keptPages
	// noPages is set once a landing could not be cut at its holes: the
	// templates changed, every landing is rendered from then on.
	noPages atomic.Bool
}

// NewHandlers returns the handlers; secureCookies sets Secure on the
// device cookie (HTTPS deployments).
func NewHandlers(svc *Service, secureCookies bool) *Handlers {
	h := &Handlers{svc: svc, secure: secureCookies}
	if svc.cache != nil {
		h.pages = newKeptPages()
	}
	return h
}

// PublicRoutes mounts what needs no sign-in: GET and POST /r/:code (the
// friend's landing and claim), GET /r/:code/qr.png and /r/:code/qr.svg.
func (h *Handlers) PublicRoutes(r fiber.Router) {
	r.Get("/r/:code/qr.png", h.qrPNG)
	r.Get("/r/:code/qr.svg", h.qrSVG)
	r.Get("/r/:code", h.landing)
	r.Post("/r/:code", h.claim)
}

// ShopperRoutes mounts GET /refer (the Refer page) behind the shopper's
// sign-in; mount it after the session middleware.
func (h *Handlers) ShopperRoutes(r fiber.Router) {
	r.Get("/refer", auth.RequireCustomer, h.refer)
}

// AdminRoutes mounts the staff pages on the /admin group: the queue, a
// referrer's history, reward actions and insert cards for support staff;
// the program settings for admins only.
func (h *Handlers) AdminRoutes(admin fiber.Router) {
	g := admin.Group("/referrals", staff.Require(staff.RoleSupport))
	g.Get("/", h.adminIndex)
	g.Get("/find", h.adminFind)
	g.Post("/rewards/:id/:action", h.adminRewardAction)
	g.Get("/referrers/:id", h.adminReferrer)
	g.Post("/referrers/:id/code", h.adminCodeSwitch)
	g.Get("/insert/:orderID", h.adminInsert)
	g.Get("/settings", staff.Require(staff.RoleAdmin), h.adminSettings)
	g.Post("/settings", staff.Require(staff.RoleAdmin), h.adminSaveSettings)
}

// device returns this browser's device id, setting the cookie the first
// time.
func (h *Handlers) device(c *fiber.Ctx) string {
	v, _ := h.deviceOrNew(c)
	return v
}

// deviceOrNew is device, and whether the id was made for this request.
func (h *Handlers) deviceOrNew(c *fiber.Ctx) (string, bool) {
	if v := c.Cookies(deviceCookie); validDevice(v) {
		return v, false
	}
	v := newDeviceID(time.Now())
	c.Cookie(&fiber.Cookie{Name: deviceCookie, Value: v, Path: "/", MaxAge: 400 * 24 * 3600, HTTPOnly: true, Secure: h.secure,
		SameSite: fiber.CookieSameSiteLaxMode})
	return v, true
}

// newDeviceID is a new device id: the time in milliseconds as 12 hex
// digits, then 80 random bits. The time first makes the ids of new devices
// sort after the earlier ones, so recording their visits appends to the
// end of the visits' device index instead of touching (and logging whole)
// a random page of it for each; the id is no secret (a browser can send any
// cookie), so its time says nothing it should not.
func newDeviceID(now time.Time) string {
	var random [10]byte
	rand.Read(random[:]) //nolint:errcheck // never fails
	// Built in one buffer: the id is made on every first visit, at a
	// campaign's rate.
	var buf [12 + 14]byte
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)
	for i := 11; i >= 0; i-- {
		buf[i] = hexDigits[ms&0xF]
		ms >>= 4
	}
	base64.RawURLEncoding.Encode(buf[12:], random[:])
	return string(buf[:])
}

const hexDigits = "0123456789abcdef"

func validDevice(v string) bool {
	if len(v) < 16 || len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// store is the store's settings the server middleware put in locals.
func store(c *fiber.Ctx) settings.Store {
	s, _ := c.Locals("store").(settings.Store)
	return s
}

// unavailable is the friendly page for an unknown or switched-off code:
// never the error page, always a way on to the store.
func (h *Handlers) unavailable(c *fiber.Ctx, status int, unknown bool) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Render("referral/unavailable", fiber.Map{"unknown": unknown})
}

// problem is the user-facing message of a domain error, or "" when err is
// not one (then the error handler takes it).
func problem(err error) (fault.Kind, string) {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return fault.Internal, ""
	}
	if len(fe.Fields) > 0 {
		return fe.Kind, fe.Fields[0].Message
	}
	return fe.Kind, fe.Message
}
