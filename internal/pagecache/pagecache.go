// Package pagecache keeps what the order page read, per order, for as long
// as nothing it shows has changed.
//
// Every view of an order page reads one row first: the order's
// page_version, which triggers move in the same transaction as any change
// to the order, its lines, shipments, tracking, returns or reviews, and its
// customer's (moved by a change of name), together with the store's
// settings and catalog epochs (migrations 00013 and 00014). That Key goes into the request's context; each part of
// the page (the portal's order, the returns, reviews and guides sections)
// keeps its own Cache and calls Load with a function that reads the
// database. A Key that differs from the cached one, in any part, is a miss.
//
// So a cache never serves what another instance has already changed: the
// check is against the database on every view, it only saves the reads
// behind it. Values handed out are shared between requests and must be
// treated as read-only.
package pagecache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Lookups counts, across every Cache of the process, the Loads made under
// an order page's key: Hits were served from memory. /metrics exports them
// (aftercare_pagecache_*), and `make bench` reports the ratio.
var Lookups, Hits atomic.Int64

// MemoLookups and MemoHits count the signed-in requests' session reads and
// those answered from memory (internal/auth's memo, which the change feed
// keeps true), exported as aftercare_session_memo_*.
var MemoLookups, MemoHits atomic.Int64

// Key names one version of one order page's data.
type Key struct {
	Order    int64 // orders.id
	Version  int64 // orders.page_version
	Customer int64 // customers.page_version of the order's customer
	Settings int64 // cache_epochs 'settings'
	Catalog  int64 // cache_epochs 'catalog'
}

type ctxKey struct{}

// WithKey returns ctx carrying the page's key, for the Loads below it.
func WithKey(ctx context.Context, k Key) context.Context {
	return context.WithValue(ctx, ctxKey{}, k)
}

// KeyFrom returns the key WithKey put in ctx.
func KeyFrom(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(ctxKey{}).(Key)
	return k, ok
}

// DefaultSize is how many orders a Cache keeps unless told otherwise:
// enough for the pages shoppers are looking at right now. An order's parts
// take a few KB in all, so the caches of the order page stay within tens of
// MB (the server's peak under `make bench` is in BENCHMARKS.md).
const DefaultSize = 5000

// SectionSize is how many orders the caches of the page's sections keep
// (the order's data, returns, reviews, guides, recommendations). The page
// itself is kept whole while its key holds; a section is read only when the
// page is rendered again under the same key (the clock moved past something
// it shows), so the most recent orders are enough, and the memory goes to
// the whole pages.
const SectionSize = 1000

// Cache keeps one value per order, under the key it was read for.
type Cache[T any] struct {
	mu     sync.Mutex
	max    int
	maxAge time.Duration
	m      map[int64]entry[T]
}

type entry[T any] struct {
	key Key
	val T
	at  time.Time
}

// New returns a cache of at most max orders (DefaultSize when max <= 0).
func New[T any](max int) *Cache[T] {
	if max <= 0 {
		max = DefaultSize
	}
	return &Cache[T]{max: max, m: make(map[int64]entry[T])}
}

// WithMaxAge also expires entries older than d, for a part of the page that
// depends on something the order's version does not follow (another order
// of the same customer, say). It returns c.
func (c *Cache[T]) WithMaxAge(d time.Duration) *Cache[T] {
	c.maxAge = d
	return c
}

// Load returns the value cached for the key in ctx, or calls load and keeps
// its answer under that key. Without a key for orderID in ctx (a caller
// other than the order page, a test) it just calls load.
//
// With a maximum age, the value's expiry is reported to the section being
// rendered under ctx (Until), so that a rendering made from it is not kept
// longer than the value itself.
func (c *Cache[T]) Load(ctx context.Context, orderID int64, load func() (T, error)) (T, error) {
	return c.LoadIf(ctx, orderID, nil, load)
}

// LoadIf is Load that also treats a cached value as a miss when fresh (if
// not nil) reports false for it: for values that hold only for a while,
// such as a rendering that speaks of "today".
func (c *Cache[T]) LoadIf(ctx context.Context, orderID int64, fresh func(T) bool, load func() (T, error)) (T, error) {
	k, ok := KeyFrom(ctx)
	if !ok || k.Order != orderID {
		return load()
	}
	c.mu.Lock()
	e, hit := c.m[orderID]
	c.mu.Unlock()
	Lookups.Add(1)
	if hit && e.key == k && (c.maxAge == 0 || time.Since(e.at) < c.maxAge) && (fresh == nil || fresh(e.val)) {
		Hits.Add(1)
		if c.maxAge > 0 {
			Until(ctx, e.at.Add(c.maxAge))
		}
		return e.val, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	now := time.Now()
	if c.maxAge > 0 {
		Until(ctx, now.Add(c.maxAge))
	}
	c.mu.Lock()
	if _, had := c.m[orderID]; !had && len(c.m) >= c.max {
		// Drop about a tenth, in Go's random map order: cheaper than an LRU
		// list on every hit, and a dropped page only costs one more read.
		n := max(1, c.max/10)
		for id := range c.m {
			if n <= 0 {
				break
			}
			delete(c.m, id)
			n--
		}
	}
	c.m[orderID] = entry[T]{key: k, val: v, at: now}
	c.mu.Unlock()
	return v, nil
}

// Len is the number of orders cached.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// A Span follows one section of a page while it is rendered: whether the
// section said it may be kept (Stable) and until when what it rendered
// stays true of the clock (Until). A rendering depends on the clock when it
// speaks of "today", of a window that closes, or shows a value kept for a
// limited time; such a section reports the first instant at which it would
// render differently. Sections render in one goroutine each, but a Span is
// safe for concurrent use anyway.
type Span struct {
	mu     sync.Mutex
	stable bool
	until  time.Time // zero: no limit
}

type spanKey struct{}

// Track returns ctx carrying a new Span for the section about to be
// rendered under it.
func Track(ctx context.Context) (context.Context, *Span) {
	s := &Span{}
	return context.WithValue(ctx, spanKey{}, s), s
}

// Stable declares that the section rendered under ctx shows nothing but
// what the page's Key names and the clock (reported with Until): it may be
// kept as rendered under that Key. A section that reads anything else (a
// value kept for a time, another customer's data, the request) must not
// call it, and is rendered afresh for every view. Without a Span in ctx it
// does nothing.
func Stable(ctx context.Context) {
	if s, ok := ctx.Value(spanKey{}).(*Span); ok {
		s.mu.Lock()
		s.stable = true
		s.mu.Unlock()
	}
}

// Until reports that what the section rendered under ctx shows holds only
// before t: from t on it would render differently. The earliest report
// counts. Without a Span in ctx it does nothing.
func Until(ctx context.Context, t time.Time) {
	if s, ok := ctx.Value(spanKey{}).(*Span); ok {
		s.mu.Lock()
		if s.until.IsZero() || t.Before(s.until) {
			s.until = t
		}
		s.mu.Unlock()
	}
}

// Stable reports whether the section declared itself keepable.
func (s *Span) Stable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stable
}

// Until is the first instant at which the section would render
// differently; zero when the clock does not matter to it.
func (s *Span) Until() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.until
}

// Earlier returns the earlier of two Until instants, zero meaning never.
func Earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
