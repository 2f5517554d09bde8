package referral

import (
	"bufio"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// NormalizeEmail folds the ways one mailbox is spelled differently, so
// that a referrer cannot refer themselves as jane.doe+2@gmail.com: lower
// case, a +tag dropped (any provider), and for Gmail the dots of the local
// part dropped and googlemail.com read as gmail.com.
func NormalizeEmail(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return email
	}
	local, domain := email[:at], email[at+1:]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "@" + domain
}

//go:embed disposable_domains.txt
var disposableList string

// Disposable knows the domains of throwaway mailboxes (the list in
// referral/disposable_domains.txt, one domain a line, # for comments).
type Disposable struct {
	domains map[string]bool
}

// NewDisposable parses the embedded list.
func NewDisposable() *Disposable {
	d := &Disposable{domains: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(disposableList))
	for sc.Scan() {
		line := strings.ToLower(strings.TrimSpace(sc.Text()))
		if line != "" && !strings.HasPrefix(line, "#") {
			d.domains[line] = true
		}
	}
	return d
}

// Has reports whether email's domain, or a domain it is under
// (x.mailinator.com), is on the list.
func (d *Disposable) Has(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(strings.TrimSpace(email[at+1:]))
	for domain != "" {
		if d.domains[domain] {
			return true
		}
		dot := strings.IndexByte(domain, '.')
		if dot < 0 {
			break
		}
		domain = domain[dot+1:]
	}
	return false
}

// Identity kinds: what a customer can be recognized by.
const (
	IdentityEmail   = "email"
	IdentityAddress = "address"
	IdentityPayment = "payment"
	IdentityDevice  = "device"
)

// Identities are digests of what someone was seen with, by kind.
type Identities map[string]map[string]bool

// Add records value (already normalized) under kind; empty values are
// nothing to recognize anyone by and are ignored.
func (ids Identities) Add(kind, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	if ids[kind] == nil {
		ids[kind] = map[string]bool{}
	}
	ids[kind][digest(kind, value)] = true
}

// Shares reports whether ids and other hold a same value of kind.
func (ids Identities) Shares(other Identities, kind string) bool {
	for d := range ids[kind] {
		if other[kind][d] {
			return true
		}
	}
	return false
}

// digest keeps the identity tables free of addresses and card data.
func digest(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + value))
	return hex.EncodeToString(sum[:])
}

// rememberIdentities stores ids as seen with customerID.
func rememberIdentities(ctx context.Context, q sqlx.ExecerContext, customerID int64, ids Identities) error {
	for kind, ds := range ids {
		list := make([]string, 0, len(ds))
		for d := range ds {
			list = append(list, d)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO referral_identities (customer_id, kind, digest)
			SELECT $1, $2, unnest($3::text[])
			ON CONFLICT (customer_id, kind, digest) DO UPDATE SET seen_at = now()`, customerID, kind, pq.Array(list))
		if err != nil {
			return fmt.Errorf("referral: remember %s of customer %d: %w", kind, customerID, err)
		}
	}
	return nil
}

// identitiesOf loads what customerID was seen with, plus their email.
func identitiesOf(ctx context.Context, q sqlx.QueryerContext, customerID int64) (Identities, error) {
	var rows []struct {
		Kind   string `db:"kind"`
		Digest string `db:"digest"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT kind, digest FROM referral_identities WHERE customer_id = $1`, customerID)
	if err != nil {
		return nil, fmt.Errorf("referral: identities of %d: %w", customerID, err)
	}
	ids := Identities{}
	for _, r := range rows {
		if ids[r.Kind] == nil {
			ids[r.Kind] = map[string]bool{}
		}
		ids[r.Kind][r.Digest] = true
	}
	var email string
	if err := sqlx.GetContext(ctx, q, &email, `SELECT email FROM customers WHERE id = $1`, customerID); err != nil {
		return nil, fmt.Errorf("referral: email of %d: %w", customerID, err)
	}
	ids.Add(IdentityEmail, NormalizeEmail(email))
	return ids, nil
}
