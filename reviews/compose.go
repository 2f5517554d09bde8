package reviews

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/mail"
)

// RequestEmail is .Data of review_request and review_reminder.
type RequestEmail struct {
	FirstName string
	OrderRef  string
	Items     []EmailItem
	Incentive string
	Reminder  bool
}

// EmailItem is a product the email asks about, with its one-click stars.
type EmailItem struct {
	Title    string
	ImageURL string
	// FormURL opens the review form; Stars[n-1] opens it with n stars chosen.
	FormURL string
	Stars   []Star
}

// Star is one of the five rating links.
type Star struct {
	Rating int
	URL    string
}

// Composers returns the composers of review_request and review_reminder.
// Each product gets a 30-day magic link of purpose "review:<order item>",
// whose form the star links open; what is already reviewed is left out. A
// message with nothing left to ask about, or whose order was refunded or
// got a return while the message waited (pacing), is skipped.
func Composers(db *sqlx.DB, e *journey.Engine, links *auth.Links, r *mail.Renderer, baseURL string) map[string]mail.Composer {
	c := &composer{db: db, e: e, links: links, r: r, base: strings.TrimRight(baseURL, "/")}
	return map[string]mail.Composer{
		KindRequest:  composeFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) { return c.compose(ctx, m, false) }),
		KindReminder: composeFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) { return c.compose(ctx, m, true) }),
	}
}

type composeFunc func(ctx context.Context, m mail.Message) (mail.Content, error)

func (f composeFunc) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	return f(ctx, m)
}

type composer struct {
	db    *sqlx.DB
	e     *journey.Engine
	links *auth.Links
	r     *mail.Renderer
	base  string
}

func (c *composer) compose(ctx context.Context, m mail.Message, reminder bool) (mail.Content, error) {
	st, err := journey.StepByKey(ctx, c.db, m.DedupeKey)
	if fault.Is(err, fault.NotFound) {
		return mail.Content{}, mail.Skip(err)
	}
	if err != nil {
		return mail.Content{}, err
	}
	why, err := c.e.OrderSettled(ctx, c.db, st.OrderID)
	if err != nil {
		return mail.Content{}, err
	}
	if why != "" {
		return mail.Content{}, mail.Skip(errors.New("reviews: " + why))
	}
	items, err := unreviewed(ctx, c.db, st.ShipmentID)
	if err != nil {
		return mail.Content{}, err
	}
	if len(items) == 0 {
		return mail.Content{}, mail.Skip(errors.New("reviews: everything was reviewed before the email went"))
	}
	var who struct {
		Name   string         `db:"name"`
		Number sql.NullString `db:"number"`
	}
	err = c.db.GetContext(ctx, &who, `SELECT c.name, o.number FROM customers c LEFT JOIN orders o ON o.id = $2 WHERE c.id = $1`,
		st.CustomerID, st.OrderID)
	if errors.Is(err, sql.ErrNoRows) {
		return mail.Content{}, mail.Skip(fmt.Errorf("reviews: customer %d no longer exists", st.CustomerID))
	}
	if err != nil {
		return mail.Content{}, fmt.Errorf("reviews: addressee of message %d: %w", m.ID, err)
	}
	set, err := LoadSettings(ctx, c.db)
	if err != nil {
		return mail.Content{}, err
	}
	data := RequestEmail{Incentive: set.Incentive, Reminder: reminder}
	if f := strings.Fields(who.Name); len(f) > 0 {
		data.FirstName = f[0]
	}
	if who.Number.Valid && who.Number.String != "" {
		data.OrderRef = "#" + strings.TrimPrefix(who.Number.String, "#")
	}
	for _, it := range items {
		link, err := c.links.Issue(ctx, c.db, st.CustomerID, "review:"+strconv.FormatInt(it.ItemID, 10), auth.EmailLinkTTL)
		if err != nil {
			return mail.Content{}, fmt.Errorf("reviews: link for item %d: %w", it.ItemID, err)
		}
		form := c.base + "/reviews/m/" + tokenOf(link.URL)
		ei := EmailItem{Title: it.Title, ImageURL: it.ImageURL, FormURL: form}
		for n := 1; n <= 5; n++ {
			ei.Stars = append(ei.Stars, Star{Rating: n, URL: form + "?rating=" + strconv.Itoa(n)})
		}
		data.Items = append(data.Items, ei)
	}
	kind := KindRequest
	if reminder {
		kind = KindReminder
	}
	return c.r.Compose(ctx, c.db, kind, data)
}

// tokenOf is the token of a magic link (its URL ends in /m/<token>).
func tokenOf(linkURL string) string {
	if i := strings.LastIndex(linkURL, "/m/"); i >= 0 {
		return linkURL[i+len("/m/"):]
	}
	return linkURL
}
