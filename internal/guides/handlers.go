package guides

import (
	"context"
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pagecache"
	"github.com/aftercare/aftercare/internal/staff"
)

// Partials renders a named shared template (web.Engine does).
type Partials interface {
	Partial(name string, data any) (template.HTML, error)
}

// Handlers serves guide pages to shoppers and the guide editor to staff.
type Handlers struct {
	svc   *Service
	views Partials
}

// NewHandlers returns the guide pages over svc; views renders the order
// page's guides section.
func NewHandlers(svc *Service, views Partials) *Handlers {
	return &Handlers{svc: svc, views: views}
}

// Routes mounts GET /guides/:sku for signed-in shoppers (after the shopper
// session is loaded).
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/guides/:sku", auth.RequireCustomer, h.show)
}

// AdminRoutes mounts, under /admin, the guide list (GET /guides), the editor
// (GET /guides/:sku) and its form (POST /guides/:sku with action=preview or
// save), for any staff member.
func (h *Handlers) AdminRoutes(admin fiber.Router) {
	g := admin.Group("/guides", staff.Require(staff.RoleSupport))
	g.Get("/", h.list)
	g.Get("/:sku", h.edit)
	g.Post("/:sku", h.save)
}

// APIRoutes mounts PUT /products/:sku/pairings under the API-key group:
// {"skus": ["MUG-1", ...]} replaces the product's "goes well with" list.
func (h *Handlers) APIRoutes(api fiber.Router) {
	api.Put("/products/:sku/pairings", h.putPairings)
}

// OrderPanel renders the order page's "How-to guides" section: a link to
// each guide of what the order holds, or nothing when there is none.
func (h *Handlers) OrderPanel(ctx context.Context, customerID, orderID int64) (template.HTML, error) {
	gs, err := h.svc.ForOrder(ctx, customerID, orderID)
	if err != nil {
		return "", err
	}
	// Kept rendered with the order page: the guides are catalog data under
	// its key, and nothing here depends on the clock.
	pagecache.Stable(ctx)
	if len(gs) == 0 {
		return "", nil
	}
	return h.views.Partial("guides_panel", map[string]any{"guides": gs})
}

func (h *Handlers) show(c *fiber.Ctx) error {
	g, err := h.svc.Read(c.UserContext(), auth.CustomerID(c), skuParam(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render("guides/guide", fiber.Map{"guide": g, "body": Render(g.Markdown)})
}

func (h *Handlers) list(c *fiber.Ctx) error {
	q := c.Query("q")
	entries, err := h.svc.List(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.Render("admin/guides/list", fiber.Map{"entries": entries, "q": q, "saved": c.Query("saved")})
}

func (h *Handlers) edit(c *fiber.Ctx) error {
	p, err := h.svc.Product(c.UserContext(), skuParam(c))
	if err != nil {
		return err
	}
	form := Edit{Markdown: p.Markdown, VideoURL: p.VideoURL, Pairings: strings.Join(p.Pairings, ", ")}
	return h.renderEdit(c, fiber.StatusOK, p, form, nil, false)
}

// save previews the form (rendering it beside the editor, saving nothing)
// or saves it and returns to the list.
func (h *Handlers) save(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := h.svc.Product(ctx, skuParam(c))
	if err != nil {
		return err
	}
	form := Edit{Markdown: c.FormValue("guide_md"), VideoURL: c.FormValue("guide_video_url"), Pairings: c.FormValue("pairings")}
	if c.FormValue("action") == "preview" {
		return h.renderEdit(c, fiber.StatusOK, p, form, nil, true)
	}
	me, _ := staff.Current(c)
	err = h.svc.Save(ctx, p.SKU, form, me.Actor())
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		return h.renderEdit(c, fiber.StatusUnprocessableEntity, p, form, problemsOf(fe), false)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/guides?saved="+urlQuery(p.SKU), fiber.StatusSeeOther)
}

func (h *Handlers) renderEdit(c *fiber.Ctx, status int, p Product, form Edit, problems map[string]string, preview bool) error {
	data := fiber.Map{"product": p, "form": form, "problems": problems, "preview": preview}
	if preview {
		data["previewHTML"] = Render(form.Markdown)
	}
	return c.Status(status).Render("admin/guides/edit", data)
}

func (h *Handlers) putPairings(c *fiber.Ctx) error {
	var in struct {
		SKUs []string `json:"skus"`
	}
	if err := c.BodyParser(&in); err != nil {
		return fault.Field("skus", "must be a JSON list of SKUs")
	}
	sku := skuParam(c)
	skus, err := h.svc.SetPairings(c.UserContext(), sku, in.SKUs, audit.System)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"sku": sku, "skus": skus})
}

func problemsOf(fe *fault.Error) map[string]string {
	out := map[string]string{}
	for _, f := range fe.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Message
		}
	}
	return out
}

// skuParam is the :sku route parameter unescaped (Fiber gives it as sent).
func skuParam(c *fiber.Ctx) string {
	v := c.Params("sku")
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

func urlQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
