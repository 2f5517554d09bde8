package staff

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// Current returns the signed-in staff member, if any. It needs
// (*Sessions).Load earlier in the chain.
func Current(c *fiber.Ctx) (Member, bool) {
	m, ok := c.Locals(localsKey).(Member)
	return m, ok && m.ID > 0
}

// Require lets through signed-in staff whose role can do what one of roles
// can (an admin passes every check; no roles means any staff member).
// Without a session a GET or HEAD is redirected (303) to
// /admin/signin?next=<this page> and anything else refused with 401; a
// member whose role does not qualify gets the 403 page. It must run after
// (*Sessions).Load.
//
// Use it on each route or on a group with its own prefix
// (admin.Group("/returns", staff.Require(staff.RoleSupport))): Fiber runs a
// group's middleware for every path under the prefix, so never on the
// "/admin" group itself, which also serves the sign-in pages.
func Require(roles ...Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		m, ok := Current(c)
		if !ok {
			if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
				target := "/admin/signin"
				if next := safeNext(c.OriginalURL()); next != "" && next != "/admin" && next != "/admin/" {
					target += "?next=" + url.QueryEscape(next)
				}
				return c.Redirect(target, fiber.StatusSeeOther)
			}
			return fault.Errorf(fault.Unauthorized, "Please sign in to continue.")
		}
		if len(roles) == 0 {
			return c.Next()
		}
		for _, r := range roles {
			if m.Can(r) {
				return c.Next()
			}
		}
		return c.Status(fiber.StatusForbidden).Render("admin/forbidden", fiber.Map{"role": m.Role.Label()})
	}
}

// safeNext returns p when it is a path under /admin on this site, else "".
// Anything a browser could read as another origin ("//host", "/\host",
// "http:...") is refused, so `next` is no open redirect.
func safeNext(p string) string {
	if len(p) > 1024 || !(p == "/admin" || strings.HasPrefix(p, "/admin/") || strings.HasPrefix(p, "/admin?")) ||
		strings.ContainsAny(p, "\\\x00\r\n\t") {
		return ""
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") {
		return ""
	}
	return p
}
