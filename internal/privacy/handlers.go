package privacy

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/staff"
)

// Handlers serve the data-rights pages of shoppers and staff.
type Handlers struct{ svc *Service }

// NewHandlers returns the data-rights handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// Routes mounts the signed-in shopper's pages: GET /account/data (their
// data as a JSON download), GET /account/erase (what erasure means, and the
// confirmation form) and POST /account/erase.
func (h *Handlers) Routes(app fiber.Router) {
	app.Get("/account/data", auth.RequireCustomer, h.download)
	app.Get("/account/erase", auth.RequireCustomer, h.erasePage)
	app.Post("/account/erase", auth.RequireCustomer, h.eraseSelf)
}

// AdminRoutes mounts, on the "/admin" group and for admins only, GET
// /customers/:id/data.json and POST /customers/:id/erase (which returns to
// the customer page).
func (h *Handlers) AdminRoutes(admin fiber.Router) {
	admin.Get("/customers/:id<int>/data.json", staff.Require(staff.RoleAdmin), h.staffDownload)
	admin.Post("/customers/:id<int>/erase", staff.Require(staff.RoleAdmin), h.staffErase)
}

func (h *Handlers) send(c *fiber.Ctx, id int64) error {
	b, err := h.svc.Export(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="my-data-`+strconv.FormatInt(id, 10)+`.json"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b)
}

func (h *Handlers) download(c *fiber.Ctx) error { return h.send(c, auth.CustomerID(c)) }

func (h *Handlers) erasePage(c *fiber.Ctx) error {
	return c.Render("account/erase", fiber.Map{})
}

func (h *Handlers) eraseSelf(c *fiber.Ctx) error {
	if c.FormValue("confirm") != "yes" {
		c.Status(fiber.StatusUnprocessableEntity)
		return c.Render("account/erase", fiber.Map{"problem": "Tick the box to confirm that you want your data erased."})
	}
	id := auth.CustomerID(c)
	if err := h.svc.Erase(c.UserContext(), id, audit.Shopper(id)); err != nil {
		return err
	}
	c.ClearCookie(auth.SessionCookie)
	return c.Render("account/erased", fiber.Map{})
}

func (h *Handlers) staffDownload(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	return h.send(c, id)
}

func (h *Handlers) staffErase(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	if c.FormValue("confirm") != "yes" {
		return fault.Field("confirm", "tick the box to confirm the erasure")
	}
	m, _ := staff.Current(c)
	if err := h.svc.Erase(c.UserContext(), id, m.Actor()); err != nil {
		return err
	}
	return c.Redirect("/admin/customers/"+strconv.FormatInt(id, 10)+"?erased=1", fiber.StatusSeeOther)
}
