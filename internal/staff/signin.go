package staff

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail"
)

// MailKind is the outbox kind of the email with a staff sign-in link;
// Composer renders it.
const MailKind = "staff_login_link"

// Sign-in limits, per address and per IP address. A password gets more
// tries than a link (typos); every attempt counts, right or wrong.
var (
	passwordPerEmail = limit{10, 15 * time.Minute}
	passwordPerIP    = limit{30, 15 * time.Minute}
	linkPerEmail     = limit{5, 15 * time.Minute}
	linkPerIP        = limit{20, 15 * time.Minute}
)

type limit struct {
	n      int
	window time.Duration
}

// limitedError says an attempt was refused by a rate limit.
type limitedError struct{ retryAfter time.Duration }

func (e *limitedError) Error() string { return "staff: rate limited for " + e.retryAfter.String() }

// errDiscard rolls back the look-alike work done for unknown addresses.
var errDiscard = errors.New("staff: discard")

// signIn decides the sign-in flows; handlers only parse and render.
type signIn struct {
	db       *sqlx.DB
	accounts *Accounts
	limiter  *auth.RateLimiter
	outbox   *mail.Outbox
	log      *slog.Logger
}

// allow counts one attempt against every limit (each is always counted, so
// a refusal by one does not hide the others) and returns a *limitedError.
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

// password checks a password sign-in after counting it against the limits,
// so a guesser is slowed before any hash is computed. It returns the member,
// ErrBadCredentials or a *limitedError.
func (s *signIn) password(ctx context.Context, email, password, ip string) (Member, error) {
	err := s.allow(ctx, []string{"staff:pw:email:" + digest(email), "staff:pw:ip:" + ip}, []limit{passwordPerEmail, passwordPerIP})
	if err != nil {
		return Member{}, err
	}
	m, err := s.accounts.Authenticate(ctx, email, password)
	if errors.Is(err, ErrBadCredentials) {
		s.log.Warn("staff sign-in refused", "ip", ip)
	}
	return m, err
}

// requestLink emails a sign-in link to email if it belongs to an active
// staff account. Known and unknown addresses take the same path, statement
// for statement; for an unknown one the queued message is rolled back, so
// neither the answer nor its timing tells whether the address is staff.
func (s *signIn) requestLink(ctx context.Context, email, ip string) error {
	if err := s.allow(ctx, []string{"staff:link:email:" + digest(email), "staff:link:ip:" + ip}, []limit{linkPerEmail, linkPerIP}); err != nil {
		return err
	}
	dedupe, err := randomToken()
	if err != nil {
		return err
	}
	err = db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM staff WHERE email = $1 AND disabled_at IS NULL`, email)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("staff: find account: %w", err)
		}
		qerr := s.outbox.Queue(ctx, tx, mail.Queued{Kind: MailKind, DedupeKey: MailKind + ":" + dedupe, To: email})
		if id == 0 {
			return errDiscard // whatever Queue said: an unknown address must not answer differently
		}
		return qerr
	})
	if errors.Is(err, errDiscard) {
		return nil
	}
	if err == nil {
		s.log.Info("staff sign-in link queued", "ip", ip)
	}
	return err
}

// digest keeps addresses out of the rate_limits table.
func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
