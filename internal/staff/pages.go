package staff

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/fault"
)

// staffPage lists the accounts with the form to add one.
func (h *Handlers) staffPage(c *fiber.Ctx) error {
	data := fiber.Map{}
	switch c.Query("done") {
	case "added":
		data["notice"] = "Staff member added. They can sign in now."
	case "disabled":
		data["notice"] = "Account disabled and signed out everywhere."
	}
	return h.renderStaff(c, fiber.StatusOK, data)
}

func (h *Handlers) renderStaff(c *fiber.Ctx, status int, data fiber.Map) error {
	accounts, err := h.o.Accounts.List(c.UserContext())
	if err != nil {
		return err
	}
	data["accounts"] = accounts
	data["roles"] = []Role{RoleSupport, RoleAdmin}
	data["minPassword"] = MinPasswordLen
	if data["form"] == nil {
		data["form"] = NewAccount{Role: RoleSupport}
	}
	if data["problems"] == nil {
		data["problems"] = map[string]string{}
	}
	return render(c, status, "admin/staff", data)
}

// createStaff adds an account, or shows the form again with what is wrong.
func (h *Handlers) createStaff(c *fiber.Ctx) error {
	me, _ := Current(c)
	in := NewAccount{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: Role(c.FormValue("role")), Password: c.FormValue("password")}
	_, err := h.o.Accounts.Create(c.UserContext(), in, me.Actor())
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		problems := map[string]string{}
		for _, f := range fe.Fields {
			problems[f.Field] = f.Message
		}
		in.Password = "" // never echoed back into the page
		return h.renderStaff(c, fiber.StatusUnprocessableEntity, fiber.Map{"form": in, "problems": problems})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/staff?done=added", fiber.StatusSeeOther)
}

// disableStaff disables an account, or shows why it cannot be.
func (h *Handlers) disableStaff(c *fiber.Ctx) error {
	me, _ := Current(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return ErrNotFound
	}
	_, err = h.o.Accounts.Disable(c.UserContext(), id, me.Actor())
	if fe, ok := fault.As(err); ok && (fe.Kind == fault.Conflict || fe.Kind == fault.NotFound) {
		status := fiber.StatusConflict
		if fe.Kind == fault.NotFound {
			status = fiber.StatusNotFound
		}
		return h.renderStaff(c, status, fiber.Map{"error": fe.Message})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/staff?done=disabled", fiber.StatusSeeOther)
}

// auditRow is an audit entry with its actor's name, for the audit page.
type auditRow struct {
	audit.Entry
	ActorName string
}

// auditPage lists the audit log, filtered by actor and action, 50 a page.
func (h *Handlers) auditPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := audit.Filter{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action"))}
	f.Before, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	page, err := audit.List(ctx, h.o.DB, f)
	if err != nil {
		return err
	}
	actions, err := audit.Actions(ctx, h.o.DB)
	if err != nil {
		return err
	}
	accounts, err := h.o.Accounts.List(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, a := range accounts {
		names[a.Subject()] = a.Name + " (" + a.Email + ")"
	}
	rows := make([]auditRow, len(page.Entries))
	for i, e := range page.Entries {
		rows[i] = auditRow{Entry: e, ActorName: names[e.Actor]}
	}
	data := fiber.Map{"entries": rows, "filter": f, "actions": actions, "accounts": accounts}
	q := url.Values{}
	if f.Actor != "" {
		q.Set("actor", f.Actor)
	}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.Before > 0 {
		data["newest"] = "/admin/audit"
		if len(q) > 0 {
			data["newest"] = "/admin/audit?" + q.Encode()
		}
	}
	if page.Older > 0 {
		q.Set("before", strconv.FormatInt(page.Older, 10))
		data["older"] = "/admin/audit?" + q.Encode()
	}
	return render(c, fiber.StatusOK, "admin/audit", data)
}
