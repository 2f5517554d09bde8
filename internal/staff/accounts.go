package staff

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
)

// Password length limits. The upper bound only keeps a form from feeding
// megabytes to the hash.
const (
	MinPasswordLen = 12   // characters
	maxPasswordLen = 1024 // bytes
)

var (
	// ErrNotFound means there is no staff account with that id or address.
	ErrNotFound = fault.Errorf(fault.NotFound, "There is no such staff account.")
	// ErrBadCredentials answers every failed password sign-in alike: unknown
	// address, wrong password, disabled account or one without a password.
	ErrBadCredentials = fault.Errorf(fault.Unauthorized, "That email address and password do not match a staff account.")
)

// hashSlots bounds the argon2id hashes computed at once by one instance
// (each takes 19 MiB), so a burst of sign-ins cannot exhaust memory.
const hashSlots = 4

// Accounts creates, lists, disables and authenticates staff accounts.
type Accounts struct {
	db     *sqlx.DB
	params hashParams
	slots  chan struct{}
	// dummy is a hash verified for unknown addresses, so that an unknown
	// address costs the same time as a wrong password.
	dummy func() (string, error)
}

// NewAccounts returns the account service over db.
func NewAccounts(db *sqlx.DB) *Accounts {
	a := &Accounts{db: db, params: defaultParams, slots: make(chan struct{}, hashSlots)}
	a.dummy = sync.OnceValues(func() (string, error) { return hashPassword(a.params, "not a password of anyone's") })
	return a
}

// NewAccount is what it takes to create a staff account. An empty Password
// makes an account that signs in by emailed link only.
type NewAccount struct {
	Email    string
	Name     string
	Role     Role
	Password string
}

// Create validates in, hashes its password with argon2id and stores the
// account, recording "staff.created" by actor in the same transaction. It
// returns fault.Fields naming email (malformed or taken), name, role or
// password (shorter than MinPasswordLen characters).
func (a *Accounts) Create(ctx context.Context, in NewAccount, actor string) (Account, error) {
	in, err := validateNew(in)
	if err != nil {
		return Account{}, err
	}
	var hash sql.NullString
	if in.Password != "" {
		if hash.String, err = a.hash(ctx, in.Password); err != nil {
			return Account{}, err
		}
		hash.Valid = true
	}
	var acc Account
	err = db.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		var ok bool
		if acc, ok, err = insertAccount(ctx, tx, in.Email, in.Name, in.Role, hash); err != nil {
			return err
		}
		if !ok {
			return fault.Field("email", "already belongs to a staff account")
		}
		return audit.Record(ctx, tx, actor, "staff.created", acc.Subject(),
			map[string]any{"email": acc.Email, "role": acc.Role, "password": hash.Valid})
	})
	return acc, err
}

func validateNew(in NewAccount) (NewAccount, error) {
	var f fault.Fields
	email, ok := auth.NormalizeEmail(in.Email)
	if !ok {
		f.Add("email", "must be an email address like name@example.com")
	}
	in.Email = email
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		f.Add("name", "must not be empty")
	case utf8.RuneCountInString(in.Name) > 100 || strings.IndexFunc(in.Name, unicode.IsControl) >= 0:
		f.Add("name", "must be at most 100 characters on one line")
	}
	if !in.Role.Valid() {
		f.Add("role", "must be support or admin")
	}
	if in.Password != "" && (utf8.RuneCountInString(in.Password) < MinPasswordLen || len(in.Password) > maxPasswordLen || !utf8.ValidString(in.Password)) {
		f.Add("password", fmt.Sprintf("must be at least %d characters", MinPasswordLen))
	}
	return in, f.Err()
}

// List returns every account, active ones first, then by address.
func (a *Accounts) List(ctx context.Context) ([]Account, error) { return selectAccounts(ctx, a.db) }

// ByID returns the account with id, or ErrNotFound.
func (a *Accounts) ByID(ctx context.Context, id int64) (Account, error) {
	return accountWhere(ctx, a.db, "id = $1", id)
}

// ByEmail returns the account with the address (any case), or ErrNotFound.
func (a *Accounts) ByEmail(ctx context.Context, email string) (Account, error) {
	e, ok := auth.NormalizeEmail(email)
	if !ok {
		return Account{}, ErrNotFound
	}
	return accountWhere(ctx, a.db, "email = $1", e)
}

// Disable stops account id from signing in and ends its sessions, recording
// "staff.disabled" by actor. Disabling a disabled account changes nothing.
// It returns ErrNotFound, or a fault.Conflict when actor is the account
// itself or it is the last active admin (someone must be able to manage
// staff).
func (a *Accounts) Disable(ctx context.Context, id int64, actor string) (Account, error) {
	if actor == audit.Staff(id) {
		return Account{}, fault.Errorf(fault.Conflict, "You cannot disable your own account.")
	}
	var acc Account
	err := db.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		admins, err := lockActiveAdmins(ctx, tx)
		if err != nil {
			return err
		}
		if acc, err = accountWhere(ctx, tx, "id = $1 FOR UPDATE", id); err != nil {
			return err
		}
		if !acc.Active() {
			return nil
		}
		if acc.Role == RoleAdmin && len(admins) == 1 && slices.Contains(admins, id) {
			return fault.Errorf(fault.Conflict, "%s is the last active admin. Add another admin before disabling this account.", acc.Email)
		}
		if err := disableAccount(ctx, tx, id); err != nil {
			return err
		}
		acc, err = accountWhere(ctx, tx, "id = $1", id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "staff.disabled", acc.Subject(), map[string]any{"email": acc.Email})
	})
	return acc, err
}

// Authenticate checks a password sign-in and returns the member. Every
// failure is ErrBadCredentials and costs one argon2id hash, whether the
// address is unknown, disabled, without a password or the password wrong.
// A hash made with older costs is renewed on success. It does not rate-limit;
// callers do.
func (a *Accounts) Authenticate(ctx context.Context, email, password string) (Member, error) {
	email, _ = auth.NormalizeEmail(email)
	if len(password) > maxPasswordLen {
		password = password[:maxPasswordLen] // still hashed: same time as any other miss
	}
	m, hash, found, err := credentials(ctx, a.db, email)
	if err != nil {
		return Member{}, err
	}
	encoded := hash.String
	if !found || !hash.Valid {
		if encoded, err = a.dummy(); err != nil {
			return Member{}, err
		}
	}
	ok, renew, err := a.verify(ctx, encoded, password)
	if err != nil {
		return Member{}, err
	}
	if !ok || !found || !hash.Valid {
		return Member{}, ErrBadCredentials
	}
	if renew {
		renewed, err := a.hash(ctx, password)
		if err != nil {
			return Member{}, err
		}
		if err := replaceHash(ctx, a.db, m.ID, hash.String, renewed); err != nil {
			return Member{}, err
		}
	}
	return m, nil
}

// hash and verify take one of the instance's hash slots.
func (a *Accounts) hash(ctx context.Context, password string) (string, error) {
	if err := a.acquire(ctx); err != nil {
		return "", err
	}
	defer a.release()
	return hashPassword(a.params, password)
}

func (a *Accounts) verify(ctx context.Context, encoded, password string) (ok, renew bool, err error) {
	if err := a.acquire(ctx); err != nil {
		return false, false, err
	}
	defer a.release()
	return verifyPassword(a.params, encoded, password)
}

func (a *Accounts) acquire(ctx context.Context) error {
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("staff: waiting to hash: %w", ctx.Err())
	}
}

func (a *Accounts) release() { <-a.slots }
