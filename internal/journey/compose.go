package journey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
)

// Composers returns the composers of the journey's emails
// (replenish_reminder, recommendations, winback_offer). Each finds its
// step by the message's dedupe key; a message whose step, customer or
// order is gone is skipped.
func (e *Engine) Composers(links *auth.Links, r *mail.Renderer, baseURL string) map[string]mail.Composer {
	c := &composer{e: e, links: links, r: r, base: strings.TrimRight(baseURL, "/")}
	return map[string]mail.Composer{
		KindReplenish: composeFunc(c.replenish),
		KindRecommend: composeFunc(c.recommend),
		KindWinback:   composeFunc(c.winback),
	}
}

type composeFunc func(ctx context.Context, m mail.Message) (mail.Content, error)

func (f composeFunc) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	return f(ctx, m)
}

type composer struct {
	e     *Engine
	links *auth.Links
	r     *mail.Renderer
	base  string
}

// Shopper is the addressee of a journey email.
type Shopper struct {
	FirstName string
	OrderRef  string
}

func (c *composer) shopper(ctx context.Context, m mail.Message) (Step, Shopper, error) {
	st, err := StepByKey(ctx, c.e.db, m.DedupeKey)
	if fault.Is(err, fault.NotFound) {
		return st, Shopper{}, mail.Skip(err)
	}
	if err != nil {
		return st, Shopper{}, err
	}
	var row struct {
		Name   string         `db:"name"`
		Number sql.NullString `db:"number"`
	}
	err = c.e.db.GetContext(ctx, &row, `SELECT c.name, o.number FROM customers c LEFT JOIN orders o ON o.id = $2 WHERE c.id = $1`,
		st.CustomerID, st.OrderID)
	if errors.Is(err, sql.ErrNoRows) {
		return st, Shopper{}, mail.Skip(fmt.Errorf("journey: customer %d no longer exists", st.CustomerID))
	}
	if err != nil {
		return st, Shopper{}, fmt.Errorf("journey: addressee of message %d: %w", m.ID, err)
	}
	s := Shopper{}
	if f := strings.Fields(row.Name); len(f) > 0 {
		s.FirstName = f[0]
	}
	if row.Number.Valid && row.Number.String != "" {
		s.OrderRef = row.Number.String
		if !strings.HasPrefix(s.OrderRef, "#") {
			s.OrderRef = "#" + s.OrderRef
		}
	}
	return st, s, nil
}

// settledShopper is shopper for an email about an order, skipped when the
// order was refunded or got a return while the email waited (pacing).
func (c *composer) settledShopper(ctx context.Context, m mail.Message) (Step, Shopper, error) {
	st, who, err := c.shopper(ctx, m)
	if err != nil {
		return st, who, err
	}
	why, err := c.e.OrderSettled(ctx, c.e.db, st.OrderID)
	if err == nil && why != "" {
		err = mail.Skip(errors.New("journey: " + why))
	}
	return st, who, err
}

// ReplenishEmail is .Data of replenish_reminder.
type ReplenishEmail struct {
	Shopper
	Title      string
	ImageURL   string
	ReorderURL string
	Days       int
}

func (c *composer) replenish(ctx context.Context, m mail.Message) (mail.Content, error) {
	st, who, err := c.settledShopper(ctx, m)
	if err != nil {
		return mail.Content{}, err
	}
	var p struct {
		Title      string        `db:"title"`
		ImageURL   string        `db:"image_url"`
		ProductURL string        `db:"product_url"`
		Days       sql.NullInt64 `db:"replenish_days"`
	}
	err = c.e.db.GetContext(ctx, &p, `SELECT i.title, COALESCE(pr.image_url, '') AS image_url, COALESCE(pr.product_url, '') AS product_url,
		pr.replenish_days FROM order_items i LEFT JOIN products pr ON pr.id = i.product_id WHERE i.id = $1`, st.OrderItemID)
	if errors.Is(err, sql.ErrNoRows) {
		return mail.Content{}, mail.Skip(fmt.Errorf("journey: order item %d no longer exists", st.OrderItemID))
	}
	if err != nil {
		return mail.Content{}, fmt.Errorf("journey: product of message %d: %w", m.ID, err)
	}
	reorder, err := c.shopURL(ctx, p.ProductURL, st)
	if err != nil {
		return mail.Content{}, err
	}
	return c.r.Compose(ctx, c.e.db, KindReplenish, ReplenishEmail{Shopper: who, Title: p.Title, ImageURL: p.ImageURL,
		ReorderURL: reorder, Days: int(p.Days.Int64)})
}

// shopURL is where to buy: the product's page, the store's site, or the
// shopper's order page when the store gave neither.
func (c *composer) shopURL(ctx context.Context, productURL string, st Step) (string, error) {
	if productURL != "" {
		return productURL, nil
	}
	s, err := settings.Load(ctx, c.e.db)
	if err != nil {
		return "", err
	}
	if s.StoreURL != "" {
		return s.StoreURL, nil
	}
	return c.base + "/orders/" + strconv.FormatInt(st.OrderID, 10), nil
}

// RecommendEmail is .Data of recommendations.
type RecommendEmail struct {
	Shopper
	Products []Recommendation
	Link     auth.Link
	CodeURL  string
	ShopURL  string
}

func (c *composer) recommend(ctx context.Context, m mail.Message) (mail.Content, error) {
	st, who, err := c.settledShopper(ctx, m)
	if err != nil {
		return mail.Content{}, err
	}
	set, err := LoadSettings(ctx, c.e.db)
	if err != nil {
		return mail.Content{}, err
	}
	recs, err := Recommend(ctx, c.e.db, st.CustomerID, st.OrderID, set.AlsoBoughtMinOrders, maxRecommendations)
	if err != nil {
		return mail.Content{}, err
	}
	if len(recs) == 0 {
		return mail.Content{}, mail.Skip(errors.New("journey: nothing to recommend any more"))
	}
	for i := range recs {
		if recs[i].ProductURL == "" {
			if recs[i].ProductURL, err = c.shopURL(ctx, "", st); err != nil {
				return mail.Content{}, err
			}
		}
	}
	link, err := c.links.Issue(ctx, c.e.db, st.CustomerID, "order:"+strconv.FormatInt(st.OrderID, 10), auth.EmailLinkTTL)
	if err != nil {
		return mail.Content{}, fmt.Errorf("journey: link for order %d: %w", st.OrderID, err)
	}
	shop, err := c.shopURL(ctx, "", st)
	if err != nil {
		return mail.Content{}, err
	}
	return c.r.Compose(ctx, c.e.db, KindRecommend, RecommendEmail{Shopper: who, Products: recs, Link: link,
		CodeURL: c.base + "/signin/code", ShopURL: shop})
}

// WinbackEmail is .Data of winback_offer.
type WinbackEmail struct {
	Shopper
	Code       string
	PercentOff int
	ExpiresAt  time.Time
	ShopURL    string
}

func (c *composer) winback(ctx context.Context, m mail.Message) (mail.Content, error) {
	st, who, err := c.shopper(ctx, m)
	if err != nil {
		return mail.Content{}, err
	}
	o, ok, err := OfferOf(ctx, c.e.db, st.ID)
	if err != nil {
		return mail.Content{}, err
	}
	if !ok {
		return mail.Content{}, mail.Permanent(fmt.Errorf("journey: win-back message %d has no offer", m.ID))
	}
	shop, err := c.shopURL(ctx, "", st)
	if err != nil {
		return mail.Content{}, err
	}
	return c.r.Compose(ctx, c.e.db, KindWinback, WinbackEmail{Shopper: who, Code: o.Code, PercentOff: o.PercentOff,
		ExpiresAt: o.ExpiresAt, ShopURL: shop})
}
