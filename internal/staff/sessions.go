package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
)

// SessionCookie is the cookie of a staff session. It is scoped to /admin,
// apart from the shopper's, so a shopper page never sees it.
const SessionCookie = "aftercare_staff"

// SessionTTL is how long a staff session lasts from sign-in, however busy:
// it never slides.
const SessionTTL = 12 * time.Hour

// touchEvery spares a write per request: last_seen_at moves at most once a
// minute per session.
const touchEvery = time.Minute

const cookiePath = "/admin"

// localsKey is where the signed-in member sits in the request's locals
// (and so in every page's data, as .staff).
const localsKey = "staff"

// Sessions keeps signed-in staff in staff_sessions. The cookie holds a
// random id; only its SHA-256 is stored.
type Sessions struct {
	db     *sqlx.DB
	secure bool
	ttl    time.Duration
}

// NewSessions returns the staff session store; secure marks the cookie
// Secure (everywhere but plain-http development).
func NewSessions(db *sqlx.DB, secure bool) *Sessions {
	return &Sessions{db: db, secure: secure, ttl: SessionTTL}
}

// Load is middleware for /admin: for a live session of an active account it
// sets locals "staff" to the Member (read fresh each request, so a changed
// role or a disabled account takes effect at once). An unknown or expired
// cookie is cleared. Database errors fail the request.
func (s *Sessions) Load(c *fiber.Ctx) error {
	raw := c.Cookies(SessionCookie)
	if raw == "" {
		return c.Next()
	}
	if len(raw) != tokenLen {
		s.clearCookie(c)
		return c.Next()
	}
	var row struct {
		Member
		Stale bool `db:"stale"`
	}
	err := s.db.GetContext(c.UserContext(), &row, `SELECT s.id, s.email, s.name, s.role, ss.last_seen_at < now() - make_interval(secs => $2) AS stale
		FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id
		WHERE ss.id_hash = $1 AND ss.expires_at > now() AND s.disabled_at IS NULL`, hashToken(raw), touchEvery.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		s.clearCookie(c)
		return c.Next()
	}
	if err != nil {
		return fmt.Errorf("staff: load session: %w", err)
	}
	if row.Stale {
		// Only last_seen_at moves: the session still ends 12 h after sign-in.
		_, err := s.db.ExecContext(c.UserContext(), `UPDATE staff_sessions SET last_seen_at = now() WHERE id_hash = $1`, hashToken(raw))
		if err != nil {
			return fmt.Errorf("staff: touch session: %w", err)
		}
	}
	c.Locals(localsKey, row.Member)
	return c.Next()
}

// Start signs staffID in: it drops the session the request came with (so an
// id planted before sign-in is worthless), creates a new one through q (the
// sign-in's transaction), notes the sign-in time on the account and sets
// the cookie.
func (s *Sessions) Start(c *fiber.Ctx, q sqlx.ExtContext, staffID int64) error {
	ctx := c.UserContext()
	if old := c.Cookies(SessionCookie); old != "" {
		if _, err := q.ExecContext(ctx, `DELETE FROM staff_sessions WHERE id_hash = $1`, hashToken(old)); err != nil {
			return fmt.Errorf("staff: drop old session: %w", err)
		}
	}
	id, err := randomToken()
	if err != nil {
		return err
	}
	var expires time.Time
	err = sqlx.GetContext(ctx, q, &expires, `INSERT INTO staff_sessions (id_hash, staff_id, ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, now(), now(), now() + make_interval(secs => $5)) RETURNING expires_at`,
		hashToken(id), staffID, clip(c.IP(), 64), clip(c.Get(fiber.HeaderUserAgent), 512), s.ttl.Seconds())
	if err != nil {
		return fmt.Errorf("staff: start session: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE staff SET last_sign_in_at = now() WHERE id = $1`, staffID); err != nil {
		return fmt.Errorf("staff: note sign-in: %w", err)
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: id, Path: cookiePath, Expires: expires,
		MaxAge: int(time.Until(expires).Seconds()), HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
	return nil
}

// End signs out: it deletes the session row and clears the cookie.
func (s *Sessions) End(c *fiber.Ctx) error {
	if raw := c.Cookies(SessionCookie); raw != "" {
		if _, err := s.db.ExecContext(c.UserContext(), `DELETE FROM staff_sessions WHERE id_hash = $1`, hashToken(raw)); err != nil {
			return fmt.Errorf("staff: end session: %w", err)
		}
	}
	s.clearCookie(c)
	c.Locals(localsKey, nil)
	return nil
}

// Sweep deletes expired sessions and reports how many went.
func (s *Sessions) Sweep(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("staff: sweep sessions: %w", err)
	}
	return res.RowsAffected()
}

func (s *Sessions) clearCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: cookiePath, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// clip makes s storable as PostgreSQL text: valid UTF-8, no NUL, at most n bytes.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
