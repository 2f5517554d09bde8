// Package referral is Aftercare's referral program: every customer with an
// order gets a code (FIRSTNAME-XXXX) with a share link (/r/{code}) and a QR
// code; a friend who opens the link leaves an email and gets a single-use
// Stripe promotion code; an incoming order that used it (or carries the
// referral code) within the attribution window converts the referral, after
// fraud checks, into a reward that referral/rewards holds until the friend's
// order is past its return window and then pays. Shoppers see the Refer page
// with their ledger; staff work flagged conversions and the program's
// settings in /admin/referrals.
package referral

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/referral/rewards"
)

// Orders reads an order with what the store said about it (address,
// payment fingerprint, attribution, refunds). *commerce.Service is one.
type Orders interface {
	Order(ctx context.Context, id int64) (commerce.Order, error)
}

// Limiter counts attempts per key in a window; *auth.RateLimiter is one.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Options are the service's dependencies.
type Options struct {
	DB      *sqlx.DB
	Orders  Orders
	Rewards *rewards.Service
	// Bus, when set, receives referral.converted in the conversion's
	// transaction.
	Bus     *events.Bus
	Outbox  *mail.Outbox
	Limiter Limiter
	// BaseURL is the public origin: share links are BaseURL + "/r/" + code.
	BaseURL string
	Logger  *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Suffix makes the random part of a code, n characters of
	// rewards.CodeAlphabet; nil uses crypto/rand.
	Suffix func(n int) string
	// CacheTTL, when positive, keeps what the friend's landing and the
	// order page's panel read (codes with their referrer's name, the
	// program) in process for that long (DefaultCacheTTL in the server); 0
	// reads the database every time.
	CacheTTL time.Duration
	// VisitFlushEvery, when positive, buffers the landing's visits and writes
	// them that often in one insert (DefaultVisitFlushEvery in the server);
	// Close writes the rest. 0 writes each visit as it happens.
	VisitFlushEvery time.Duration
}

// Service holds the program's rules: codes, the friend's claim,
// attribution and fraud checks, the ledger and the admin's work.
type Service struct {
	db         *sqlx.DB
	orders     Orders
	rewards    *rewards.Service
	bus        *events.Bus
	outbox     *mail.Outbox
	limiter    Limiter
	baseURL    string
	log        *slog.Logger
	now        func() time.Time
	suffix     func(n int) string
	disposable *Disposable
	// cache is nil without Options.CacheTTL.
	cache *landingCache
	// visits is nil without Options.VisitFlushEvery.
	visits *visitBuffer
}

// NewService returns the service.
func NewService(o Options) *Service {
	s := &Service{db: o.DB, orders: o.Orders, rewards: o.Rewards, bus: o.Bus, outbox: o.Outbox, limiter: o.Limiter,
		baseURL: strings.TrimRight(o.BaseURL, "/"), log: o.Logger, now: o.Now, suffix: o.Suffix, disposable: NewDisposable()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.suffix == nil {
		s.suffix = defaultSuffix
	}
	if o.CacheTTL > 0 {
		s.cache = newLandingCache(s.db, s.log, o.CacheTTL)
	}
	if o.VisitFlushEvery > 0 {
		s.visits = newVisitBuffer(s.db, s.log, o.VisitFlushEvery)
	}
	return s
}

// Close writes the visits still buffered and stops their flusher; call it
// once the server has stopped taking requests (a visit recorded after it is
// written at once). Without Options.VisitFlushEvery it does nothing.
func (s *Service) Close(ctx context.Context) error {
	if s.visits == nil {
		return nil
	}
	return s.visits.close(ctx)
}

// ShareLink is the friend's way in for code: BaseURL/r/CODE.
func (s *Service) ShareLink(code string) string { return s.baseURL + "/r/" + code }

// BaseURL is the public origin links are made under.
func (s *Service) BaseURL() string { return s.baseURL }

// Rewards is the rewards service the program pays through.
func (s *Service) Rewards() *rewards.Service { return s.rewards }
