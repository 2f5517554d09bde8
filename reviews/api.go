package reviews

import (
	"encoding/json"
	"html/template"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
)

// Partials renders a named shared template (web.Engine does).
type Partials interface {
	Partial(name string, data any) (template.HTML, error)
}

// API serves published reviews to the storefront, with no API key: the
// JSON read API (CORS for the configured storefront origins) and the
// embeddable widget page.
type API struct {
	svc   *Service
	db    *sqlx.DB
	views Partials
}

// NewAPI returns the public review API; views renders the widget.
func NewAPI(svc *Service, db *sqlx.DB, views Partials) *API {
	return &API{svc: svc, db: db, views: views}
}

// Routes mounts, before the API-key group:
//
//	GET     /api/v1/products/:sku/reviews?page=N&per_page=M   published reviews, average and count
//	OPTIONS /api/v1/products/:sku/reviews                     CORS preflight
//	GET     /widget/products/:sku/reviews                     the widget page, for an <iframe>
func (a *API) Routes(r fiber.Router) {
	r.Options("/api/v1/products/:sku/reviews", a.preflight)
	r.Get("/api/v1/products/:sku/reviews", a.list)
	r.Get("/widget/products/:sku/reviews", a.widget)
}

// ListResponse is the JSON of GET /api/v1/products/{sku}/reviews.
type ListResponse struct {
	SKU     string         `json:"sku"`
	Count   int            `json:"count"`
	Average float64        `json:"average"`
	Ratings map[string]int `json:"ratings"` // "1".."5" -> how many
	Page    int            `json:"page"`
	PerPage int            `json:"per_page"`
	Pages   int            `json:"pages"`
	Reviews []PublicReview `json:"reviews"`
}

func (a *API) list(c *fiber.Ctx) error {
	if err := a.cors(c); err != nil {
		return err
	}
	p, err := a.svc.Published(c.UserContext(), skuParam(c), c.QueryInt("page", 1), c.QueryInt("per_page", DefaultPerPage))
	if err != nil {
		return err
	}
	out := ListResponse{SKU: p.SKU, Count: p.Summary.Count, Average: p.Summary.Average, Ratings: map[string]int{},
		Page: p.Page, PerPage: p.PerPage, Pages: p.Pages, Reviews: []PublicReview{}}
	for i, n := range p.Summary.Histogram {
		out.Ratings[string(rune('1'+i))] = n
	}
	for _, r := range p.Reviews {
		out.Reviews = append(out.Reviews, r.Public())
	}
	// Storefronts may cache a little; a new review shows within a minute.
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.JSON(out)
}

func (a *API) preflight(c *fiber.Ctx) error {
	if err := a.cors(c); err != nil {
		return err
	}
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, OPTIONS")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	return c.SendStatus(fiber.StatusNoContent)
}

// cors allows the request's Origin when it is a configured storefront
// origin (or any origin is allowed); otherwise the browser is not told it
// may read the answer.
func (a *API) cors(c *fiber.Ctx) error {
	c.Vary(fiber.HeaderOrigin)
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return nil
	}
	set, err := LoadSettings(c.UserContext(), a.db)
	if err != nil {
		return err
	}
	switch {
	case slices.Contains(set.StorefrontOrigins, "*"):
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	case slices.Contains(set.StorefrontOrigins, strings.ToLower(origin)):
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	}
	return nil
}

// widget is a small page of stars and the newest reviews, with schema.org
// AggregateRating markup, for the storefront to frame. Only the storefront
// origins may frame it.
func (a *API) widget(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sku := skuParam(c)
	p, err := a.svc.Published(ctx, sku, 1, c.QueryInt("per_page", 5))
	if err != nil {
		return err
	}
	set, err := LoadSettings(ctx, a.db)
	if err != nil {
		return err
	}
	var title string
	if err := a.db.GetContext(ctx, &title, `SELECT COALESCE((SELECT title FROM products WHERE sku = $1), '')`, sku); err != nil {
		return err
	}
	nonce, _ := c.Locals("cspNonce").(string)
	html, err := a.views.Partial("reviews_widget", map[string]any{"page": p, "title": title, "nonce": nonce,
		"schema": schemaOrg(p, title), "stars": Stars(int(p.Summary.Average + 0.5))})
	if err != nil {
		return err
	}
	ancestors := "'none'"
	if len(set.StorefrontOrigins) > 0 {
		ancestors = strings.Join(set.StorefrontOrigins, " ")
	}
	h := &c.Response().Header
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data: https:; script-src 'nonce-"+nonce+
		"'; base-uri 'none'; form-action 'none'; frame-ancestors "+ancestors)
	h.Del("X-Frame-Options")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	c.Type("html", "utf-8")
	return c.SendString(string(html))
}

// schemaOrg is the JSON-LD of a product's reviews: a Product with its
// AggregateRating and the reviews shown. json.Marshal escapes <, > and &,
// so it cannot close the script element it sits in.
func schemaOrg(p Page, title string) template.JS {
	if p.Summary.Count == 0 {
		return ""
	}
	type rating struct {
		Type  string `json:"@type"`
		Value int    `json:"ratingValue"`
	}
	type review struct {
		Type   string            `json:"@type"`
		Author map[string]string `json:"author"`
		Rating rating            `json:"reviewRating"`
		Name   string            `json:"name,omitempty"`
		Body   string            `json:"reviewBody,omitempty"`
		Date   string            `json:"datePublished,omitempty"`
	}
	doc := map[string]any{
		"@context": "https://schema.org", "@type": "Product", "name": title, "sku": p.SKU,
		"aggregateRating": map[string]any{"@type": "AggregateRating", "ratingValue": p.Summary.Average,
			"reviewCount": p.Summary.Count, "bestRating": 5, "worstRating": 1},
	}
	var rs []review
	for _, r := range p.Reviews {
		rv := review{Type: "Review", Author: map[string]string{"@type": "Person", "name": r.AuthorName},
			Rating: rating{Type: "Rating", Value: r.Rating}, Name: r.Title, Body: r.Body}
		if r.PublishedAt != nil {
			rv.Date = r.PublishedAt.UTC().Format("2006-01-02")
		}
		rs = append(rs, rv)
	}
	if len(rs) > 0 {
		doc["review"] = rs
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	return template.JS(b) //nolint:gosec // JSON with <, > and & escaped
}

// skuParam is the :sku route parameter unescaped.
func skuParam(c *fiber.Ctx) string {
	v := c.Params("sku")
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
