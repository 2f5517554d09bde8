package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// apiKeyPrefix starts every key, so a leaked one is easy to recognise
// (secret scanners) and to tell from other tokens.
const apiKeyPrefix = "ak_live_"

// apiKeyRandomLen random base62 characters give about 190 bits.
const apiKeyRandomLen = 32

// shownPrefixLen characters of a key are kept in the clear to tell keys apart.
const shownPrefixLen = len(apiKeyPrefix) + 4

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var errBadAPIKey = fault.Errorf(fault.Unauthorized, "A valid API key is needed: send it as Authorization: Bearer ak_live_...")

// APIKey is a stored key as an operator sees it; the key itself is never kept.
type APIKey struct {
	ID         int64      `db:"id"`
	Name       string     `db:"name"`
	Prefix     string     `db:"prefix"`
	CreatedAt  time.Time  `db:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

// APIKeys creates, checks and revokes the store's API keys.
type APIKeys struct {
	db *sqlx.DB
}

// NewAPIKeys returns the API key store.
func NewAPIKeys(db *sqlx.DB) *APIKeys {
	return &APIKeys{db: db}
}

// Create makes a key named name and returns its plaintext, which is shown
// once: only its SHA-256 and a short prefix are stored. A blank or overlong
// name is a fault.Invalid error.
func (k *APIKeys) Create(ctx context.Context, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", fault.Field("name", "must be 1 to 100 characters")
	}
	key, err := newAPIKey()
	if err != nil {
		return "", err
	}
	_, err = k.db.ExecContext(ctx, `INSERT INTO api_keys (name, prefix, hash) VALUES ($1, $2, $3)`,
		clip(name, 100), key[:shownPrefixLen], hashID(key))
	if err != nil {
		return "", fmt.Errorf("auth: create api key: %w", err)
	}
	return key, nil
}

func newAPIKey() (string, error) {
	b := make([]byte, apiKeyRandomLen)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("auth: random api key: %w", err)
		}
		b[i] = base62[n.Int64()]
	}
	return apiKeyPrefix + string(b), nil
}

// Require is middleware for the JSON API: it lets through requests with
// `Authorization: Bearer <live key>` and sets the local `apiKeyID`. A
// missing, unknown or revoked key is a fault.Unauthorized error, which the
// server renders as 401 problem+json.
func (k *APIKeys) Require(c *fiber.Ctx) error {
	scheme, key, _ := strings.Cut(strings.TrimSpace(c.Get(fiber.HeaderAuthorization)), " ")
	key = strings.TrimSpace(key)
	if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(key, apiKeyPrefix) || len(key) != len(apiKeyPrefix)+apiKeyRandomLen {
		return k.refuse(c)
	}
	hash := hashID(key)
	var row struct {
		ID    int64 `db:"id"`
		Stale bool  `db:"stale"`
	}
	ctx := c.UserContext()
	err := k.db.GetContext(ctx, &row, `SELECT id, (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2)) AS stale
		FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hash, touchEvery.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return k.refuse(c)
	}
	if err != nil {
		return fmt.Errorf("auth: check api key: %w", err)
	}
	if row.Stale {
		// At most one write a minute per key, whatever the request rate.
		_, err := k.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = now()
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`, row.ID, touchEvery.Seconds())
		if err != nil {
			return fmt.Errorf("auth: touch api key: %w", err)
		}
	}
	c.Locals("apiKeyID", row.ID)
	return c.Next()
}

func (k *APIKeys) refuse(c *fiber.Ctx) error {
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="aftercare"`)
	return errBadAPIKey
}

// List returns every key, newest first, revoked ones included.
func (k *APIKeys) List(ctx context.Context) ([]APIKey, error) {
	keys := []APIKey{}
	err := k.db.SelectContext(ctx, &keys, `SELECT id, name, prefix, created_at, last_used_at, revoked_at
		FROM api_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("auth: list api keys: %w", err)
	}
	return keys, nil
}

// Revoke stops key id from working at once. An unknown or already revoked
// id is a fault.NotFound error.
func (k *APIKeys) Revoke(ctx context.Context, id int64) error {
	res, err := k.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("auth: revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.Errorf(fault.NotFound, "No active API key has id %d.", id)
	}
	return nil
}
