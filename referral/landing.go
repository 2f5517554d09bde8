package referral

import (
	"context"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

// MailFriendOffer is the email that gives a friend their code.
const MailFriendOffer = "referral_friend_offer"

// Claim limits: per address and per IP, in an hour.
const (
	claimsPerEmail = 5
	claimsPerIP    = 20
)

// Landing is what the friend's page shows for a code.
type Landing struct {
	Code Code
	// ReferrerName is the referrer's first name ("" when unknown).
	ReferrerName string
	Program      program.Settings
	// Available is false when the code or the program is switched off;
	// the page then says so kindly and offers nothing.
	Available bool
	// Offer is the friend's offer in words ("10% off").
	Offer string
	// Claimed is this device's (or this email's) claim, once made.
	Claimed *Referral
	// terms is the first line of the program's terms when it was worked
	// out with the cached program; renderLanding works it out otherwise.
	terms []string
}

// Visit records a visit of code's share link from deviceID and returns
// what the page shows, with this device's earlier claim if any. It returns
// ErrUnknownCode for a code that does not exist. With Options.CacheTTL the
// code and the program come from the in-process cache, and with
// Options.VisitFlushEvery the visit is buffered (see visitBuffer).
func (s *Service) Visit(ctx context.Context, code, deviceID string) (Landing, error) {
	return s.visit(ctx, code, deviceID, false)
}

// visit is Visit; newDevice says deviceID was made for this very request
// (the cookie was not sent), so that device has claimed nothing yet.
func (s *Service) visit(ctx context.Context, code, deviceID string, newDevice bool) (Landing, error) {
	l, err := s.cachedLanding(ctx, code)
	if err != nil || !l.Available {
		return l, err
	}
	if deviceID == "" {
		return l, nil
	}
	if err := s.recordVisit(ctx, visit{codeID: l.Code.ID, deviceID: deviceID, at: s.now(), newDevice: newDevice}); err != nil {
		return l, err
	}
	if newDevice {
		return l, nil
	}
	claims, err := referralsWhere(ctx, s.db, `code_id = $1 AND device_id = $2 AND source = 'claim' AND stripe_promotion_code_id <> ''`, l.Code.ID, deviceID)
	if err != nil {
		return l, err
	}
	if n := len(claims); n > 0 {
		l.Claimed = &claims[n-1]
	}
	return l, nil
}

// recordVisit buffers the visit, or writes it when there is no buffer (or
// it is closed, the server shutting down).
func (s *Service) recordVisit(ctx context.Context, v visit) error {
	if s.visits != nil && s.visits.add(v) {
		return nil
	}
	return recordVisit(ctx, s.db, v.codeID, v.deviceID, v.at)
}

// cachedLanding is landing served from the in-process cache when there is
// one: no read at all for a code and program read within the cache's TTL.
func (s *Service) cachedLanding(ctx context.Context, code string) (Landing, error) {
	if s.cache == nil {
		return s.landing(ctx, code)
	}
	key := NormalizeCode(code)
	if !plausibleCode(key) {
		return Landing{}, ErrUnknownCode
	}
	lc, err := s.cache.codes.get(ctx, key, func(ctx context.Context) (landingCode, error) { return loadLandingCode(ctx, s.db, key) })
	if err != nil {
		return Landing{}, err
	}
	if !lc.known {
		return Landing{}, ErrUnknownCode
	}
	pv, err := s.programView(ctx)
	if err != nil {
		return Landing{}, err
	}
	return Landing{Code: lc.code, ReferrerName: lc.first, Program: pv.p, Available: pv.p.Enabled && lc.code.DisabledAt == nil,
		Offer: pv.offer, terms: pv.terms}, nil
}

// programView is the program, from the cache when there is one.
func (s *Service) programView(ctx context.Context) (programView, error) {
	load := func(ctx context.Context) (programView, error) {
		p, err := program.Load(ctx, s.db)
		if err != nil {
			return programView{}, err
		}
		return newProgramView(p), nil
	}
	if s.cache == nil {
		return load(ctx)
	}
	return s.cache.programs.get(ctx, struct{}{}, load)
}

// forgetCodes drops the cached codes after a code changed here.
func (s *Service) forgetCodes() {
	if s.cache != nil {
		s.cache.codes.forget()
	}
}

// forgetProgram drops the cached program after it was saved here.
func (s *Service) forgetProgram() {
	if s.cache != nil {
		s.cache.programs.forget()
	}
}

// landing reads what the page shows for code from the database; the claim
// always does, so a code or program switched off elsewhere takes no claim.
func (s *Service) landing(ctx context.Context, code string) (Landing, error) {
	c, err := codeByValue(ctx, s.db, code)
	if err != nil {
		return Landing{}, err
	}
	p, err := program.Load(ctx, s.db)
	if err != nil {
		return Landing{}, err
	}
	name, _, err := customerNameEmail(ctx, s.db, c.CustomerID)
	if err != nil {
		return Landing{}, err
	}
	return Landing{Code: c, ReferrerName: firstName(name), Program: p, Available: p.Enabled && c.DisabledAt == nil,
		Offer: p.Friend.Describe(p.Currency)}, nil
}

// ClaimInput is a friend asking for the offer.
type ClaimInput struct {
	Code, Email, DeviceID, IP string
}

// Claim gives the friend a single-use Stripe promotion code for the
// offer, shows it and emails it. The same email claiming the same code again
// gets the same promotion code. Errors: ErrUnknownCode; fault.Conflict when
// the code or program is switched off; a fault.Field error on "email" for
// an address that is not one, is disposable or is the referrer's own;
// fault.TooMany past the per-address or per-IP limit; rewards.ErrNoStripe
// without Stripe; fault.Unavailable when Stripe failed (retry is safe).
func (s *Service) Claim(ctx context.Context, in ClaimInput) (Landing, error) {
	l, err := s.landing(ctx, in.Code)
	if err != nil {
		return l, err
	}
	if !l.Available {
		return l, fault.Errorf(fault.Conflict, "This referral link is not active any more.")
	}
	addr, err := netmail.ParseAddress(strings.TrimSpace(in.Email))
	if err != nil || strings.ContainsAny(addr.Address, " <>") {
		return l, fault.Field("email", "Please enter your email address, like name@example.com.")
	}
	email := strings.ToLower(addr.Address)
	if err := s.limitClaims(ctx, email, in.IP); err != nil {
		return l, err
	}
	if s.disposable.Has(email) {
		return l, fault.Field("email", "Please use your own email address; throwaway addresses cannot get this offer.")
	}
	_, referrerEmail, err := customerNameEmail(ctx, s.db, l.Code.CustomerID)
	if err != nil {
		return l, err
	}
	if NormalizeEmail(email) == NormalizeEmail(referrerEmail) {
		return l, fault.Field("email", "This is your own referral link: share it with friends instead.")
	}
	if !s.rewards.StripeConfigured() {
		return l, rewards.ErrNoStripe
	}
	now := s.now()
	promo := s.promotionCode(l.Code.Code)
	exp := now.Add(time.Duration(l.Program.Friend.ExpiryDays) * 24 * time.Hour).Truncate(time.Second)
	var r Referral
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		r, err = upsertClaim(ctx, tx, Referral{CodeID: l.Code.ID, ReferrerID: l.Code.CustomerID, Source: "claim", FriendEmail: email,
			FriendEmailNorm: NormalizeEmail(email), DeviceID: in.DeviceID, PromotionCode: &promo, OfferExpiresAt: &exp, CreatedAt: now})
		return err
	})
	if err != nil {
		return l, err
	}
	if r.StripePromotionCodeID == "" && r.PromotionCode != nil && r.OfferExpiresAt != nil {
		// Outside any transaction: the Stripe call may be slow, and a retry
		// sends the same request under the referral's own key.
		id, err := s.rewards.CreateFriendCode(ctx, rewards.FriendCode{ReferralID: r.ID, Code: *r.PromotionCode, ExpiresAt: *r.OfferExpiresAt, Program: l.Program})
		if err != nil {
			s.log.Error("referral: friend promotion code", "referral_id", r.ID, "error", err)
			return l, fault.Errorf(fault.Unavailable, "We could not create your code just now. Please try again in a minute.")
		}
		if err := s.issued(ctx, &r, id); err != nil {
			return l, err
		}
	}
	l.Claimed = &r
	return l, nil
}

// issued stores the Stripe id of a friend's code and queues its email.
func (s *Service) issued(ctx context.Context, r *Referral, stripeID string) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE referrals SET stripe_promotion_code_id = $2, updated_at = now() WHERE id = $1`, r.ID, stripeID); err != nil {
			return fmt.Errorf("referral: store promotion code of %d: %w", r.ID, err)
		}
		r.StripePromotionCodeID = stripeID
		if s.outbox == nil {
			return nil
		}
		return s.outbox.Queue(ctx, tx, mail.Queued{Kind: MailFriendOffer, DedupeKey: fmt.Sprintf("%s:%d", MailFriendOffer, r.ID), To: r.FriendEmail})
	})
}

// promotionCode is a fresh friend code: the referrer's name part and a
// random part (JANE7K3QX9MW reads as a gift from Jane).
func (s *Service) promotionCode(referrerCode string) string {
	prefix, _, _ := strings.Cut(referrerCode, "-")
	return rewards.RandomCode(prefix)
}

func (s *Service) limitClaims(ctx context.Context, email, ip string) error {
	if s.limiter == nil {
		return nil
	}
	for _, k := range []struct {
		key   string
		limit int
	}{{"referral-claim:email:" + NormalizeEmail(email), claimsPerEmail}, {"referral-claim:ip:" + ip, claimsPerIP}} {
		if strings.HasSuffix(k.key, ":") {
			continue
		}
		ok, retry, err := s.limiter.Allow(ctx, k.key, k.limit, time.Hour)
		if err != nil {
			return err
		}
		if !ok {
			return &claimsLimited{fault.Errorf(fault.TooMany, "Too many tries for now. Please wait a little and try again."), retry}
		}
	}
	return nil
}

// claimsLimited is the fault.TooMany of a claim refused by a rate limit,
// with the wait the handler sends as Retry-After.
type claimsLimited struct {
	fe         *fault.Error
	retryAfter time.Duration
}

func (e *claimsLimited) Error() string { return e.fe.Error() }
func (e *claimsLimited) Unwrap() error { return e.fe }

// StoreLink is the store's address with code in the parameter the store
// reads discounts from (https://shop.example/?discount=CODE), or "" when
// the store's address is not set.
func StoreLink(storeURL, param, code string) string {
	u, err := url.Parse(strings.TrimSpace(storeURL))
	if err != nil || storeURL == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	q := u.Query()
	q.Set(param, code)
	u.RawQuery = q.Encode()
	return u.String()
}
