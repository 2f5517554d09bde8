package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/fault"
)

// MaxCodeTries is how many codes may be tried against one token before its
// code stops working (its link still works).
const MaxCodeTries = 5

// ErrCodeRejected means the email and code match no live token: wrong,
// spent, expired or locked after MaxCodeTries. Which one is not told.
var ErrCodeRejected = fault.Errorf(fault.Unauthorized, "That code is not right, or it has expired. Check the latest email from us, or ask for a new code.")

// randomCode returns six uniformly random decimal digits.
func randomCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("auth: random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// NormalizeCode strips the spaces and dashes people type into codes and
// reports whether what is left is exactly six digits.
func NormalizeCode(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) != 6 {
		return "", false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return s, true
}

// SpendCode signs in with the code of any live token of the customer with
// this (normalized) email, spending that token exactly as its link would.
// Every attempt counts as a try against each of the customer's live codes,
// in the same statement that compares, so parallel guesses cannot get past
// MaxCodeTries. It returns ErrCodeRejected when nothing matched; the tries
// are written through q, so a caller in a transaction must commit it even then.
func (l *Links) SpendCode(ctx context.Context, q sqlx.ExtContext, email, code string) (Claims, error) {
	code, ok := NormalizeCode(code)
	if !ok {
		return Claims{}, ErrCodeRejected
	}
	var live []struct {
		JTI string `db:"jti"`
		KID string `db:"kid"`
	}
	err := sqlx.SelectContext(ctx, q, &live, `SELECT lt.jti, lt.kid
		FROM login_tokens lt JOIN customers c ON c.id = lt.customer_id
		WHERE c.email = $1 AND lt.used_at IS NULL AND lt.expires_at > now()
		  AND lt.code_hash IS NOT NULL AND lt.code_tries < $2
		ORDER BY lt.created_at DESC LIMIT 50`, email, MaxCodeTries)
	if err != nil {
		return Claims{}, fmt.Errorf("auth: find login codes: %w", err)
	}
	if len(live) == 0 {
		return Claims{}, ErrCodeRejected
	}
	jtis := make([]string, 0, len(live))
	hashes := make([][]byte, 0, len(live))
	for _, t := range live {
		key, ok := l.key(t.KID)
		if !ok {
			// Its key left the ring: neither its link nor its code works.
			continue
		}
		jtis = append(jtis, t.JTI)
		hashes = append(hashes, codeHash(key.Secret, t.JTI, code))
	}
	var rows []struct {
		Claims
		Matched bool `db:"matched"`
	}
	err = sqlx.SelectContext(ctx, q, &rows, `UPDATE login_tokens lt
		SET code_tries = lt.code_tries + 1,
		    used_at = CASE WHEN lt.code_hash = g.hash THEN now() END
		FROM unnest($1::uuid[], $2::bytea[]) AS g(jti, hash)
		WHERE lt.jti = g.jti AND lt.used_at IS NULL AND lt.expires_at > now() AND lt.code_tries < $3
		RETURNING lt.jti, lt.customer_id, lt.purpose, lt.expires_at, lt.used_at IS NOT NULL AS matched`,
		pq.Array(jtis), pq.ByteaArray(hashes), MaxCodeTries)
	if err != nil {
		return Claims{}, fmt.Errorf("auth: try login code: %w", err)
	}
	for _, r := range rows {
		if r.Matched {
			return r.Claims, nil
		}
	}
	return Claims{}, ErrCodeRejected
}
