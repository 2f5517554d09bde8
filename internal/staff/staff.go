// Package staff is the support staff's side of Aftercare: accounts with
// roles, sign-in by password (argon2id) or emailed link, 12-hour sessions
// kept in PostgreSQL, the middleware that guards /admin, and the admin shell
// (layout, navigation, dashboard, staff and audit pages) that feature
// packages hang their own admin pages on.
package staff

import (
	"time"

	"github.com/aftercare/aftercare/internal/audit"
)

// Role is what a staff member may do.
type Role string

// The roles. An admin may do everything; support works the queues (returns,
// reviews, referrals, customers) but cannot change settings or manage staff.
const (
	RoleSupport Role = "support"
	RoleAdmin   Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleSupport || r == RoleAdmin }

// Label is the role's name as pages show it.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Admin"
	case RoleSupport:
		return "Support"
	}
	return string(r)
}

// Member is the signed-in staff member, as the middleware puts it in the
// request (locals "staff") and as pages and services see them.
type Member struct {
	ID    int64  `db:"id"`
	Email string `db:"email"`
	Name  string `db:"name"`
	Role  Role   `db:"role"`
}

// Can reports whether m may do what role r may: an admin can do
// everything, anyone else only what their own role allows.
func (m Member) Can(r Role) bool {
	return m.Role == RoleAdmin || (m.Role == r && r.Valid())
}

// Actor is m as an audit actor: "staff:<id>".
func (m Member) Actor() string { return audit.Staff(m.ID) }

// Account is a stored staff account, for the staff page and the command line.
type Account struct {
	ID           int64      `db:"id"`
	Email        string     `db:"email"`
	Name         string     `db:"name"`
	Role         Role       `db:"role"`
	HasPassword  bool       `db:"has_password"`
	CreatedAt    time.Time  `db:"created_at"`
	DisabledAt   *time.Time `db:"disabled_at"`
	LastSignInAt *time.Time `db:"last_sign_in_at"`
}

// Active reports whether the account may sign in.
func (a Account) Active() bool { return a.DisabledAt == nil }

// Member is the account as a signed-in member.
func (a Account) Member() Member {
	return Member{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role}
}

// Subject is the account as an audit subject: "staff:<id>".
func (a Account) Subject() string { return audit.Staff(a.ID) }
