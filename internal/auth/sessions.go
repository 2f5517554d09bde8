package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// SessionCookie is the name of the cookie that carries the session id.
const SessionCookie = "aftercare_session"

// ShopperSessionTTL is how long a shopper stays signed in since last seen.
const ShopperSessionTTL = 30 * 24 * time.Hour

// touchEvery spares a write per request: the sliding expiry moves at most
// once a minute per session.
const touchEvery = time.Minute

// sessionIDLen is the length of 32 random bytes in unpadded base64url.
const sessionIDLen = 43

// Sessions keeps signed-in shoppers in the sessions table. The cookie holds
// a random id; only its SHA-256 is stored, so a leaked table signs no one in.
type Sessions struct {
	db     *sqlx.DB
	secure bool
	ttl    time.Duration
	// lookup is the read every signed-in request makes, prepared;
	// lookupEpochs is the same read with the settings epochs, for requests
	// whose settings view waits for them (settings.Defer).
	lookup, lookupEpochs *db.Stmt
	// rider and lookupRider: see Ride.
	rider       *Rider
	lookupRider *db.Stmt
	// memo, when Remember was called, answers the lookups from memory
	// while the change feed says nothing they read has changed.
	memo *memo
}

// Rider is the first read of one kind of page (the order page's versions),
// made in the statement that reads the session so that the page saves a
// round trip. It reads in the same snapshot as the session, scoped by the
// session's customer, so it checks what the page's own read would.
type Rider struct {
	// Match returns the read's argument for this request (an order id),
	// or false when the rider has nothing to read for it.
	Match func(c *fiber.Ctx) (int64, bool)
	// Query selects at most one row of two bigint columns, a and b, for
	// the argument $3 and the session's customer s.customer_id (NULL for
	// an unknown session, so it must then select nothing). It runs as a
	// LATERAL subquery.
	Query string
	// Keep receives what Query read for the session's customer (found
	// false: no row) for a live session, before the page's handlers run.
	Keep func(c *fiber.Ctx, arg, customerID, a, b int64, found bool)
}

// Ride makes the session read also read r; call it before serving.
func (s *Sessions) Ride(r Rider) {
	s.rider = &r
	s.lookupRider = db.NewStmt(s.db, `SELECT s.customer_id, COALESCE(s.last_seen_at < now() - make_interval(secs => $2), false) AS stale,
		s.id_hash IS NOT NULL AS found, s.expires_at, s.last_seen_at, `+settings.EpochJoinColumns+`, r.a AS rider_a, r.b AS rider_b
		FROM (SELECT 1) one LEFT JOIN sessions s ON s.id_hash = $1 AND s.expires_at > now()
		LEFT JOIN LATERAL (`+r.Query+`) r ON true `+settings.EpochJoin)
}

// NewSessions returns the session store; secure marks the cookie Secure
// (everywhere but plain-http development).
func NewSessions(pool *sqlx.DB, secure bool) *Sessions {
	return &Sessions{db: pool, secure: secure, ttl: ShopperSessionTTL,
		lookup: db.NewStmt(pool, `SELECT customer_id, last_seen_at < now() - make_interval(secs => $2) AS stale, expires_at, last_seen_at
			FROM sessions WHERE id_hash = $1 AND expires_at > now()`),
		// Rows whether or not the session exists: the epochs always.
		lookupEpochs: db.NewStmt(pool, `SELECT s.customer_id, COALESCE(s.last_seen_at < now() - make_interval(secs => $2), false) AS stale,
			s.id_hash IS NOT NULL AS found, s.expires_at, s.last_seen_at, `+settings.EpochJoinColumns+`
			FROM (SELECT 1) one LEFT JOIN sessions s ON s.id_hash = $1 AND s.expires_at > now() `+settings.EpochJoin)}
}

// sessionRow is what the lookups read. They are scanned column by column:
// every signed-in request makes one of them, and sqlx's mapping by
// reflection was about 8% of the server's CPU on the order page.
type sessionRow struct {
	CustomerID sql.NullInt64
	Stale      bool
	Found      bool
	Expires    sql.NullTime
	LastSeen   sql.NullTime
	Epochs     settings.Epochs
	RiderA     sql.NullInt64
	RiderB     sql.NullInt64
}

// scanWithEpochs returns a scan for the rows of a lookup joined with
// settings.EpochJoin: one per epoch, each repeating the session's columns
// (and the rider's, when rider is set), read into row.
func scanWithEpochs(row *sessionRow, rider bool) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		var name sql.RawBytes
		var epoch sql.NullInt64
		n := 0
		for rows.Next() {
			var err error
			if rider {
				err = rows.Scan(&row.CustomerID, &row.Stale, &row.Found, &row.Expires, &row.LastSeen, &name, &epoch, &row.RiderA, &row.RiderB)
			} else {
				err = rows.Scan(&row.CustomerID, &row.Stale, &row.Found, &row.Expires, &row.LastSeen, &name, &epoch)
			}
			if err != nil {
				return err
			}
			row.Epochs.Set(name, epoch.Int64)
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			// The statement selects from a one-row subquery: never.
			return sql.ErrNoRows
		}
		return nil
	}
}

// find reads the session with hash. When the request's settings view waits
// for its epochs (settings.Defer), it reads them in the same statement and
// settles the view, whether or not the session exists; so does the
// statement that carries the rider (Ride) for a request it matches. With a
// memo (Remember), what it kept answers instead while the change feed
// allows.
func (s *Sessions) find(c *fiber.Ctx, hash []byte) (sessionRow, bool, error) {
	ctx := c.UserContext()
	var row sessionRow
	var arg int64
	rider := false
	if s.rider != nil {
		arg, rider = s.rider.Match(c)
	}
	epochs := rider || settings.Pending(ctx)
	var token uint64
	if s.memo != nil && (!rider || arg > 0) {
		if row, ok, err := s.recall(c, hash, epochs, rider, arg); ok || err != nil {
			return row, ok, err
		}
		token = s.memo.begin()
	}
	var err error
	switch {
	case rider:
		err = s.lookupRider.Query(ctx, scanWithEpochs(&row, true), hash, touchEvery.Seconds(), arg)
	case epochs:
		err = s.lookupEpochs.Query(ctx, scanWithEpochs(&row, false), hash, touchEvery.Seconds())
	default:
		err = s.lookup.QueryRow(ctx, []any{hash, touchEvery.Seconds()}, &row.CustomerID, &row.Stale, &row.Expires, &row.LastSeen)
		if errors.Is(err, sql.ErrNoRows) {
			return row, false, nil
		}
		row.Found = err == nil
	}
	if err != nil {
		return row, false, err
	}
	if epochs {
		if err := settings.Settle(ctx, row.Epochs); err != nil {
			return row, false, err
		}
	}
	live := row.Found && row.CustomerID.Valid
	if rider && live {
		s.rider.Keep(c, arg, row.CustomerID.Int64, row.RiderA.Int64, row.RiderB.Int64, row.RiderA.Valid && row.RiderB.Valid)
	}
	if s.memo != nil && live && row.Expires.Valid && row.LastSeen.Valid && (!rider || arg > 0) {
		f := memoFill{hash: hash, customer: row.CustomerID.Int64, expires: row.Expires.Time, lastSeen: row.LastSeen.Time}
		if epochs {
			f.epochs = &row.Epochs
		}
		if rider && row.RiderA.Valid && row.RiderB.Valid {
			f.order, f.orderVersion, f.customerVersion = arg, row.RiderA.Int64, row.RiderB.Int64
		}
		s.memo.fill(token, f)
	}
	return row, row.Found, nil
}

// recall answers find from the memo: ok is false when it cannot.
func (s *Sessions) recall(c *fiber.Ctx, hash []byte, epochs, rider bool, arg int64) (sessionRow, bool, error) {
	now := time.Now()
	order := int64(0)
	if rider {
		order = arg
	}
	hit, ok := s.memo.lookup(hash, epochs, order, now)
	if !ok {
		return sessionRow{}, false, nil
	}
	row := sessionRow{CustomerID: sql.NullInt64{Int64: hit.customer, Valid: true}, Found: true,
		Stale: now.Sub(hit.lastSeen) > touchEvery, Epochs: hit.epochs}
	if epochs {
		if err := settings.Settle(c.UserContext(), hit.epochs); err != nil {
			return row, false, err
		}
	}
	if rider {
		s.rider.Keep(c, arg, hit.customer, hit.orderVersion, hit.customerVersion, true)
	}
	return row, true, nil
}

// Remember makes the session reads answer from memory while feed allows
// (see memo) and returns what feed must tell of changes
// (changefeed.Handler). Call it before serving.
func (s *Sessions) Remember(feed Feed) interface {
	Changed(kind byte, keys string)
	Reset()
} {
	s.memo = newMemo(feed, MemoSize)
	return s.memo
}

// Load is middleware: it reads the session cookie and, for a live session,
// sets the view local `customerID` (int64) and slides the expiry. A stale or
// unknown cookie is cleared. Database errors fail the request.
func (s *Sessions) Load(c *fiber.Ctx) error {
	raw := c.Cookies(SessionCookie)
	if raw == "" || len(raw) != sessionIDLen {
		if raw != "" {
			s.clearCookie(c)
		}
		// Nothing to read here: a deferred settings view reads its epochs alone.
		if err := settings.SettleNow(c.UserContext()); err != nil {
			return err
		}
		return c.Next()
	}
	hash := hashID(raw)
	row, found, err := s.find(c, hash)
	if err != nil {
		return fmt.Errorf("auth: load session: %w", err)
	}
	if !found {
		s.clearCookie(c)
		return c.Next()
	}
	if row.Stale {
		var expires time.Time
		// The condition repeats so that of two instances only one writes.
		err := s.db.GetContext(c.UserContext(), &expires, `UPDATE sessions
			SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2)
			WHERE id_hash = $1 AND last_seen_at < now() - make_interval(secs => $3)
			RETURNING expires_at`, hash, s.ttl.Seconds(), touchEvery.Seconds())
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("auth: touch session: %w", err)
		}
		if err == nil {
			s.setCookie(c, raw, expires)
		}
		if s.memo != nil {
			s.memo.touched(hash, time.Now(), expires)
		}
	}
	if row.CustomerID.Valid {
		c.Locals("customerID", row.CustomerID.Int64)
	}
	return c.Next()
}

// Start signs customerID in: it deletes the session the request came with
// (if any) and creates one with a new id, so an id planted before sign-in is
// worthless (session fixation). The row is written through q, the
// transaction that spent the token; the cookie is set on the response.
func (s *Sessions) Start(c *fiber.Ctx, q sqlx.ExtContext, customerID int64) error {
	ctx := c.UserContext()
	if old := c.Cookies(SessionCookie); old != "" {
		if _, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hashID(old)); err != nil {
			return fmt.Errorf("auth: drop old session: %w", err)
		}
		if s.memo != nil {
			s.memo.forget(hashID(old))
		}
	}
	id, err := randomToken(32)
	if err != nil {
		return err
	}
	// csrf_token is kept for staff sessions; shoppers use the double-submit cookie.
	csrf, err := randomToken(32)
	if err != nil {
		return err
	}
	var expires time.Time
	err = sqlx.GetContext(ctx, q, &expires, `INSERT INTO sessions (id_hash, customer_id, csrf_token, user_agent, ip, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING expires_at`,
		hashID(id), customerID, csrf, clip(c.Get(fiber.HeaderUserAgent), 512), clip(c.IP(), 64), s.ttl.Seconds())
	if err != nil {
		return fmt.Errorf("auth: start session: %w", err)
	}
	s.setCookie(c, id, expires)
	c.Locals("customerID", customerID)
	return nil
}

// End signs out: it deletes the session row and clears the cookie.
func (s *Sessions) End(c *fiber.Ctx) error {
	if raw := c.Cookies(SessionCookie); raw != "" {
		if _, err := s.db.ExecContext(c.UserContext(), `DELETE FROM sessions WHERE id_hash = $1`, hashID(raw)); err != nil {
			return fmt.Errorf("auth: end session: %w", err)
		}
		if s.memo != nil {
			s.memo.forget(hashID(raw))
		}
	}
	s.clearCookie(c)
	c.Locals("customerID", int64(0))
	return nil
}

// Sweep deletes expired sessions and reports how many went.
func (s *Sessions) Sweep(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < now()`)
	if err != nil {
		return 0, fmt.Errorf("auth: sweep sessions: %w", err)
	}
	return res.RowsAffected()
}

func (s *Sessions) setCookie(c *fiber.Ctx, id string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: id, Path: "/", Expires: expires,
		MaxAge: int(time.Until(expires).Seconds()), HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

func (s *Sessions) clearCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: s.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// CustomerID returns the signed-in customer's id, or 0 when no one is.
func CustomerID(c *fiber.Ctx) int64 {
	id, _ := c.Locals("customerID").(int64)
	return id
}

// RequireCustomer lets signed-in shoppers through. Others are redirected from
// a GET or HEAD to /signin?next=<this path>, and refused with 401 otherwise.
// It must run after (*Sessions).Load.
func RequireCustomer(c *fiber.Ctx) error {
	if CustomerID(c) > 0 {
		return c.Next()
	}
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		target := "/signin"
		if next := safeNext(c.OriginalURL()); next != "" {
			target += "?next=" + url.QueryEscape(next)
		}
		return c.Redirect(target, fiber.StatusSeeOther)
	}
	return fault.Errorf(fault.Unauthorized, "Please sign in to continue.")
}

// safeNext returns p when it is a path on this site, else "". Anything that
// a browser could read as another origin ("//host", "/\host", "http:...")
// is refused, so `next` is no open redirect.
func safeNext(p string) string {
	if p == "" || len(p) > 1024 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\x00\r\n\t") {
		return ""
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return p
}

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// randomToken returns n random bytes in unpadded base64url.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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
