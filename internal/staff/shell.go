package staff

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// NavLink is one entry of the admin navigation as a page shows it.
type NavLink struct {
	Label   string
	Path    string
	Current bool // the page being shown is this section (aria-current)
}

type navEntry struct {
	label, path string
	role        Role
}

// sectionOrder is the order of the admin's sections in the navigation,
// whatever order cmd wires the features in. A label not listed here goes
// after Webhooks and before Settings, in the order it was added.
var sectionOrder = []string{"Returns", "Reviews", "Referrals", "Customers", "Guides", "Webhooks", "Settings", "Staff", "Audit log"}

// Shell is the admin's frame: the navigation that every admin page shows.
// Features add their section at wiring time with AddNav; the navigation
// shows only the sections whose routes exist and the member's role may open.
type Shell struct {
	entries []navEntry
	home    fiber.Handler
}

// NewShell returns a shell with no sections.
func NewShell() *Shell { return &Shell{} }

// AddNav adds a section to the navigation: label (e.g. "Returns"), the path
// of its first page ("/admin/returns") and the least role that may open it
// (RoleSupport: everyone; RoleAdmin: admins only). Call it while wiring,
// before the server starts; it is not safe alongside requests.
func (s *Shell) AddNav(label, path string, role Role) {
	s.entries = append(s.entries, navEntry{label: label, path: path, role: role})
	rank := func(label string) float64 {
		if i := slices.Index(sectionOrder, label); i >= 0 {
			return float64(i)
		}
		return float64(slices.Index(sectionOrder, "Settings")) - 0.5
	}
	slices.SortStableFunc(s.entries, func(a, b navEntry) int {
		ra, rb := rank(a.label), rank(b.label)
		switch {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return 0
	})
}

// Nav returns the sections m may open, marking the one that path is in.
// The dashboard (/admin) comes first.
func (s *Shell) Nav(m Member, path string) []NavLink {
	out := []NavLink{{Label: "Dashboard", Path: "/admin", Current: path == "/admin" || path == "/admin/"}}
	for _, e := range s.entries {
		if !m.Can(e.role) {
			continue
		}
		current := path == e.path || strings.HasPrefix(path, strings.TrimRight(e.path, "/")+"/")
		out = append(out, NavLink{Label: e.label, Path: e.path, Current: current})
	}
	return out
}

// Load is middleware for /admin, after (*Sessions).Load: for a signed-in
// member it sets locals "adminNav" ([]NavLink), which the admin layout
// (web/templates/layouts/admin.html) draws on every admin page.
func (s *Shell) Load(c *fiber.Ctx) error {
	if m, ok := Current(c); ok {
		c.Locals("adminNav", s.Nav(m, c.Path()))
	}
	return c.Next()
}

// SetDashboard makes h the admin's start page (GET /admin, after Require);
// without it the start page lists the sections the member may open. Call it
// while wiring, before the server starts.
func (s *Shell) SetDashboard(h fiber.Handler) { s.home = h }

// dashboard is the admin's start page: the wired dashboard, or else the
// sections the member may open.
func (s *Shell) dashboard(c *fiber.Ctx) error {
	if s.home != nil {
		return s.home(c)
	}
	m, _ := Current(c)
	return c.Render("admin/dashboard", fiber.Map{"sections": s.Nav(m, "")[1:]})
}
