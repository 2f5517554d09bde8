package returns

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/staff"
)

// AdminRoutes mounts the returns desk on the /admin group (after the staff
// session and shell middleware); support and admins work returns, only
// admins change the policy:
//
//	GET  /returns                      the queue (filters: status, age, reason, min, max)
//	GET  /returns/:id                  one return: customer, order, items, photos, history, actions
//	GET  /returns/:id/photos/:photo    a photo
//	POST /returns/:id/approve | reject | in-transit | receive | resolve
//	GET  /settings/returns             the return policy (admins)
//	POST /settings/returns             save it (admins)
func (h *Handlers) AdminRoutes(r fiber.Router) {
	support := staff.Require(staff.RoleSupport)
	r.Get("/returns", support, h.queue)
	r.Get("/returns/:id<int>", support, h.adminReturn)
	r.Get("/returns/:id<int>/photos/:photo<int>", support, h.staffPhoto)
	r.Post("/returns/:id<int>/approve", support, h.approve)
	r.Post("/returns/:id<int>/reject", support, h.reject)
	r.Post("/returns/:id<int>/in-transit", support, h.inTransit)
	r.Post("/returns/:id<int>/receive", support, h.receive)
	r.Post("/returns/:id<int>/resolve", support, h.resolve)
	admin := staff.Require(staff.RoleAdmin)
	r.Get("/settings/returns", admin, h.settingsPage)
	r.Post("/settings/returns", admin, h.saveSettings)
}

func (h *Handlers) queue(c *fiber.Ctx) error {
	f := QueueFilter{Status: c.Query("status"), Reason: c.Query("reason")}
	f.MinAgeDays, _ = strconv.Atoi(c.Query("age"))
	f.MinValueMinor = parseMoney(c.Query("min"))
	f.MaxValueMinor = parseMoney(c.Query("max"))
	q, err := h.svc.Queue(c.UserContext(), f)
	if err != nil {
		return err
	}
	p, err := h.svc.Policy(c.UserContext())
	if err != nil {
		return err
	}
	m, _ := staff.Current(c)
	private(c)
	return c.Render("admin/returns/queue", fiber.Map{
		"queue": q, "filter": f, "statuses": Statuses(), "reasons": p.Reasons, "min": c.Query("min"), "max": c.Query("max"),
		"isAdmin": m.Can(staff.RoleAdmin), "filtered": c.Query("status") != "" || f.MinAgeDays > 0 || f.Reason != "" || c.Query("min") != "" || c.Query("max") != "",
	})
}

// parseMoney reads an amount typed in major units ("49.99") as minor units
// of a two-decimal currency; anything unreadable is 0 (no bound).
func parseMoney(s string) int64 {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	if s == "" {
		return 0
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 1e12 {
		return 0
	}
	frac = (frac + "00")[:2]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0
	}
	return w*100 + f
}

// returnID reads :id; a bad one reads as a missing return.
func returnID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errReturnNotFound
	}
	return id, nil
}

// adminReturn shows a return with a notice from ?done=.
func (h *Handlers) adminReturn(c *fiber.Ctx) error {
	id, err := returnID(c)
	if err != nil {
		return err
	}
	return h.renderAdminReturn(c, fiber.StatusOK, id, fiber.Map{"done": c.Query("done")})
}

func (h *Handlers) renderAdminReturn(c *fiber.Ctx, status int, id int64, data fiber.Map) error {
	ctx := c.UserContext()
	r, err := h.svc.Get(ctx, id)
	if err != nil {
		return err
	}
	o, err := h.svc.OrderSummary(ctx, r.OrderID)
	if err != nil {
		return err
	}
	history, err := audit.List(ctx, h.svc.db, audit.Filter{Subject: r.Subject(), Limit: 100})
	if err != nil {
		return err
	}
	p, err := h.svc.Policy(ctx)
	if err != nil {
		return err
	}
	quotes := map[string]Quote{}
	if r.Status == Received || r.Status == ResolutionFailed {
		for _, m := range []Resolution{Refund, Credit, Exchange} {
			if quotes[string(m)], err = h.svc.quote(ctx, h.svc.db, r, m); err != nil {
				return err
			}
		}
	}
	data["ret"], data["order"], data["audit"], data["policy"], data["quotes"] = r, o, history.Entries, p, quotes
	data["stripe"] = h.svc.StripeConfigured()
	data["canApprove"] = CanMove(r.Status, Approved, Staff)
	data["canReject"] = CanMove(r.Status, Rejected, Staff)
	data["canTransit"] = CanMove(r.Status, InTransit, Staff)
	data["canReceive"] = CanMove(r.Status, Received, Staff)
	data["canResolve"] = r.Status == Received || r.Status == ResolutionFailed
	data["method"] = string(r.Resolution)
	if a := r.Attempted(); a != "" {
		data["method"] = a
	}
	private(c)
	return c.Status(status).Render("admin/returns/show", data)
}

func (h *Handlers) staffPhoto(c *fiber.Ctx) error {
	id, err := returnID(c)
	if err != nil {
		return err
	}
	photo, _ := strconv.ParseInt(c.Params("photo"), 10, 64)
	ct, data, err := h.svc.Photo(c.UserContext(), id, photo)
	if err != nil {
		return err
	}
	return sendPhoto(c, ct, data)
}

// acted finishes a staff action: back to the return with a notice, or the
// return page again with what went wrong (a refused move, a bad field).
func (h *Handlers) acted(c *fiber.Ctx, id int64, done string, err error) error {
	if errors.Is(err, ErrResolutionFailed) {
		return c.Redirect("/admin/returns/"+strconv.FormatInt(id, 10)+"?done=failed", fiber.StatusSeeOther)
	}
	if de, ok := fault.As(err); ok && (de.Kind == fault.Invalid || de.Kind == fault.Conflict) {
		status := fiber.StatusUnprocessableEntity
		if de.Kind == fault.Conflict {
			status = fiber.StatusConflict
		}
		return h.renderAdminReturn(c, status, id, fiber.Map{"error": de.Message, "problems": problemsOf(err), "form": formOf(c)})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/returns/"+strconv.FormatInt(id, 10)+"?done="+done, fiber.StatusSeeOther)
}

// formOf echoes the posted text fields back into a page that failed.
func formOf(c *fiber.Ctx) map[string]string {
	out := map[string]string{}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) != "_csrf" {
			out[string(k)] = string(v)
		}
	})
	return out
}

// actor is the signed-in staff member as an audit actor.
func actor(c *fiber.Ctx) (string, error) {
	m, ok := staff.Current(c)
	if !ok {
		return "", fault.Errorf(fault.Unauthorized, "Please sign in to continue.")
	}
	return m.Actor(), nil
}
