package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail"
)

// Sign-in limits. A code gets a few more attempts per address than a link
// (typos), and MaxCodeTries still bounds the guesses per code.
var (
	linkPerEmail = limit{5, 15 * time.Minute}
	linkPerIP    = limit{20, 15 * time.Minute}
	codePerEmail = limit{10, 15 * time.Minute}
	codePerIP    = limit{20, 15 * time.Minute}
)

type limit struct {
	n      int
	window time.Duration
}

// limitedError says an attempt was refused by a rate limit.
type limitedError struct{ retryAfter time.Duration }

func (e *limitedError) Error() string { return "auth: rate limited for " + e.retryAfter.String() }

// errDiscard rolls back the look-alike work done for unknown addresses.
var errDiscard = errors.New("auth: discard")

// signIn decides the sign-in flows; handlers only parse and render.
type signIn struct {
	db      *sqlx.DB
	links   *Links
	limiter *RateLimiter
	outbox  *mail.Outbox
	log     *slog.Logger
}

// NormalizeEmail trims and lower-cases an address and reports whether it is
// a plain address (no display name) short enough to store.
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 254 {
		return "", false
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	return s, true
}

// allow counts one attempt against every limit (each is always counted, so a
// refusal by one does not hide the others) and returns a *limitedError.
func (s *signIn) allow(ctx context.Context, keys []string, limits []limit) error {
	var wait time.Duration
	for i, key := range keys {
		ok, retry, err := s.limiter.Allow(ctx, key, limits[i].n, limits[i].window)
		if err != nil {
			return err
		}
		if !ok {
			wait = max(wait, retry)
		}
	}
	if wait > 0 {
		return &limitedError{retryAfter: wait}
	}
	return nil
}

// requestLink emails a sign-in link to email if it belongs to a customer.
// Known and unknown addresses take the same path, statement for statement:
// for an unknown one the queued message is rolled back, so neither the
// answer nor its timing tells whether the address is known.
func (s *signIn) requestLink(ctx context.Context, email, ip string) error {
	if err := s.allow(ctx, []string{"signin:email:" + digest(email), "signin:ip:" + ip}, []limit{linkPerEmail, linkPerIP}); err != nil {
		return err
	}
	dedupe, err := randomToken(16)
	if err != nil {
		return err
	}
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM customers WHERE email = $1`, email)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("auth: find customer: %w", err)
		}
		qerr := s.outbox.Queue(ctx, tx, mail.Queued{Kind: "login_link", DedupeKey: "login_link:" + dedupe, To: email, CustomerID: id})
		if id == 0 {
			return errDiscard // whatever Queue said: an unknown address must not answer differently
		}
		return qerr
	})
	if errors.Is(err, errDiscard) {
		return nil
	}
	if err == nil {
		s.log.Info("sign-in link queued", "ip", ip)
	}
	return err
}

// sendFresh emails a new sign-in link to the address on file of the
// customer a genuine (used or expired) token named, and returns that
// address masked for the page.
func (s *signIn) sendFresh(ctx context.Context, customerID int64, ip string) (string, error) {
	var email string
	err := s.db.GetContext(ctx, &email, `SELECT email FROM customers WHERE id = $1`, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrLinkInvalid
	}
	if err != nil {
		return "", fmt.Errorf("auth: find customer: %w", err)
	}
	// The per-address count is shared with the sign-in page: one budget of
	// emails per address, however they are asked for.
	if err := s.allow(ctx, []string{"signin:email:" + digest(email), "signin:ip:" + ip}, []limit{linkPerEmail, linkPerIP}); err != nil {
		return "", err
	}
	dedupe, err := randomToken(16)
	if err != nil {
		return "", err
	}
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return s.outbox.Queue(ctx, tx, mail.Queued{Kind: "login_link", DedupeKey: "login_link:" + dedupe, To: email, CustomerID: customerID})
	})
	if err != nil {
		return "", err
	}
	s.log.Info("fresh sign-in link queued", "customer_id", customerID, "ip", ip)
	return maskEmail(email), nil
}

// allowCode counts a code attempt for email and ip.
func (s *signIn) allowCode(ctx context.Context, email, ip string) error {
	return s.allow(ctx, []string{"code:email:" + digest(email), "code:ip:" + ip}, []limit{codePerEmail, codePerIP})
}

// destination is where a spent token leads: its scope, or for a plain
// sign-in the page the shopper wanted (a local path only), or their orders.
func destination(purpose, next string) string {
	if id, ok := strings.CutPrefix(purpose, "order:"); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			return "/orders/" + strconv.FormatInt(n, 10)
		}
	}
	if purpose == "login" {
		if p := safeNext(next); p != "" {
			return p
		}
	}
	return "/orders"
}

// maskEmail shows enough of an address to recognise it, not to learn it:
// "jane.doe@example.com" becomes "j•••@e•••.com".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" {
		return "•••"
	}
	host, tld := domain, ""
	if i := strings.LastIndex(domain, "."); i > 0 {
		host, tld = domain[:i], domain[i:]
	}
	return firstRune(local) + "•••@" + firstRune(host) + "•••" + tld
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// digest keeps addresses out of the rate_limits table.
func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
