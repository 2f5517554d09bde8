package referral

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/text/unicode/norm"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/referral/rewards"
)

// Code is a customer's referral code (FIRSTNAME-XXXX) and its share link's
// key. DisabledAt is set when staff switched the code off.
type Code struct {
	ID         int64      `db:"id"`
	CustomerID int64      `db:"customer_id"`
	Code       string     `db:"code"`
	DisabledAt *time.Time `db:"disabled_at"`
	CreatedAt  time.Time  `db:"created_at"`
}

// ErrUnknownCode is returned for a code that does not exist.
var ErrUnknownCode = fault.Errorf(fault.NotFound, "We could not find that referral code.")

const (
	codeColumns = `id, customer_id, code, disabled_at, created_at`
	// maxPrefix keeps codes short enough to read off a parcel card.
	maxPrefix = 10
	// codeTries bounds the retries on a clash; after the first few, the
	// random part grows a character, so a crowded name still finds room.
	codeTries = 12
)

// prefixOf is the readable part of a code: the first name folded to
// A-Z (José -> JOSE), or FRIEND when the name has no Latin letters.
func prefixOf(name string) string {
	first := ""
	if f := strings.Fields(name); len(f) > 0 {
		first = f[0]
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(first) {
		r = unicode.ToUpper(r)
		if r >= 'A' && r <= 'Z' && b.Len() < maxPrefix {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "FRIEND"
	}
	return b.String()
}

// suffixLen is the length of the random part for the n-th try (from 0).
func suffixLen(try int) int {
	switch {
	case try < 6:
		return 4
	case try < 9:
		return 5
	}
	return 6
}

// NormalizeCode reads a code as a person typed it: trimmed, upper case.
func NormalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// EnsureCode returns the customer's referral code, creating it the first
// time. A clash with another customer's code is retried with a fresh random
// part (each try under a savepoint, so tx stays usable); two calls at once
// for one customer both return the one code the unique index let in.
func (s *Service) EnsureCode(ctx context.Context, tx *sqlx.Tx, customerID int64) (Code, error) {
	c, found, err := codeOfCustomer(ctx, tx, customerID)
	if err != nil || found {
		return c, err
	}
	var name string
	if err := tx.GetContext(ctx, &name, `SELECT name FROM customers WHERE id = $1`, customerID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, fault.Errorf(fault.NotFound, "There is no customer %d.", customerID)
		}
		return c, fmt.Errorf("referral: customer %d: %w", customerID, err)
	}
	prefix := prefixOf(name)
	for try := 0; try < codeTries; try++ {
		code := prefix + "-" + s.suffix(suffixLen(try))
		if _, err := tx.ExecContext(ctx, `SAVEPOINT referral_code`); err != nil {
			return c, fmt.Errorf("referral: savepoint: %w", err)
		}
		err := tx.GetContext(ctx, &c, `INSERT INTO referral_codes (customer_id, code) VALUES ($1, $2)
			ON CONFLICT (customer_id) DO NOTHING RETURNING `+codeColumns, customerID, code)
		var pqErr *pq.Error
		switch {
		case errors.As(err, &pqErr) && pqErr.Code == "23505" && pqErr.Constraint == "referral_codes_code_key":
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT referral_code`); err != nil {
				return c, fmt.Errorf("referral: rollback to savepoint: %w", err)
			}
			continue
		case errors.Is(err, sql.ErrNoRows):
			// Another transaction gave this customer a code first.
			c, _, err = codeOfCustomer(ctx, tx, customerID)
			return c, err
		case err != nil:
			return c, fmt.Errorf("referral: insert code: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT referral_code`); err != nil {
			return c, fmt.Errorf("referral: release savepoint: %w", err)
		}
		return c, nil
	}
	return c, fmt.Errorf("referral: no free code for customer %d after %d tries", customerID, codeTries)
}

func codeOfCustomer(ctx context.Context, q sqlx.QueryerContext, customerID int64) (Code, bool, error) {
	var c Code
	err := sqlx.GetContext(ctx, q, &c, `SELECT `+codeColumns+` FROM referral_codes WHERE customer_id = $1`, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("referral: code of customer %d: %w", customerID, err)
	}
	return c, true, nil
}

// codeByValue finds a code as typed; ErrUnknownCode if there is none.
func codeByValue(ctx context.Context, q sqlx.QueryerContext, code string) (Code, error) {
	var c Code
	err := sqlx.GetContext(ctx, q, &c, `SELECT `+codeColumns+` FROM referral_codes WHERE code = $1`, NormalizeCode(code))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrUnknownCode
	}
	if err != nil {
		return c, fmt.Errorf("referral: code %q: %w", code, err)
	}
	return c, nil
}

// defaultSuffix is n random characters without look-alikes.
func defaultSuffix(n int) string { return rewards.RandomChars(n) }
