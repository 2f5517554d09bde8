package returns

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// Partials renders a named partial template (web.Engine does).
type Partials interface {
	Partial(name string, data any) (template.HTML, error)
}

// Handlers serve the shopper's return pages, the staff's returns desk and
// the order page's returns panel.
type Handlers struct {
	svc   *Service
	views Partials
}

// NewHandlers returns the handlers over svc; views renders the panel.
func NewHandlers(svc *Service, views Partials) *Handlers {
	return &Handlers{svc: svc, views: views}
}

// Routes mounts the shopper's pages, each behind auth.RequireCustomer (it
// needs (*auth.Sessions).Load earlier in the chain):
//
//	GET  /orders/:id/return            the return form (step 1; step 2 shows a product guide)
//	POST /orders/:id/return            submit it
//	GET  /orders/:id/withdraw          EU mode: confirm withdrawal from the purchase
//	POST /orders/:id/withdraw          withdraw
//	GET  /returns/:rma                 the return: status, history, label with QR code
//	GET  /returns/:rma/qr.png          the label's QR code
//	GET  /returns/:rma/photos/:photo   a photo of the return
//	POST /returns/:rma/cancel          cancel it before it is received
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/orders/:id<int>/return", auth.RequireCustomer, h.newReturn)
	r.Post("/orders/:id<int>/return", auth.RequireCustomer, h.createReturn)
	r.Get("/orders/:id<int>/withdraw", auth.RequireCustomer, h.withdrawPage)
	r.Post("/orders/:id<int>/withdraw", auth.RequireCustomer, h.withdraw)
	r.Get("/returns/:rma", auth.RequireCustomer, h.showReturn)
	r.Get("/returns/:rma/qr.png", auth.RequireCustomer, h.qr)
	r.Get("/returns/:rma/photos/:photo<int>", auth.RequireCustomer, h.customerPhoto)
	r.Post("/returns/:rma/cancel", auth.RequireCustomer, h.cancel)
}

// orderID reads the :id of the path; a bad one reads as a missing order.
func orderID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errOrderNotFound
	}
	return id, nil
}

// customer returns the signed-in shopper, or Unauthorized when the route
// was mounted without auth.RequireCustomer.
func customer(c *fiber.Ctx) (int64, error) {
	if id := auth.CustomerID(c); id > 0 {
		return id, nil
	}
	return 0, fault.Errorf(fault.Unauthorized, "Please sign in to continue.")
}

// newKey is a form's idempotency key.
func newKey() string {
	b := make([]byte, 18)
	rand.Read(b) //nolint:errcheck // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// storeZone is the store's time zone from the locals the server set.
func storeZone(c *fiber.Ctx) *time.Location {
	if s, ok := c.Locals("store").(settings.Store); ok {
		return s.Location()
	}
	return time.UTC
}

// private keeps a shopper's or staff page out of shared caches.
func private(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "private, no-store")
}

// problemsOf turns a fault's fields into a map for the templates, or nil
// when err is not a domain error with fields.
func problemsOf(err error) map[string]string {
	de, ok := fault.As(err)
	if !ok || len(de.Fields) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, f := range de.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Message
		}
	}
	return out
}

// showReturn is the shopper's page of one return, with its label while it
// applies.
func (h *Handlers) showReturn(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	r, err := h.svc.ForCustomer(c.UserContext(), who, c.Params("rma"))
	if err != nil {
		return err
	}
	p, err := h.svc.Policy(c.UserContext())
	if err != nil {
		return err
	}
	private(c)
	return c.Render("returns/show", fiber.Map{"ret": r, "policy": p, "isNew": c.Query("new") == "1",
		"cancelled": c.Query("done") == "cancelled"})
}

// qr serves the label's QR code, which encodes the RMA number.
func (h *Handlers) qr(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	r, err := h.svc.ForCustomer(c.UserContext(), who, c.Params("rma"))
	if err != nil {
		return err
	}
	png, err := LabelQR(r.RMA)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	c.Set(fiber.HeaderContentType, "image/png")
	return c.Send(png)
}

func (h *Handlers) customerPhoto(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	photo, _ := strconv.ParseInt(c.Params("photo"), 10, 64)
	ct, data, err := h.svc.PhotoOfCustomer(c.UserContext(), who, c.Params("rma"), photo)
	if err != nil {
		return err
	}
	return sendPhoto(c, ct, data)
}

// sendPhoto serves a stored photo with the type found by its content, to
// its owner or staff only: private, never cached by shared caches.
func sendPhoto(c *fiber.Ctx, contentType string, data []byte) error {
	c.Set(fiber.HeaderCacheControl, "private, max-age=300")
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentDisposition, "inline")
	return c.Send(data)
}

func (h *Handlers) cancel(c *fiber.Ctx) error {
	who, err := customer(c)
	if err != nil {
		return err
	}
	r, err := h.svc.Cancel(c.UserContext(), who, c.Params("rma"))
	if err != nil {
		return err
	}
	return c.Redirect("/returns/"+r.RMA+"?done=cancelled", fiber.StatusSeeOther)
}
