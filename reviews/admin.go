package reviews

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/staff"
)

// AdminRoutes mounts the moderation pages under /admin, for any staff
// member, and the review settings, for admins:
//
//	GET  /reviews?status=pending|published|rejected&page=N
//	GET  /reviews/:id
//	POST /reviews/:id/publish, /reviews/:id/reject (reason), /reviews/:id/reply (reply)
//	GET  /reviews/settings, POST /reviews/settings
func (h *Handlers) AdminRoutes(admin fiber.Router) {
	g := admin.Group("/reviews", staff.Require(staff.RoleSupport))
	g.Get("/", h.queue)
	g.Get("/settings", staff.Require(staff.RoleAdmin), h.settingsPage)
	g.Post("/settings", staff.Require(staff.RoleAdmin), h.saveSettings)
	g.Get("/:id<int>", h.entry)
	g.Post("/:id<int>/publish", h.publish)
	g.Post("/:id<int>/reject", h.reject)
	g.Post("/:id<int>/reply", h.reply)
}

func (h *Handlers) queue(c *fiber.Ctx) error {
	status := c.Query("status", StatusPending)
	page := max(c.QueryInt("page", 1), 1)
	entries, counts, err := h.svc.Queue(c.UserContext(), status, page)
	if err != nil {
		return err
	}
	if status != StatusPublished && status != StatusRejected {
		status = StatusPending
	}
	return c.Render("admin/reviews/list", fiber.Map{"entries": entries, "counts": counts, "status": status, "page": page,
		"more": len(entries) == pageSize, "tabs": []string{StatusPending, StatusPublished, StatusRejected}})
}

func (h *Handlers) entry(c *fiber.Ctx) error {
	return h.renderEntry(c, fiber.StatusOK, nil)
}

func (h *Handlers) renderEntry(c *fiber.Ctx, status int, problems map[string]string) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	e, err := h.svc.Entry(c.UserContext(), id)
	if err != nil {
		return err
	}
	notice := map[string]string{"published": "Review published.", "rejected": "Review rejected.", "replied": "Reply saved."}[c.Query("done")]
	return c.Status(status).Render("admin/reviews/review", fiber.Map{"entry": e, "reasons": RejectReasons, "problems": problems, "notice": notice})
}

func (h *Handlers) publish(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	if err := h.svc.Publish(c.UserContext(), id, me.ID); err != nil {
		return err
	}
	return c.Redirect("/admin/reviews/"+c.Params("id")+"?done=published", fiber.StatusSeeOther)
}

func (h *Handlers) reject(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	err := h.svc.Reject(c.UserContext(), id, me.ID, c.FormValue("reason"))
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		return h.renderEntry(c, fiber.StatusUnprocessableEntity, problemsOf(err))
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/reviews/"+c.Params("id")+"?done=rejected", fiber.StatusSeeOther)
}

func (h *Handlers) reply(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	err := h.svc.Reply(c.UserContext(), id, me.ID, c.FormValue("reply"))
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		return h.renderEntry(c, fiber.StatusUnprocessableEntity, problemsOf(err))
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/reviews/"+c.Params("id")+"?done=replied", fiber.StatusSeeOther)
}

func (h *Handlers) settingsPage(c *fiber.Ctx) error {
	set, err := LoadSettings(c.UserContext(), h.db)
	if err != nil {
		return err
	}
	return c.Render("admin/reviews/settings", fiber.Map{"set": set, "origins": strings.Join(set.StorefrontOrigins, "\n"),
		"saved": c.Query("saved") == "1"})
}

func (h *Handlers) saveSettings(c *fiber.Ctx) error {
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue(name)))
		if err != nil {
			return -1 // out of every range: reported by Validate
		}
		return n
	}
	set := Settings{
		RequestEnabled: c.FormValue("request_enabled") == "1", RequestAfterDays: num("request_after_days"),
		ReminderEnabled: c.FormValue("reminder_enabled") == "1", ReminderAfterDays: num("reminder_after_days"),
		EngagedReminderHours: num("engaged_reminder_hours"), AutoPublishMinRating: num("auto_publish_min_rating"),
		PublishUnmoderatedAfterDays: num("publish_unmoderated_after_days"),
		StorefrontOrigins:           strings.Fields(c.FormValue("storefront_origins")),
		Incentive:                   strings.TrimSpace(c.FormValue("incentive")),
	}
	if err := set.Validate(); err != nil {
		return c.Status(fiber.StatusUnprocessableEntity).Render("admin/reviews/settings", fiber.Map{"set": set,
			"origins": c.FormValue("storefront_origins"), "problems": problemsOf(err)})
	}
	me, _ := staff.Current(c)
	ctx := c.UserContext()
	err := db.InTx(ctx, h.db, func(tx *sqlx.Tx) error {
		if err := settings.SaveSection(ctx, tx, Section, set, me.Actor()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, me.Actor(), "settings.reviews_saved", "settings:reviews", set)
	})
	if err != nil {
		return err
	}
	return c.Redirect("/admin/reviews/settings?saved=1", fiber.StatusSeeOther)
}
