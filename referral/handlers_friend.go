package referral

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/rewards"
)

// landing is the friend's page: who sent them and the offer, with the
// email form, or the code this device already claimed.
func (h *Handlers) landing(c *fiber.Ctx) error {
	device, fresh := h.deviceOrNew(c)
	l, err := h.svc.visit(c.UserContext(), c.Params("code"), device, fresh)
	if errors.Is(err, ErrUnknownCode) {
		return h.unavailable(c, fiber.StatusNotFound, true)
	}
	if err != nil {
		return err
	}
	if !l.Available {
		return h.unavailable(c, fiber.StatusOK, false)
	}
	return h.renderLanding(c, fiber.StatusOK, l, "", "")
}

// claim takes the friend's email and shows their code, or the form again
// with what went wrong.
func (h *Handlers) claim(c *fiber.Ctx) error {
	email := strings.TrimSpace(c.FormValue("email"))
	l, err := h.svc.Claim(c.UserContext(), ClaimInput{Code: c.Params("code"), Email: email, DeviceID: h.device(c), IP: c.IP()})
	if errors.Is(err, ErrUnknownCode) {
		return h.unavailable(c, fiber.StatusNotFound, true)
	}
	kind, msg := problem(err)
	switch {
	case err == nil:
		return h.renderLanding(c, fiber.StatusOK, l, email, "")
	case kind == fault.Conflict:
		return h.unavailable(c, fiber.StatusOK, false)
	case errors.Is(err, rewards.ErrNoStripe):
		return h.renderLanding(c, fiber.StatusServiceUnavailable, l, email, "This offer cannot be issued right now. Please try again later.")
	case kind == fault.Invalid:
		return h.renderLanding(c, fiber.StatusUnprocessableEntity, l, email, msg)
	case kind == fault.TooMany:
		var lim *claimsLimited
		if errors.As(err, &lim) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(lim.retryAfter.Seconds()))))
		}
		return h.renderLanding(c, fiber.StatusTooManyRequests, l, email, msg)
	case kind == fault.Unavailable:
		return h.renderLanding(c, fiber.StatusServiceUnavailable, l, email, msg)
	}
	return err
}

func (h *Handlers) renderLanding(c *fiber.Ctx, status int, l Landing, email, problem string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	csrf, hasCSRF := c.Locals("csrf").(string)
	nonce, hasNonce := c.Locals("cspNonce").(string)
	if h.pages == nil || h.noPages.Load() || status != fiber.StatusOK || email != "" || problem != "" || l.Claimed != nil || !hasCSRF || !hasNonce ||
		c.Locals("customerID") != nil {
		return c.Status(status).Render("referral/landing", h.landingData(c, l, email, problem))
	}
	st, hasStore := c.Locals("store").(settings.Store)
	key := pageKey{store: st, hasStore: hasStore, codeID: l.Code.ID, code: l.Code.Code, name: l.ReferrerName, program: l.Program,
		stripe: h.svc.rewards.StripeConfigured()}
	page, ok := h.pages.peek(key)
	if !ok {
		data := h.landingData(c, l, email, problem)
		data["csrf"], data["cspNonce"] = holeMarks[holeCSRF], holeMarks[holeNonce]
		if err := c.Status(status).Render("referral/landing", data); err != nil {
			return err
		}
		if page = cutPage(c.Response().Body()); page == nil {
			h.noPages.Store(true)
			h.svc.log.Warn("referral: the landing cannot be kept rendered: its token or nonce is outside an attribute")
			return c.Status(status).Render("referral/landing", h.landingData(c, l, email, problem))
		}
		h.pages.put(key, page)
	}
	page.write(c, status, csrf, nonce)
	return nil
}

// landingData is what the landing's template is given.
func (h *Handlers) landingData(c *fiber.Ctx, l Landing, email, problem string) fiber.Map {
	terms := l.terms
	if terms == nil {
		terms = l.Program.Terms(0)[:1]
	}
	data := fiber.Map{"landing": l, "email": email, "problem": problem, "terms": terms,
		"stripe": h.svc.rewards.StripeConfigured()}
	if l.Claimed != nil {
		data["storeLink"] = StoreLink(store(c).StoreURL, l.Program.StoreParam, l.Claimed.Code())
	}
	return data
}

// qrPNG and qrSVG draw a code's share link. The image depends only on the
// link, so it is cached for good (the page's URL carries ?v= of the link)
// and revalidated by ETag.
func (h *Handlers) qrPNG(c *fiber.Ctx) error {
	return h.qr(c, "image/png", func(link string) ([]byte, error) { return QRPNG(link, QRPNGSize) })
}

func (h *Handlers) qrSVG(c *fiber.Ctx) error {
	return h.qr(c, "image/svg+xml", QRSVG)
}

func (h *Handlers) qr(c *fiber.Ctx, contentType string, draw func(string) ([]byte, error)) error {
	code, err := codeByValue(c.UserContext(), h.svc.db, c.Params("code"))
	if err != nil {
		return err
	}
	link := h.svc.ShareLink(code.Code)
	etag := `"` + QRVersion(link) + "-" + strings.TrimPrefix(contentType, "image/") + `"`
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderETag, etag)
	if strings.Contains(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	img, err := draw(link)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, contentType)
	return c.Send(img)
}
