package staff

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail"
)

// Options are the dependencies of the admin's own pages.
type Options struct {
	DB       *sqlx.DB
	Accounts *Accounts
	Links    *Links
	Sessions *Sessions
	Shell    *Shell
	Limiter  *auth.RateLimiter
	Outbox   *mail.Outbox // queues the MailKind emails
	Logger   *slog.Logger
}

// Handlers serve staff sign-in and the admin shell's own pages.
type Handlers struct {
	o   Options
	svc *signIn
}

// NewHandlers returns the admin's own handlers.
func NewHandlers(o Options) *Handlers {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Handlers{o: o, svc: &signIn{db: o.DB, accounts: o.Accounts, limiter: o.Limiter, outbox: o.Outbox, log: o.Logger}}
}

// Routes mounts, on r (the "/admin" group, after (*Sessions).Load and
// (*Shell).Load): the sign-in pages (GET/POST /signin, POST /signin/link,
// GET /m/:token, POST /m, POST /signout), the dashboard (GET /), staff
// management (GET/POST /staff, POST /staff/:id/disable; admins only) and the
// audit log (GET /audit). Every page works without JavaScript; every POST
// carries the server's CSRF field.
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/signin", h.signInPage)
	r.Post("/signin", h.signIn)
	r.Post("/signin/link", h.requestLink)
	r.Get("/m/:token", h.continuePage)
	r.Post("/m", h.spendLink)
	r.Post("/signout", h.signOut)
	r.Get("/", Require(), h.o.Shell.dashboard)
	r.Get("/staff", Require(RoleAdmin), h.staffPage)
	r.Post("/staff", Require(RoleAdmin), h.createStaff)
	r.Post("/staff/:id<int>/disable", Require(RoleAdmin), h.disableStaff)
	r.Get("/audit", Require(RoleSupport), h.auditPage)
}

func (h *Handlers) signInPage(c *fiber.Ctx) error {
	next := safeNext(c.Query("next"))
	if _, ok := Current(c); ok {
		return c.Redirect(orDashboard(next), fiber.StatusSeeOther)
	}
	return render(c, fiber.StatusOK, "admin/signin", fiber.Map{"next": next, "signedOut": c.Query("out") == "1"})
}

// signIn answers a wrong password and an unknown address alike.
func (h *Handlers) signIn(c *fiber.Ctx) error {
	ctx := c.UserContext()
	data := fiber.Map{"next": safeNext(c.FormValue("next")), "email": c.FormValue("email")}
	email, ok := auth.NormalizeEmail(c.FormValue("email"))
	password := c.FormValue("password")
	if !ok || password == "" {
		data["error"] = "Enter your staff email address and your password."
		return render(c, fiber.StatusUnprocessableEntity, "admin/signin", data)
	}
	m, err := h.svc.password(ctx, email, password, c.IP())
	if errors.Is(err, ErrBadCredentials) {
		data["error"] = ErrBadCredentials.Message
		return render(c, fiber.StatusUnauthorized, "admin/signin", data)
	}
	if err != nil {
		return h.fail(c, err)
	}
	err = db.InTx(ctx, h.o.DB, func(tx *sqlx.Tx) error { return h.start(c, tx, m, "password") })
	if err != nil {
		return err
	}
	return c.Redirect(orDashboard(safeNext(c.FormValue("next"))), fiber.StatusSeeOther)
}

// requestLink answers the same page whether or not the address is staff.
func (h *Handlers) requestLink(c *fiber.Ctx) error {
	email, ok := auth.NormalizeEmail(c.FormValue("email"))
	if !ok {
		return render(c, fiber.StatusUnprocessableEntity, "admin/signin", fiber.Map{"linkEmail": c.FormValue("email"),
			"linkError": "Enter your staff email address, like name@example.com."})
	}
	if err := h.svc.requestLink(c.UserContext(), email, c.IP()); err != nil {
		return h.fail(c, err)
	}
	return render(c, fiber.StatusOK, "admin/link_sent", fiber.Map{"minutes": int(LinkTTL.Minutes())})
}

// continuePage is what an emailed link opens. It only reads: mail scanners
// fetch every link, so the link is spent by the POST behind Continue.
func (h *Handlers) continuePage(c *fiber.Ctx) error {
	noStore(c)
	token := c.Params("token")
	if err := h.o.Links.Check(c.UserContext(), token); err != nil {
		return h.linkFailed(c, err)
	}
	return render(c, fiber.StatusOK, "admin/continue", fiber.Map{"token": token})
}

// spendLink spends the token and starts the session in one transaction, so
// a link is never spent without a session, nor two sessions made from it.
func (h *Handlers) spendLink(c *fiber.Ctx) error {
	noStore(c)
	ctx := c.UserContext()
	err := db.InTx(ctx, h.o.DB, func(tx *sqlx.Tx) error {
		m, err := h.o.Links.Spend(ctx, tx, c.FormValue("token"))
		if err != nil {
			return err
		}
		return h.start(c, tx, m, "link")
	})
	if err != nil {
		return h.linkFailed(c, err)
	}
	return c.Redirect("/admin", fiber.StatusSeeOther)
}

func (h *Handlers) signOut(c *fiber.Ctx) error {
	if err := h.o.Sessions.End(c); err != nil {
		return err
	}
	return c.Redirect("/admin/signin?out=1", fiber.StatusSeeOther)
}

// start opens a session for m in tx and records the sign-in.
func (h *Handlers) start(c *fiber.Ctx, tx *sqlx.Tx, m Member, method string) error {
	if err := h.o.Sessions.Start(c, tx, m.ID); err != nil {
		return err
	}
	return audit.Record(c.UserContext(), tx, m.Actor(), "staff.signed_in", m.Actor(),
		map[string]string{"method": method, "ip": c.IP()})
}

// linkFailed shows why a link does not work: not ours (400), or used,
// expired or its account disabled (410).
func (h *Handlers) linkFailed(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, ErrLinkInvalid):
		return render(c, fiber.StatusBadRequest, "admin/link_failed", fiber.Map{"message": ErrLinkInvalid.Message})
	case errors.Is(err, ErrLinkUsed):
		return render(c, fiber.StatusGone, "admin/link_failed", fiber.Map{"message": ErrLinkUsed.Message})
	}
	return err
}

// fail renders a rate-limit refusal as a page with Retry-After; other
// errors go to the server's error handler.
func (h *Handlers) fail(c *fiber.Ctx, err error) error {
	var lim *limitedError
	if !errors.As(err, &lim) {
		return err
	}
	secs := int(lim.retryAfter.Round(time.Second).Seconds())
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return render(c, fiber.StatusTooManyRequests, "admin/limited", fiber.Map{"minutes": (secs + 59) / 60})
}

// noStore keeps a page that carries a sign-in token out of caches and out
// of the Referer sent to other sites.
func noStore(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
}

func orDashboard(next string) string {
	if next == "" {
		return "/admin"
	}
	return next
}

func render(c *fiber.Ctx, status int, page string, data fiber.Map) error {
	return c.Status(status).Render(page, data)
}
