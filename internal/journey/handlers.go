package journey

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// Handlers serves the journey's public pages: the open pixel, the click
// redirect, the preferences page and the unsubscribe pages. None needs a
// session: each link carries its own signature.
type Handlers struct {
	e     *Engine
	links *Links
}

// NewHandlers returns the journey's pages.
func NewHandlers(e *Engine, links *Links) *Handlers { return &Handlers{e: e, links: links} }

// Routes mounts, with no sign-in:
//
//	GET  /t/o/:id/:sig                open pixel (a 1×1 GIF whatever happens)
//	GET  /t/c/:id?u=&s=               click redirect, only to a URL signed for the message
//	GET  /email/preferences/:token    preferences page; POST saves (CSRF form)
//	GET  /email/unsubscribe/:token    asks to confirm; POST unsubscribes (CSRF form)
//	POST /api/email/unsubscribe/:token  RFC 8058 one-click: no cookie, no form token
//	GET  /api/email/unsubscribe/:token  sends a browser to the confirm page
//
// The one-click address is under /api/, which the CSRF check exempts: a
// mailbox provider posts it without cookies.
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/t/o/:id/:sig", h.pixel)
	r.Get("/t/c/:id", h.click)
	r.Get("/email/preferences/:token", h.preferences)
	r.Post("/email/preferences/:token", h.savePreferences)
	r.Get("/email/unsubscribe/:token", h.confirmUnsubscribe)
	r.Post("/email/unsubscribe/:token", h.unsubscribe)
	r.Post("/api/email/unsubscribe/:token", h.oneClick)
	r.Get("/api/email/unsubscribe/:token", func(c *fiber.Ctx) error {
		return c.Redirect("/email/unsubscribe/"+url.PathEscape(param(c, "token"))+messageQuery(c), fiber.StatusSeeOther)
	})
}

// transparentGIF is the smallest transparent 1×1 GIF.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func (h *Handlers) pixel(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store, private")
	c.Set(fiber.HeaderContentType, "image/gif")
	// Cross-origin mail clients load it; it must not be refused.
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err == nil && id > 0 && h.links.VerifyOpen(id, param(c, "sig")) {
		if err := h.e.RecordOpen(c.UserContext(), id); err != nil {
			return err
		}
	}
	return c.Send(transparentGIF)
}

// errBadLink refuses a click redirect we did not sign: never an open redirect.
var errBadLink = fault.Errorf(fault.NotFound, "This link is not valid. Please use the link from the email as it was sent.")

func (h *Handlers) click(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	target := c.Query("u")
	if err != nil || id <= 0 || !h.links.VerifyClick(id, target, c.Query("s")) {
		return errBadLink
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errBadLink
	}
	if err := h.e.RecordClick(c.UserContext(), id, target); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Redirect(target, fiber.StatusFound)
}

// customer reads the :token of a preferences or unsubscribe link.
func (h *Handlers) customer(c *fiber.Ctx) (int64, error) {
	id, ok := h.links.Customer(param(c, "token"))
	if !ok {
		return 0, ErrUnknownLink
	}
	return id, nil
}

func (h *Handlers) preferences(c *fiber.Ctx) error {
	id, err := h.customer(c)
	if err != nil {
		return err
	}
	p, err := h.e.Preferences(c.UserContext(), id)
	if err != nil {
		return err
	}
	return h.renderPreferences(c, p, c.Query("saved") == "1")
}

func (h *Handlers) renderPreferences(c *fiber.Ctx, p Preferences, saved bool) error {
	noIndex(c)
	return c.Render("journey/preferences", fiber.Map{"prefs": p, "masked": maskEmail(p.Email), "action": c.Path(), "saved": saved})
}

func (h *Handlers) savePreferences(c *fiber.Ctx) error {
	id, err := h.customer(c)
	if err != nil {
		return err
	}
	choice := c.FormValue("email")
	if choice != "everything" && choice != "orders" {
		return fault.Field("email", "choose everything or only order updates")
	}
	if err := h.e.SetMarketing(c.UserContext(), id, choice == "everything"); err != nil {
		return err
	}
	return c.Redirect(c.Path()+"?saved=1", fiber.StatusSeeOther)
}

// confirmUnsubscribe only asks: mail scanners open every link, and a GET
// must never unsubscribe anyone.
func (h *Handlers) confirmUnsubscribe(c *fiber.Ctx) error {
	id, err := h.customer(c)
	if err != nil {
		return err
	}
	p, err := h.e.Preferences(c.UserContext(), id)
	if err != nil {
		return err
	}
	noIndex(c)
	return c.Render("journey/unsubscribe", fiber.Map{"prefs": p, "masked": maskEmail(p.Email),
		"action": c.Path() + messageQuery(c), "preferencesURL": h.links.PreferencesURL(id)})
}

func (h *Handlers) unsubscribe(c *fiber.Ctx) error {
	id, err := h.customer(c)
	if err != nil {
		return err
	}
	if err := h.e.Unsubscribe(c.UserContext(), id, int64(c.QueryInt("m"))); err != nil {
		return err
	}
	noIndex(c)
	return c.Render("journey/unsubscribed", fiber.Map{"preferencesURL": h.links.PreferencesURL(id)})
}

func (h *Handlers) oneClick(c *fiber.Ctx) error {
	id, err := h.customer(c)
	if err != nil {
		return err
	}
	if err := h.e.Unsubscribe(c.UserContext(), id, int64(c.QueryInt("m"))); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("Unsubscribed from marketing email.")
}

func messageQuery(c *fiber.Ctx) string {
	if m := c.QueryInt("m"); m > 0 {
		return "?m=" + strconv.Itoa(m)
	}
	return ""
}

// param is a route parameter unescaped (Fiber gives it as sent).
func param(c *fiber.Ctx, name string) string {
	v := c.Params(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// noIndex keeps the signed pages out of search engines, shared caches and
// other sites' Referer. (Not no-referrer: the form's POST would then carry
// "Origin: null", which the CSRF check refuses.)
func noIndex(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Robots-Tag", "noindex")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
}

// maskEmail shows enough of an address to recognise it: "j•••@example.com".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	for _, r := range local {
		return string(r) + "•••@" + domain
	}
	return "•••@" + domain
}
