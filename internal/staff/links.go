package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// Lifetimes of staff sign-in links.
const (
	// LinkTTL is the lifetime of a link asked for on the sign-in page.
	LinkTTL = 20 * time.Minute
	// MaxLinkTTL bounds links printed by `aftercare dev` and the command line.
	MaxLinkTTL = 24 * time.Hour
)

// tokenLen is the length of 32 random bytes in unpadded base64url.
const tokenLen = 43

var (
	// ErrLinkInvalid means the token was never issued (or was swept).
	ErrLinkInvalid = fault.Errorf(fault.NotFound, "This sign-in link is not valid. Please check that it was copied whole, or ask for a new one.")
	// ErrLinkUsed means a real token that was spent, expired, or whose
	// account was disabled.
	ErrLinkUsed = fault.Errorf(fault.Conflict, "This sign-in link has been used or has expired.")
)

// Link is a staff sign-in link.
type Link struct {
	URL       string // baseURL + "/admin/m/" + token
	ExpiresAt time.Time
}

// Links issues and spends staff sign-in links: random tokens of which only
// the SHA-256 is stored, each spent at most once.
type Links struct {
	db      *sqlx.DB
	baseURL string
}

// NewLinks returns the link issuer; baseURL is the public origin.
func NewLinks(db *sqlx.DB, baseURL string) *Links {
	return &Links{db: db, baseURL: strings.TrimRight(baseURL, "/")}
}

// Issue stores a new token for staffID through q (so it can join the
// caller's transaction) and returns its link, valid for ttl (at most
// MaxLinkTTL).
func (l *Links) Issue(ctx context.Context, q sqlx.ExecerContext, staffID int64, ttl time.Duration) (Link, error) {
	if staffID <= 0 || ttl <= 0 || ttl > MaxLinkTTL {
		return Link{}, fmt.Errorf("staff: issue link: bad arguments (staff %d, ttl %s)", staffID, ttl)
	}
	token, err := randomToken()
	if err != nil {
		return Link{}, err
	}
	expires := time.Now().Add(ttl).Truncate(time.Second)
	_, err = q.ExecContext(ctx, `INSERT INTO staff_login_tokens (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)`,
		hashToken(token), staffID, expires)
	if err != nil {
		return Link{}, fmt.Errorf("staff: store link: %w", err)
	}
	return Link{URL: l.baseURL + "/admin/m/" + token, ExpiresAt: expires}, nil
}

// Check reports whether token can still be spent, without spending it:
// ErrLinkInvalid when it is not ours, ErrLinkUsed when spent, expired or
// its account disabled.
func (l *Links) Check(ctx context.Context, token string) error {
	if len(token) != tokenLen {
		return ErrLinkInvalid
	}
	var live bool
	err := l.db.GetContext(ctx, &live, `SELECT t.used_at IS NULL AND t.expires_at > now() AND s.disabled_at IS NULL
		FROM staff_login_tokens t JOIN staff s ON s.id = t.staff_id WHERE t.token_hash = $1`, hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return ErrLinkInvalid
	}
	if err != nil {
		return fmt.Errorf("staff: check link: %w", err)
	}
	if !live {
		return ErrLinkUsed
	}
	return nil
}

// Spend marks token used through q and returns the member it signs in. Of
// two concurrent spends only one succeeds (the update's condition decides);
// the other gets ErrLinkUsed, as do an expired link and one whose account
// was disabled. A token never issued is ErrLinkInvalid.
func (l *Links) Spend(ctx context.Context, q sqlx.QueryerContext, token string) (Member, error) {
	var m Member
	if len(token) != tokenLen {
		return m, ErrLinkInvalid
	}
	err := sqlx.GetContext(ctx, q, &m, `UPDATE staff_login_tokens t SET used_at = now()
		FROM staff s
		WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND s.id = t.staff_id AND s.disabled_at IS NULL
		RETURNING s.id, s.email, s.name, s.role`, hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		var known bool
		if err := sqlx.GetContext(ctx, q, &known, `SELECT EXISTS (SELECT 1 FROM staff_login_tokens WHERE token_hash = $1)`, hashToken(token)); err != nil {
			return m, fmt.Errorf("staff: spend link: %w", err)
		}
		if known {
			return m, ErrLinkUsed
		}
		return m, ErrLinkInvalid
	}
	if err != nil {
		return m, fmt.Errorf("staff: spend link: %w", err)
	}
	return m, nil
}

// Sweep deletes links that expired more than a day ago (kept that long so a
// late click says "used or expired" rather than "not valid").
func (l *Links) Sweep(ctx context.Context) (int64, error) {
	res, err := l.db.ExecContext(ctx, `DELETE FROM staff_login_tokens WHERE expires_at < now() - interval '1 day'`)
	if err != nil {
		return 0, fmt.Errorf("staff: sweep links: %w", err)
	}
	return res.RowsAffected()
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// randomToken returns 32 random bytes in unpadded base64url.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("staff: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
