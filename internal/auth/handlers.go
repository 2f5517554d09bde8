package auth

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail"
)

// nextCookie remembers, between asking for a link and using it on the same
// device, which page the shopper wanted.
const nextCookie = "aftercare_next"

// Handlers serve the shopper's sign-in pages.
type Handlers struct {
	db       *sqlx.DB
	links    *Links
	sessions *Sessions
	svc      *signIn
}

// NewHandlers returns the sign-in handlers. outbox queues the `login_link`
// emails, whose link and code the mail composer issues at delivery.
func NewHandlers(db *sqlx.DB, links *Links, sessions *Sessions, limiter *RateLimiter, outbox *mail.Outbox, logger *slog.Logger) *Handlers {
	if logger == nil {
		logger = slog.Default()
	}
	return &Handlers{db: db, links: links, sessions: sessions,
		svc: &signIn{db: db, links: links, limiter: limiter, outbox: outbox, log: logger}}
}

// Routes mounts the sign-in pages on r. Every page works without JavaScript;
// every POST carries the server's CSRF field.
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/signin", h.signInPage)
	r.Post("/signin", h.signIn)
	r.Get("/signin/code", h.codePage)
	r.Post("/signin/code", h.signInWithCode)
	r.Post("/signout", h.signOut)
	r.Get("/m/:token", h.continuePage)
	r.Post("/m", h.spendLink)
	r.Post("/m/fresh", h.freshLink)
}

func (h *Handlers) signInPage(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, "auth/signin", fiber.Map{"next": safeNext(c.Query("next")), "signedOut": c.Query("out") == "1"})
}

// signIn answers the same page, with the same status, whether or not the
// address belongs to a customer.
func (h *Handlers) signIn(c *fiber.Ctx) error {
	next := safeNext(c.FormValue("next"))
	email, ok := NormalizeEmail(c.FormValue("email"))
	if !ok {
		return render(c, fiber.StatusUnprocessableEntity, "auth/signin", fiber.Map{"next": next, "email": c.FormValue("email"),
			"error": "Enter the email address you used for your order, like name@example.com."})
	}
	if err := h.svc.requestLink(c.UserContext(), email, c.IP()); err != nil {
		return h.fail(c, err)
	}
	if next != "" {
		c.Cookie(&fiber.Cookie{Name: nextCookie, Value: next, Path: "/", MaxAge: int(SignInTTL.Seconds()),
			HTTPOnly: true, Secure: h.sessions.secure, SameSite: fiber.CookieSameSiteLaxMode})
	}
	return render(c, fiber.StatusOK, "auth/sent", fiber.Map{"minutes": int(SignInTTL.Minutes())})
}

func (h *Handlers) codePage(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, "auth/code", fiber.Map{"next": safeNext(c.Query("next"))})
}

// signInWithCode signs in on a device that did not get the email.
func (h *Handlers) signInWithCode(c *fiber.Ctx) error {
	ctx := c.UserContext()
	data := fiber.Map{"next": safeNext(c.FormValue("next")), "email": c.FormValue("email")}
	email, okEmail := NormalizeEmail(c.FormValue("email"))
	code, okCode := NormalizeCode(c.FormValue("code"))
	if !okEmail || !okCode {
		data["error"] = "Enter your email address and the 6-digit code from our email."
		return render(c, fiber.StatusUnprocessableEntity, "auth/code", data)
	}
	if err := h.svc.allowCode(ctx, email, c.IP()); err != nil {
		return h.fail(c, err)
	}
	var claims Claims
	var spendErr error
	err := db.InTx(ctx, h.db, func(tx *sqlx.Tx) error {
		claims, spendErr = h.links.SpendCode(ctx, tx, email, code)
		if errors.Is(spendErr, ErrCodeRejected) {
			return nil // commit: the failed try must count
		}
		if spendErr != nil {
			return spendErr
		}
		return h.sessions.Start(c, tx, claims.CustomerID)
	})
	if err != nil {
		return err
	}
	if spendErr != nil {
		data["error"] = ErrCodeRejected.Message
		return render(c, fiber.StatusUnauthorized, "auth/code", data)
	}
	return h.arrive(c, claims, c.FormValue("next"))
}

func (h *Handlers) signOut(c *fiber.Ctx) error {
	if err := h.sessions.End(c); err != nil {
		return err
	}
	return c.Redirect("/signin?out=1", fiber.StatusSeeOther)
}

// continuePage is what a magic link opens. It only reads: mail scanners
// (Outlook Safe Links and the like) fetch every link, so spending happens on
// the POST behind the Continue button.
func (h *Handlers) continuePage(c *fiber.Ctx) error {
	token := c.Params("token")
	claims, err := h.links.Check(c.UserContext(), token)
	if err != nil {
		return h.linkFailed(c, token, err)
	}
	return render(c, fiber.StatusOK, "auth/continue", fiber.Map{
		"token": token, "next": safeNext(c.Query("next")), "forOrder": strings.HasPrefix(claims.Purpose, "order:"),
	})
}

// spendLink spends the token and starts a session in one transaction, so a
// token is never spent without a session nor a session made twice from it.
func (h *Handlers) spendLink(c *fiber.Ctx) error {
	ctx := c.UserContext()
	token := c.FormValue("token")
	var claims Claims
	err := db.InTx(ctx, h.db, func(tx *sqlx.Tx) error {
		var err error
		if claims, err = h.links.Spend(ctx, tx, token); err != nil {
			return err
		}
		return h.sessions.Start(c, tx, claims.CustomerID)
	})
	if err != nil {
		return h.linkFailed(c, token, err)
	}
	return h.arrive(c, claims, c.FormValue("next"))
}

// freshLink emails a new sign-in link to the customer a genuine but used or
// expired token names. The address comes from our records, never the form.
func (h *Handlers) freshLink(c *fiber.Ctx) error {
	token := c.FormValue("token")
	claims, err := h.links.Verify(token)
	if errors.Is(err, ErrLinkInvalid) {
		return h.linkFailed(c, token, err)
	}
	masked, err := h.svc.sendFresh(c.UserContext(), claims.CustomerID, c.IP())
	if errors.Is(err, ErrLinkInvalid) {
		return h.linkFailed(c, token, err)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, fiber.StatusOK, "auth/fresh", fiber.Map{"masked": masked, "minutes": int(SignInTTL.Minutes())})
}

// linkFailed shows why a link does not work: not ours (400), or used or
// expired (410, with the offer of a fresh one).
func (h *Handlers) linkFailed(c *fiber.Ctx, token string, err error) error {
	switch {
	case errors.Is(err, ErrLinkInvalid):
		return render(c, fiber.StatusBadRequest, "auth/invalid", fiber.Map{})
	case errors.Is(err, ErrLinkUsed):
		return render(c, fiber.StatusGone, "auth/expired", fiber.Map{"token": token})
	}
	return err
}

// arrive sends a freshly signed-in shopper where the token leads.
func (h *Handlers) arrive(c *fiber.Ctx, claims Claims, next string) error {
	if safeNext(next) == "" {
		next = c.Cookies(nextCookie)
	}
	if c.Cookies(nextCookie) != "" {
		c.Cookie(&fiber.Cookie{Name: nextCookie, Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true,
			Secure: h.sessions.secure, SameSite: fiber.CookieSameSiteLaxMode})
	}
	return c.Redirect(destination(claims.Purpose, next), fiber.StatusSeeOther)
}

// fail renders a rate-limit refusal as a friendly page; other errors go to
// the server's error handler.
func (h *Handlers) fail(c *fiber.Ctx, err error) error {
	var lim *limitedError
	if !errors.As(err, &lim) {
		return err
	}
	secs := int(lim.retryAfter.Round(time.Second).Seconds())
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return render(c, fiber.StatusTooManyRequests, "auth/limited", fiber.Map{"minutes": (secs + 59) / 60})
}

func render(c *fiber.Ctx, status int, page string, data fiber.Map) error {
	return c.Status(status).Render(page, data)
}
