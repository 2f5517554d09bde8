// Package auth signs shoppers in by magic link or 6-digit code, keeps their
// sessions in PostgreSQL, checks the store's API keys and rate-limits
// whatever can be abused. Everything that must agree between instances
// (spent tokens, sessions, counters) lives in the database.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/fault"
)

// Lifetimes of magic links.
const (
	// SignInTTL is the lifetime of a link asked for on the sign-in page.
	SignInTTL = 20 * time.Minute
	// EmailLinkTTL is the lifetime of links inside lifecycle emails.
	EmailLinkTTL = 30 * 24 * time.Hour
)

// maxTokenLen bounds the work done on a hostile token; ours are ~300 bytes.
const maxTokenLen = 2048

var (
	// ErrLinkInvalid means the token is not one of ours: malformed, tampered,
	// signed with an unknown key or an algorithm other than HS256.
	ErrLinkInvalid = fault.Errorf(fault.NotFound, "This link is not valid. Please check that it was copied whole, or ask for a new one.")
	// ErrLinkUsed means a genuine token that was already spent or has expired.
	ErrLinkUsed = fault.Errorf(fault.Conflict, "This link has been used or has expired.")
)

// Link is a magic link ready to put in an email.
type Link struct {
	URL       string // baseURL + "/m/" + token
	Code      string // 6 digits, for signing in on another device
	ExpiresAt time.Time
}

// Claims is what a genuine token says.
type Claims struct {
	JTI        string    `db:"jti"`
	CustomerID int64     `db:"customer_id"`
	Purpose    string    `db:"purpose"` // "login" or "order:<id>"
	ExpiresAt  time.Time `db:"expires_at"`
}

// Links issues, checks and spends magic-link tokens. The first signing key
// signs; every key in the ring verifies, so keys can be rotated.
type Links struct {
	db      *sqlx.DB
	keys    []config.SigningKey
	baseURL string
	now     func() time.Time
}

// NewLinks returns the magic-link issuer. baseURL is the public origin
// without a trailing slash. Issue fails when keys is empty.
func NewLinks(db *sqlx.DB, keys []config.SigningKey, baseURL string) *Links {
	return &Links{db: db, keys: keys, baseURL: baseURL, now: time.Now}
}

type tokenClaims struct {
	Purpose string `json:"pur"`
	jwt.RegisteredClaims
}

// Issue signs a token for customerID and purpose, valid for ttl, and stores
// its jti with the hash of a fresh 6-digit code through q (so callers can
// issue inside their transaction). Only the jti and the code's hash are kept.
func (l *Links) Issue(ctx context.Context, q sqlx.ExtContext, customerID int64, purpose string, ttl time.Duration) (Link, error) {
	links, err := l.IssueMany(ctx, q, []LinkRequest{{CustomerID: customerID, Purpose: purpose, TTL: ttl}})
	if err != nil {
		return Link{}, err
	}
	return links[0], nil
}

// LinkRequest is one link for IssueMany to issue.
type LinkRequest struct {
	CustomerID int64
	Purpose    string
	TTL        time.Duration
}

// IssueMany is Issue for many links at once, stored with one statement
// through q: an email delivery batch issues the links of all its emails
// with one insert and one commit instead of one of each per email. Every
// link is what Issue makes (its own jti, code and row), so each one is
// spent, expires and goes with its customer alone. It returns the links in
// the order of reqs, or none and an error.
func (l *Links) IssueMany(ctx context.Context, q sqlx.ExtContext, reqs []LinkRequest) ([]Link, error) {
	if len(l.keys) == 0 {
		return nil, errors.New("auth: issue link: no signing key configured")
	}
	key := l.keys[0]
	now := l.now().Truncate(time.Second)
	links := make([]Link, len(reqs))
	jtis, purposes, kids, exps := make([]string, len(reqs)), make([]string, len(reqs)), make([]string, len(reqs)), make([]string, len(reqs))
	customers, hashes := make([]int64, len(reqs)), make([][]byte, len(reqs))
	for i, r := range reqs {
		if r.CustomerID <= 0 || r.Purpose == "" || r.TTL <= 0 {
			return nil, fmt.Errorf("auth: issue link: bad arguments (customer %d, purpose %q, ttl %s)", r.CustomerID, r.Purpose, r.TTL)
		}
		// Time-ordered (version 7), so that a batch of links appends to the
		// primary key's index instead of dirtying a random page of it per
		// link. The jti is no secret (it is in the signed token's payload).
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("auth: issue link: %w", err)
		}
		jti := id.String()
		exp := now.Add(r.TTL)
		token, err := l.sign(key, tokenClaims{Purpose: r.Purpose, RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(r.CustomerID, 10),
			ID:        jti,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		}})
		if err != nil {
			return nil, err
		}
		code, err := randomCode()
		if err != nil {
			return nil, err
		}
		links[i] = Link{URL: l.baseURL + "/m/" + token, Code: code, ExpiresAt: exp}
		jtis[i], customers[i], purposes[i], kids[i] = jti, r.CustomerID, r.Purpose, key.ID
		hashes[i], exps[i] = codeHash(key.Secret, jti, code), exp.Format(time.RFC3339)
	}
	if len(reqs) == 0 {
		return links, nil
	}
	// The join stands in for the foreign key that migration 00019 dropped
	// (it locked each customer's row, a heap write and WAL per link): a
	// link of a customer who no longer exists is not stored, and then the
	// whole call fails, as the constraint made it do.
	res, err := q.ExecContext(ctx, `INSERT INTO login_tokens (jti, customer_id, purpose, kid, code_hash, expires_at)
		SELECT t.* FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[])
			AS t(jti, customer_id, purpose, kid, code_hash, expires_at)
		JOIN customers c ON c.id = t.customer_id`,
		pq.Array(jtis), pq.Array(customers), pq.Array(purposes), pq.Array(kids), pq.ByteaArray(hashes), pq.Array(exps))
	if err != nil {
		return nil, fmt.Errorf("auth: store login token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(reqs)) {
		return nil, fmt.Errorf("auth: store login token: %d of %d customers not found", int64(len(reqs))-n, len(reqs))
	}
	return links, nil
}

func (l *Links) sign(key config.SigningKey, c tokenClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.Secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// Verify checks a token's signature, algorithm, key and expiry without
// touching the database. It returns ErrLinkInvalid for anything not signed by
// us, and the claims together with ErrLinkUsed for a genuine but expired
// token (so a fresh link can go to its customer).
func (l *Links) Verify(token string) (Claims, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return Claims{}, ErrLinkInvalid
	}
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(token, &tc, l.keyFor,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		// Strict decoding makes the encoding canonical: one token, one spelling.
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(l.now))
	// Claims are validated only after the signature, so an expiry error
	// comes from a genuine token.
	expired := errors.Is(err, jwt.ErrTokenExpired)
	if err != nil && !expired {
		return Claims{}, ErrLinkInvalid
	}
	c, ok := claimsOf(tc)
	if !ok {
		return Claims{}, ErrLinkInvalid
	}
	if expired {
		return c, ErrLinkUsed
	}
	return c, nil
}

func (l *Links) keyFor(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if key, ok := l.key(kid); ok {
		return key.Secret, nil
	}
	return nil, errors.New("unknown kid")
}

func (l *Links) key(kid string) (config.SigningKey, bool) {
	for _, k := range l.keys {
		if k.ID == kid && kid != "" {
			return k, true
		}
	}
	return config.SigningKey{}, false
}

func claimsOf(tc tokenClaims) (Claims, bool) {
	id, err := strconv.ParseInt(tc.Subject, 10, 64)
	if err != nil || id <= 0 || tc.Purpose == "" || tc.ExpiresAt == nil {
		return Claims{}, false
	}
	if _, err := uuid.Parse(tc.ID); err != nil {
		return Claims{}, false
	}
	return Claims{JTI: tc.ID, CustomerID: id, Purpose: tc.Purpose, ExpiresAt: tc.ExpiresAt.Time}, true
}

// Check verifies token and reports whether it can still be spent, changing
// nothing: mail scanners open every link. It returns ErrLinkInvalid, or the
// claims with ErrLinkUsed when the token was spent or has expired.
func (l *Links) Check(ctx context.Context, token string) (Claims, error) {
	c, err := l.Verify(token)
	if err != nil {
		return c, err
	}
	var live bool
	err = l.db.GetContext(ctx, &live, `SELECT EXISTS (SELECT 1 FROM login_tokens
		WHERE jti = $1 AND used_at IS NULL AND expires_at > now())`, c.JTI)
	if err != nil {
		return c, fmt.Errorf("auth: check login token: %w", err)
	}
	if !live {
		return c, ErrLinkUsed
	}
	return c, nil
}

// Spend verifies token and marks it used, atomically and exactly once, through
// q (a transaction that also starts the session). A second spend, an expired
// or unknown jti return ErrLinkUsed; a forged token ErrLinkInvalid.
func (l *Links) Spend(ctx context.Context, q sqlx.ExtContext, token string) (Claims, error) {
	c, err := l.Verify(token)
	if err != nil {
		return c, err
	}
	var row struct {
		CustomerID int64  `db:"customer_id"`
		Purpose    string `db:"purpose"`
	}
	err = sqlx.GetContext(ctx, q, &row, `UPDATE login_tokens SET used_at = now()
		WHERE jti = $1 AND used_at IS NULL AND expires_at > now()
		RETURNING customer_id, purpose`, c.JTI)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrLinkUsed
	}
	if err != nil {
		return c, fmt.Errorf("auth: spend login token: %w", err)
	}
	// The row and the signed claims come from the same Issue; a mismatch
	// means tampering with the database, so trust neither.
	if row.CustomerID != c.CustomerID || row.Purpose != c.Purpose {
		return Claims{}, ErrLinkInvalid
	}
	return c, nil
}

// Sweep deletes tokens that expired more than a day ago; the used-or-expired
// page needs only the token itself, never the row.
func (l *Links) Sweep(ctx context.Context) (int64, error) {
	res, err := l.db.ExecContext(ctx, `DELETE FROM login_tokens WHERE expires_at < now() - interval '1 day'`)
	if err != nil {
		return 0, fmt.Errorf("auth: sweep login tokens: %w", err)
	}
	return res.RowsAffected()
}

// codeHash binds a code to its token and key: HMAC-SHA-256 rather than a bare
// SHA-256, because a million possible codes are no secret once the table leaks.
func codeHash(secret []byte, jti, code string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("login-code\x00" + jti + "\x00" + code))
	return m.Sum(nil)
}
