package journey

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/staff"
)

// AdminRoutes mounts, under /admin and for admins only, the journey's
// settings and its coming and recent steps: GET /journey, POST /journey.
func (h *Handlers) AdminRoutes(admin fiber.Router) {
	admin.Get("/journey", staff.Require(staff.RoleAdmin), h.settingsPage)
	admin.Post("/journey", staff.Require(staff.RoleAdmin), h.saveSettings)
}

func (h *Handlers) settingsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	set, err := LoadSettings(ctx, h.e.db)
	if err != nil {
		return err
	}
	p, err := mail.LoadPacing(ctx, h.e.db)
	if err != nil {
		return err
	}
	notice := ""
	if c.Query("saved") == "1" {
		notice = "Settings saved."
	}
	return h.renderSettings(c, fiber.StatusOK, fiber.Map{"set": set, "pacing": p, "notice": notice})
}

func (h *Handlers) renderSettings(c *fiber.Ctx, status int, data fiber.Map) error {
	ctx := c.UserContext()
	up, err := listSteps(ctx, h.e.db, true, 50)
	if err != nil {
		return err
	}
	recent, err := listSteps(ctx, h.e.db, false, 50)
	if err != nil {
		return err
	}
	data["upcoming"], data["recent"], data["stripe"] = up, recent, h.e.stripe != nil
	return c.Status(status).Render("journey/settings", data, "layouts/admin")
}

// saveSettings validates both sections and saves them together, or shows
// the form again with what is wrong.
func (h *Handlers) saveSettings(c *fiber.Ctx) error {
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue(name)))
		if err != nil {
			return -1 // out of every range: reported by Validate
		}
		return n
	}
	set := Settings{
		ReplenishEnabled: c.FormValue("replenish_enabled") == "1",
		RecommendEnabled: c.FormValue("recommend_enabled") == "1", RecommendAfterDays: num("recommend_after_days"),
		AlsoBoughtMinOrders: num("also_bought_min_orders"),
		WinbackEnabled:      c.FormValue("winback_enabled") == "1", WinbackAfterDays: num("winback_after_days"),
		WinbackPercentOff: num("winback_percent_off"), WinbackValidDays: num("winback_valid_days"),
		Tracking: c.FormValue("tracking") == "1",
	}
	p := mail.Pacing{FrequencyCapHours: num("frequency_cap_hours"),
		QuietStart: strings.TrimSpace(c.FormValue("quiet_start")), QuietEnd: strings.TrimSpace(c.FormValue("quiet_end"))}
	problems := map[string]string{}
	for _, err := range []error{set.Validate(), p.Validate()} {
		if fe, ok := fault.As(err); ok {
			for _, f := range fe.Fields {
				problems[f.Field] = f.Message
			}
		}
	}
	if len(problems) > 0 {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, fiber.Map{"set": set, "pacing": p, "problems": problems})
	}
	me, _ := staff.Current(c)
	ctx := c.UserContext()
	err := db.InTx(ctx, h.e.db, func(tx *sqlx.Tx) error {
		if err := settings.SaveSection(ctx, tx, Section, set, me.Actor()); err != nil {
			return err
		}
		if err := mail.SavePacing(ctx, tx, p, me.Actor()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, me.Actor(), "settings.journey_saved", "settings:journey", map[string]any{"journey": set, "pacing": p})
	})
	if err != nil {
		return err
	}
	return c.Redirect("/admin/journey?saved=1", fiber.StatusSeeOther)
}
