package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// CSRFConfig configures the double-submit CSRF check.
type CSRFConfig struct {
	Secure  bool
	BaseURL string
	// Exempt reports paths authenticated otherwise (API keys, webhook signatures).
	Exempt func(path string) bool
}

const csrfCookie = "aftercare_csrf"

// CSRF protects every unsafe request with a double-submit token: a random
// cookie whose value must come back in the form field `_csrf` or the
// X-CSRF-Token header, plus an Origin check when the browser sends one. It
// needs no server state, so every instance agrees. The token is in the view
// locals as `csrf`.
func CSRF(cfg CSRFConfig) fiber.Handler {
	if cfg.Exempt == nil {
		cfg.Exempt = func(p string) bool {
			return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/webhooks/")
		}
	}
	origin := ""
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return func(c *fiber.Ctx) error {
		if cfg.Exempt(c.Path()) {
			return c.Next()
		}
		token := c.Cookies(csrfCookie)
		if len(token) != 43 {
			var raw [32]byte
			rand.Read(raw[:]) //nolint:errcheck // never fails
			var enc [43]byte
			base64.RawURLEncoding.Encode(enc[:], raw[:])
			token = string(enc[:])
			c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: token, Path: "/", HTTPOnly: true, Secure: cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode, MaxAge: 60 * 60 * 24 * 30})
		}
		c.Locals("csrf", token)
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		if o := c.Get(fiber.HeaderOrigin); o != "" && origin != "" && o != origin && o != c.BaseURL() {
			return fault.Errorf(fault.Forbidden, "This form was sent from another site. Please go back, reload the page and try again.")
		}
		sent := c.FormValue("_csrf")
		if sent == "" {
			sent = c.Get("X-CSRF-Token")
		}
		if c.Cookies(csrfCookie) == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
			return fault.Errorf(fault.Forbidden, "Your form expired. Please go back, reload the page and try again.")
		}
		return c.Next()
	}
}
