package dashboard

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/staff"
)

// CustomerHandlers serve the staff's customer look-up.
type CustomerHandlers struct{ svc *Customers }

// NewCustomerHandlers returns the customer look-up handlers.
func NewCustomerHandlers(svc *Customers) *CustomerHandlers { return &CustomerHandlers{svc: svc} }

// Routes mounts, on the "/admin" group, for every staff member: GET
// /customers?q= (search), GET /customers/:id (the customer page), POST
// /customers/:id/login-link and POST /customers/:id/messages/:mid/resend.
// Export and erasure (admins) are mounted by package privacy.
func (h *CustomerHandlers) Routes(admin fiber.Router) {
	g := admin.Group("/customers", staff.Require(staff.RoleSupport))
	g.Get("/", h.search)
	g.Get("/:id<int>", h.show)
	g.Post("/:id<int>/login-link", h.loginLink)
	g.Post("/:id<int>/messages/:mid<int>/resend", h.resend)
}

func (h *CustomerHandlers) search(c *fiber.Ctx) error {
	q := c.Query("q")
	hits, err := h.svc.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.Render("admin/customers/index", fiber.Map{"q": q, "hits": hits, "searched": q != ""})
}

func (h *CustomerHandlers) show(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	cu, err := h.svc.Customer(c.UserContext(), id)
	if err != nil {
		return err
	}
	m, _ := staff.Current(c)
	return c.Render("admin/customers/show", fiber.Map{"customer": cu, "isAdmin": m.Can(staff.RoleAdmin), "done": c.Query("done")})
}

func (h *CustomerHandlers) loginLink(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	m, _ := staff.Current(c)
	if err := h.svc.ResendSignInLink(c.UserContext(), id, m.Actor()); err != nil {
		return err
	}
	return c.Redirect("/admin/customers/"+c.Params("id")+"?done=link", fiber.StatusSeeOther)
}

func (h *CustomerHandlers) resend(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	mid, _ := strconv.ParseInt(c.Params("mid"), 10, 64)
	m, _ := staff.Current(c)
	if err := h.svc.ResendEmail(c.UserContext(), id, mid, m.Actor()); err != nil {
		return err
	}
	return c.Redirect("/admin/customers/"+c.Params("id")+"?done=resent", fiber.StatusSeeOther)
}
