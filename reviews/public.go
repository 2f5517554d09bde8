package reviews

import (
	"context"
	"strconv"
	"time"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Page is one page of a product's published reviews.
type Page struct {
	SKU     string
	Summary Summary
	Reviews []Review
	Page    int
	PerPage int
	Pages   int
}

// Limits of the public list.
const (
	DefaultPerPage = 10
	MaxPerPage     = 50
)

// Published returns page (from 1) of sku's published reviews, newest
// first, perPage at a time (DefaultPerPage when 0, at most MaxPerPage),
// with the count and average of all of them.
func (s *Service) Published(ctx context.Context, sku string, page, perPage int) (Page, error) {
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	perPage, page = min(perPage, MaxPerPage), max(page, 1)
	sum, err := summary(ctx, s.db, sku)
	if err != nil {
		return Page{}, err
	}
	p := Page{SKU: sku, Summary: sum, Page: page, PerPage: perPage, Pages: (sum.Count + perPage - 1) / perPage, Reviews: []Review{}}
	if sum.Count == 0 || (page-1)*perPage >= sum.Count {
		return p, nil
	}
	if p.Reviews, err = published(ctx, s.db, sku, perPage, (page-1)*perPage); err != nil {
		return Page{}, err
	}
	return p, nil
}

// PublicReview is a review as the storefront API shows it.
type PublicReview struct {
	ID            int64        `json:"id"`
	Rating        int          `json:"rating"`
	Title         string       `json:"title"`
	Body          string       `json:"body"`
	Author        string       `json:"author"`
	VerifiedBuyer bool         `json:"verified_buyer"`
	PublishedAt   time.Time    `json:"published_at"`
	Reply         *PublicReply `json:"reply,omitempty"`
}

// PublicReply is the store's answer under a review.
type PublicReply struct {
	Body string    `json:"body"`
	At   time.Time `json:"at"`
}

// Public is r as the storefront may show it: no ids of orders or people.
func (r Review) Public() PublicReview {
	p := PublicReview{ID: r.ID, Rating: r.Rating, Title: r.Title, Body: r.Body, Author: r.AuthorName, VerifiedBuyer: true}
	if r.PublishedAt != nil {
		p.PublishedAt = r.PublishedAt.UTC()
	}
	if r.ReplyBody != "" && r.ReplyAt != nil {
		p.Reply = &PublicReply{Body: r.ReplyBody, At: r.ReplyAt.UTC()}
	}
	return p
}
