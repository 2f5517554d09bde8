package integrations

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/staff"
)

// IntegrationView is one integration as the settings page shows it.
type IntegrationView struct {
	ProviderInfo
	Settings   Settings
	WebhookURL string
	// Revealed is a secret just generated, shown this once.
	Revealed string
	Problem  string
}

func (a *Admin) settingsPage(c *fiber.Ctx) error {
	data := fiber.Map{}
	switch c.Query("saved") {
	case "":
	case "checkouts":
		data["notice"] = "Abandoned checkout reminders saved."
	default:
		if p, ok := a.inbox.Provider(c.Query("saved")); ok {
			data["notice"] = p.Info().Title + " secret saved. New deliveries are checked with it from now on."
		}
	}
	return a.renderSettings(c, fiber.StatusOK, data, "", "", "")
}

// renderSettings draws the page; revealFor/revealed show a generated
// secret once, problemFor/problem a refused one.
func (a *Admin) renderSettings(c *fiber.Ctx, status int, data fiber.Map, provider, revealed, problem string) error {
	ctx := c.UserContext()
	var views []IntegrationView
	for _, info := range a.inbox.Providers() {
		s, err := LoadSettings(ctx, a.db, info.Name)
		if err != nil {
			return err
		}
		v := IntegrationView{ProviderInfo: info, Settings: s, WebhookURL: strings.TrimRight(a.baseURL, "/") + "/webhooks/" + info.Name}
		if info.Name == provider {
			v.Revealed, v.Problem = revealed, problem
		}
		views = append(views, v)
	}
	data["integrations"] = views
	if data["checkouts"] == nil {
		cs, err := LoadCheckoutSettings(ctx, a.db)
		if err != nil {
			return err
		}
		data["checkouts"] = cs
	}
	c.Set(fiber.HeaderCacheControl, "no-store") // a revealed secret stays out of caches
	return c.Status(status).Render("admin/integrations/settings", data)
}

// saveSecret sets a pasted secret, or generates one and shows it once.
func (a *Admin) saveSecret(c *fiber.Ctx) error {
	name := c.Params("provider")
	p, ok := a.inbox.Provider(name)
	if !ok {
		return fault.Errorf(fault.NotFound, "There is no integration called %q.", name)
	}
	me, _ := staff.Current(c)
	ctx := c.UserContext()
	generate := c.FormValue("action") == "generate"
	if generate && !p.Info().ChosenHere {
		return fault.Errorf(fault.Invalid, "%s issues its own signing secret; copy it from there.", p.Info().Title)
	}
	secret, action := c.FormValue("secret"), "integration.secret_set"
	if generate {
		secret, action = NewSecret(), "integration.secret_generated"
	}
	err := db.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		if err := SaveSecret(ctx, tx, name, secret, me.Actor()); err != nil {
			return err
		}
		// The secret itself never goes into the audit log.
		return audit.Record(ctx, tx, me.Actor(), action, "integration:"+name, nil)
	})
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid && len(fe.Fields) > 0 {
		return a.renderSettings(c, fiber.StatusUnprocessableEntity, fiber.Map{}, name, "", "Secret "+fe.Fields[0].Message+".")
	}
	if err != nil {
		return err
	}
	if generate {
		return a.renderSettings(c, fiber.StatusOK, fiber.Map{"notice": p.Info().Title + ": new secret generated. Copy it now; it is shown once."}, name, secret, "")
	}
	return c.Redirect("/admin/settings/integrations?saved="+name, fiber.StatusSeeOther)
}

// saveCheckouts stores the abandoned checkout reminder settings.
func (a *Admin) saveCheckouts(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	ctx := c.UserContext()
	hours, convErr := strconv.Atoi(strings.TrimSpace(c.FormValue("delay_hours")))
	s := CheckoutSettings{Enabled: c.FormValue("enabled") == "on", DelayHours: hours}
	var err error = fault.Field("delay_hours", "must be a whole number of hours")
	if convErr == nil {
		err = db.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
			if err := SaveCheckoutSettings(ctx, tx, s, me.Actor()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, me.Actor(), "integration.checkouts_saved", "", s)
		})
	}
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid && len(fe.Fields) > 0 {
		return a.renderSettings(c, fiber.StatusUnprocessableEntity, fiber.Map{
			"checkouts": s, "delayInput": c.FormValue("delay_hours"), "checkoutsProblem": "Delay " + fe.Fields[0].Message + ".",
		}, "", "", "")
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/settings/integrations?saved=checkouts", fiber.StatusSeeOther)
}
