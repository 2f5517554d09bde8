package reviews

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// Handlers serves the review form to shoppers: from the email's star links
// (a magic link, no session needed) and from the order page (signed in).
type Handlers struct {
	svc      *Service
	db       *sqlx.DB
	links    *auth.Links
	sessions *auth.Sessions
}

// NewHandlers returns the shopper's review pages. A review sent from an
// email link spends the link and signs its shopper in, like the link's own
// Continue button would.
func NewHandlers(svc *Service, db *sqlx.DB, links *auth.Links, sessions *auth.Sessions) *Handlers {
	return &Handlers{svc: svc, db: db, links: links, sessions: sessions}
}

// Routes mounts, after the shopper session is loaded:
//
//	GET  /reviews/m/:token?rating=N   the form from an email star (changes nothing)
//	POST /reviews/m/:token            submits it: spends the link, signs in
//	GET  /reviews/items/:item         the form for a signed-in shopper
//	POST /reviews/items/:item         submits it
//	GET  /reviews/items/:item/thanks  what happens next
func (h *Handlers) Routes(r fiber.Router) {
	r.Get("/reviews/m/:token", h.linkForm)
	r.Post("/reviews/m/:token", h.linkSubmit)
	r.Get("/reviews/items/:item<int>", auth.RequireCustomer, h.form)
	r.Post("/reviews/items/:item<int>", auth.RequireCustomer, h.submit)
	r.Get("/reviews/items/:item<int>/thanks", auth.RequireCustomer, h.thanks)
}

// linkClaims checks an email link (without spending it) and returns its
// customer and order line.
func (h *Handlers) linkClaims(c *fiber.Ctx, token string) (auth.Claims, int64, error) {
	claims, err := h.links.Check(c.UserContext(), token)
	item, ok := strings.CutPrefix(claims.Purpose, "review:")
	id, perr := strconv.ParseInt(item, 10, 64)
	if errors.Is(err, auth.ErrLinkInvalid) || (err == nil && (!ok || perr != nil)) {
		return claims, 0, auth.ErrLinkInvalid
	}
	return claims, id, err
}

// linkForm shows the form with the rating from the star that was clicked.
// It only reads: mail scanners open every link.
func (h *Handlers) linkForm(c *fiber.Ctx) error {
	token := c.Params("token")
	claims, itemID, err := h.linkClaims(c, token)
	switch {
	case errors.Is(err, auth.ErrLinkUsed) && itemID > 0 && auth.CustomerID(c) == claims.CustomerID:
		return c.Redirect("/reviews/items/"+strconv.FormatInt(itemID, 10)+ratingQuery(c), fiber.StatusSeeOther)
	case errors.Is(err, auth.ErrLinkUsed) && itemID > 0:
		return c.Status(fiber.StatusGone).Render("reviews/link_used", fiber.Map{"next": "/reviews/items/" + strconv.FormatInt(itemID, 10)})
	case errors.Is(err, auth.ErrLinkInvalid):
		return c.Status(fiber.StatusBadRequest).Render("reviews/link_invalid", fiber.Map{})
	case err != nil:
		return err
	}
	it, err := h.svc.Item(c.UserContext(), claims.CustomerID, itemID)
	if err != nil {
		return err
	}
	in := Input{Rating: c.QueryInt("rating")}
	if it.Review != nil {
		in = Input{Rating: it.Review.Rating, Title: it.Review.Title, Body: it.Review.Body}
		if r := c.QueryInt("rating"); r >= 1 && r <= 5 {
			in.Rating = r
		}
	}
	return h.render(c, fiber.StatusOK, it, in, nil, "/reviews/m/"+token)
}

// linkSubmit spends the link, records the review and starts a session, all
// in one transaction: a bad form spends nothing.
func (h *Handlers) linkSubmit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	token := c.Params("token")
	claims, itemID, err := h.linkClaims(c, token)
	if err != nil {
		return h.linkForm(c) // says why the link no longer works
	}
	in := formInput(c)
	if _, verr := in.normalize(); verr != nil {
		it, err := h.svc.Item(ctx, claims.CustomerID, itemID)
		if err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, it, in, problemsOf(verr), "/reviews/m/"+token)
	}
	err = db.InTx(ctx, h.db, func(tx *sqlx.Tx) error {
		if _, err := h.links.Spend(ctx, tx, token); err != nil {
			return err
		}
		if _, err := h.svc.SubmitTx(ctx, tx, claims.CustomerID, itemID, in); err != nil {
			return err
		}
		return h.sessions.Start(c, tx, claims.CustomerID)
	})
	if errors.Is(err, auth.ErrLinkUsed) || errors.Is(err, auth.ErrLinkInvalid) {
		return h.linkForm(c)
	}
	if err != nil {
		return h.submitFailed(c, err, claims.CustomerID, itemID, in, "/reviews/m/"+token)
	}
	return c.Redirect("/reviews/items/"+strconv.FormatInt(itemID, 10)+"/thanks", fiber.StatusSeeOther)
}

func (h *Handlers) form(c *fiber.Ctx) error {
	itemID, _ := strconv.ParseInt(c.Params("item"), 10, 64)
	it, err := h.svc.Item(c.UserContext(), auth.CustomerID(c), itemID)
	if err != nil {
		return err
	}
	in := Input{Rating: c.QueryInt("rating")}
	if it.Review != nil {
		in = Input{Rating: it.Review.Rating, Title: it.Review.Title, Body: it.Review.Body}
	}
	return h.render(c, fiber.StatusOK, it, in, nil, c.Path())
}

func (h *Handlers) submit(c *fiber.Ctx) error {
	itemID, _ := strconv.ParseInt(c.Params("item"), 10, 64)
	who, in := auth.CustomerID(c), formInput(c)
	if _, err := h.svc.Submit(c.UserContext(), who, itemID, in); err != nil {
		return h.submitFailed(c, err, who, itemID, in, c.Path())
	}
	return c.Redirect("/reviews/items/"+strconv.FormatInt(itemID, 10)+"/thanks", fiber.StatusSeeOther)
}

// submitFailed shows the form again for a problem the shopper can fix or
// needs to know about; anything else goes to the error page.
func (h *Handlers) submitFailed(c *fiber.Ctx, err error, customerID, itemID int64, in Input, action string) error {
	fe, ok := fault.As(err)
	if !ok || (fe.Kind != fault.Invalid && fe.Kind != fault.Conflict) {
		return err
	}
	it, ierr := h.svc.Item(c.UserContext(), customerID, itemID)
	if ierr != nil {
		return ierr
	}
	status := fiber.StatusUnprocessableEntity
	if fe.Kind == fault.Conflict {
		status = fiber.StatusConflict
	}
	return h.render(c, status, it, in, problemsOf(err), action)
}

func (h *Handlers) thanks(c *fiber.Ctx) error {
	itemID, _ := strconv.ParseInt(c.Params("item"), 10, 64)
	it, err := h.svc.Item(c.UserContext(), auth.CustomerID(c), itemID)
	if err != nil {
		return err
	}
	if it.Review == nil {
		return c.Redirect("/reviews/items/"+c.Params("item"), fiber.StatusSeeOther)
	}
	set, err := LoadSettings(c.UserContext(), h.db)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render("reviews/thanks", fiber.Map{"item": it, "review": it.Review, "incentive": set.Incentive})
}

func (h *Handlers) render(c *fiber.Ctx, status int, it Item, in Input, problems map[string]string, action string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Render("reviews/form", fiber.Map{"item": it, "form": in, "problems": problems, "action": action,
		"ratings": []int{5, 4, 3, 2, 1}, "maxTitle": MaxTitle, "maxBody": MaxBody})
}

func formInput(c *fiber.Ctx) Input {
	rating, _ := strconv.Atoi(c.FormValue("rating"))
	return Input{Rating: rating, Title: c.FormValue("title"), Body: c.FormValue("body")}
}

func ratingQuery(c *fiber.Ctx) string {
	if r := c.QueryInt("rating"); r >= 1 && r <= 5 {
		return "?rating=" + strconv.Itoa(r)
	}
	return ""
}

// problemsOf maps a fault error to messages by form field; an error about
// no field is shown under "form".
func problemsOf(err error) map[string]string {
	out := map[string]string{}
	fe, ok := fault.As(err)
	if !ok {
		return out
	}
	for _, f := range fe.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Message
		}
	}
	if len(fe.Fields) == 0 {
		out["form"] = fe.Message
	}
	return out
}
