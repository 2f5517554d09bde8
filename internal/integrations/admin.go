package integrations

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/staff"
)

// bodyShown bounds the raw body drawn on the event page.
const bodyShown = 256 << 10

// Admin serves the staff pages of the integrations: the webhook inbox with
// its replay button, and the integrations settings.
type Admin struct {
	inbox   *Inbox
	db      *sqlx.DB
	baseURL string
}

// NewAdmin returns the admin pages; baseURL is the public origin, for the
// webhook URLs to paste into the other systems.
func NewAdmin(db *sqlx.DB, inbox *Inbox, baseURL string) *Admin {
	return &Admin{inbox: inbox, db: db, baseURL: baseURL}
}

// Routes mounts, on r (the "/admin" group): GET /webhooks (filters
// provider, status, before), GET /webhooks/:id and POST
// /webhooks/:id/replay for support staff; GET /settings/integrations, POST
// /settings/integrations/:provider/secret and POST
// /settings/integrations/checkouts for admins.
func (a *Admin) Routes(r fiber.Router) {
	r.Get("/webhooks", staff.Require(staff.RoleSupport), a.list)
	r.Get("/webhooks/:id<int>", staff.Require(staff.RoleSupport), a.show)
	r.Post("/webhooks/:id<int>/replay", staff.Require(staff.RoleSupport), a.replay)
	r.Get("/settings/integrations", staff.Require(staff.RoleAdmin), a.settingsPage)
	r.Post("/settings/integrations/checkouts", staff.Require(staff.RoleAdmin), a.saveCheckouts)
	r.Post("/settings/integrations/:provider/secret", staff.Require(staff.RoleAdmin), a.saveSecret)
}

// list shows the newest events, filtered.
func (a *Admin) list(c *fiber.Ctx) error {
	f := EventFilter{Provider: c.Query("provider"), Status: c.Query("status")}
	if _, ok := a.inbox.Provider(f.Provider); !ok {
		f.Provider = ""
	}
	switch f.Status {
	case "failed", "pending", "processed":
	default:
		f.Status = ""
	}
	f.Before, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	page, err := a.inbox.Events(c.UserContext(), f)
	if err != nil {
		return err
	}
	data := fiber.Map{"events": page.Events, "filter": f, "providers": a.inbox.Providers()}
	q := url.Values{}
	if f.Provider != "" {
		q.Set("provider", f.Provider)
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if page.Older > 0 {
		older := url.Values{}
		for k, v := range q {
			older[k] = v
		}
		older.Set("before", strconv.FormatInt(page.Older, 10))
		data["older"] = "/admin/webhooks?" + older.Encode()
	}
	if f.Before > 0 {
		data["newest"] = "/admin/webhooks?" + q.Encode()
	}
	return c.Render("admin/webhooks/list", data)
}

// show draws one event: its headers, raw body, outcome or error.
func (a *Admin) show(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	ev, err := a.inbox.Event(c.UserContext(), id)
	if err != nil {
		return err
	}
	body, cut := BodyText(ev.Body, bodyShown)
	title := ev.Provider
	if p, ok := a.inbox.Provider(ev.Provider); ok {
		title = p.Info().Title
	}
	return c.Render("admin/webhooks/show", fiber.Map{
		"event": ev, "providerTitle": title, "body": body, "bodyCut": cut, "bodySize": len(ev.Body),
		"replayed": c.Query("replayed") == "1",
	})
}

// replay queues the event again and notes who asked in the audit log.
func (a *Admin) replay(c *fiber.Ctx) error {
	id, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	me, _ := staff.Current(c)
	ctx := c.UserContext()
	err := a.inbox.Replay(ctx, id, func(tx *sqlx.Tx, ev Event) error {
		return audit.Record(ctx, tx, me.Actor(), "webhook.replayed", "webhook:"+strconv.FormatInt(ev.ID, 10),
			map[string]any{"provider": ev.Provider, "event_id": ev.EventID, "topic": ev.Topic, "status": ev.Status()})
	})
	if err != nil {
		return err
	}
	return c.Redirect("/admin/webhooks/"+strconv.FormatInt(id, 10)+"?replayed=1", fiber.StatusSeeOther)
}
