// Package config reads Aftercare's configuration from environment variables,
// once, in cmd. Every problem is reported at start, one line per variable.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the whole of Aftercare's configuration.
type Config struct {
	DatabaseURL       string        // AFTERCARE_DATABASE_URL or DATABASE_URL; empty in dev means a private PostgreSQL
	Addr              string        // AFTERCARE_ADDR
	BaseURL           string        // AFTERCARE_BASE_URL, the public URL of the portal, no trailing slash
	AutoMigrate       bool          // AFTERCARE_AUTO_MIGRATE
	SigningKeys       []SigningKey  // AFTERCARE_SIGNING_KEYS: kid:base64secret,...; first signs
	SMTPURL           string        // AFTERCARE_SMTP_URL smtp://user:pass@host:port, empty keeps mail in the dev mailbox
	MailFrom          string        // AFTERCARE_MAIL_FROM
	DevMode           bool          // set by `aftercare dev`, never from the environment
	StripeSecretKey   string        // AFTERCARE_STRIPE_SECRET_KEY
	StripeAPIBase     string        // AFTERCARE_STRIPE_API_BASE, for stripe-mock
	DBTimeout         time.Duration // AFTERCARE_DB_TIMEOUT: deadline of each request's database work
	DBMaxConns        int           // AFTERCARE_DB_MAX_CONNS
	DBHotStatements   int           // AFTERCARE_DB_HOT_STATEMENTS
	ChangeFeed        bool          // AFTERCARE_CHANGE_FEED
	ChangeFeedURL     string        // AFTERCARE_CHANGE_FEED_URL; empty: DatabaseURL
	LogLevel          string        // AFTERCARE_LOG_LEVEL: debug, info, warn, error
	MaxBodyBytes      int           // AFTERCARE_MAX_BODY_BYTES
	TrustedProxies    []string      // AFTERCARE_TRUSTED_PROXIES: comma separated IPs or CIDRs whose X-Forwarded-For is believed
	SecureCookies     bool          // false only in dev over plain http
	WorkerConcurrency int           // AFTERCARE_WORKERS
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (AFTERCARE_MEMORY_LIMIT); 0 leaves the runtime's own (GOMEMLIMIT, or
	// none).
	MemoryLimit int64
}

// SigningKey is one HMAC key for magic-link tokens, named by its kid.
type SigningKey struct {
	ID     string
	Secret []byte
}

// Var documents one environment variable; the README table is kept in step with Vars.
type Var struct {
	Name, Default, Meaning string
}

// Vars lists every variable Aftercare reads.
var Vars = []Var{
	{"AFTERCARE_DATABASE_URL", "(none; `dev` starts a private PostgreSQL)", "PostgreSQL URL, e.g. postgres://user:pass@host:5432/aftercare?sslmode=disable. DATABASE_URL is read when this is empty."},
	{"AFTERCARE_ADDR", ":8080", "Address the HTTP server listens on."},
	{"AFTERCARE_BASE_URL", "http://localhost:8080", "Public URL of the portal, used in emails and links."},
	{"AFTERCARE_AUTO_MIGRATE", "0 (1 in `dev`)", "Run database migrations at start."},
	{"AFTERCARE_SIGNING_KEYS", "(required for serve; generated in `dev`)", "Magic-link keys as kid:base64secret, comma separated; the first signs, all verify. Each secret at least 32 bytes."},
	{"AFTERCARE_SMTP_URL", "(none: mail kept at /dev/mail in `dev`)", "SMTP server, smtp://user:pass@host:587 (STARTTLS when offered) or smtps://... (implicit TLS)."},
	{"AFTERCARE_MAIL_FROM", "Aftercare <no-reply@localhost>", "From address of every email."},
	{"AFTERCARE_STRIPE_SECRET_KEY", "(none)", "Stripe secret key for promotion codes, refunds and rewards."},
	{"AFTERCARE_STRIPE_API_BASE", "(Stripe)", "Override of Stripe's API URL, e.g. a stripe-mock."},
	{"AFTERCARE_DB_TIMEOUT", "5s", "Deadline for the database work of one request."},
	{"AFTERCARE_DB_MAX_CONNS", "20", "Most open database connections per instance."},
	{"AFTERCARE_DB_HOT_STATEMENTS", "8 (at most AFTERCARE_DB_MAX_CONNS)", "Most per-request reads (sessions, page parts) running at once per instance; the rest wait in arrival order, so a busy instance's slowest requests wait about as long as the others instead of losing a lottery for a connection."},
	{"AFTERCARE_WORKERS", "10", "Jobs worked at once per instance."},
	{"AFTERCARE_MAX_BODY_BYTES", "4194304", "Largest accepted request body."},
	{"AFTERCARE_TRUSTED_PROXIES", "(none)", "Comma separated proxy IPs/CIDRs whose X-Forwarded-For gives the client IP."},
	{"AFTERCARE_LOG_LEVEL", "info", "debug, info, warn or error."},
	{"AFTERCARE_MEMORY_LIMIT", "128MiB", "Soft limit of the server's memory (Go heap, stacks and runtime): above it the garbage collector works harder to stay under, instead of letting the heap double between collections. Set it to about 90% of the container's memory, or 0 to turn it off. GOMEMLIMIT, when set, wins."},
	{"AFTERCARE_STAFF_PASSWORD", "(none; prompted)", "Read only by `aftercare staff create`: the new account's password, for scripts."},
}

// Load reads the configuration. In dev mode missing secrets are allowed
// (cmd generates them); otherwise every problem is returned, one per line.
func Load(getenv func(string) string, dev bool) (Config, error) {
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{DevMode: dev}
	c.DatabaseURL = get("AFTERCARE_DATABASE_URL", getenv("DATABASE_URL"))
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("AFTERCARE_DATABASE_URL", "must be a postgres:// URL")
		}
	} else if !dev {
		bad("AFTERCARE_DATABASE_URL", "is required (or DATABASE_URL); `aftercare dev` starts a private PostgreSQL instead")
	}
	c.Addr = get("AFTERCARE_ADDR", ":8080")
	c.BaseURL = strings.TrimRight(get("AFTERCARE_BASE_URL", "http://localhost"+portOf(c.Addr)), "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("AFTERCARE_BASE_URL", "must be an absolute http(s) URL, got %q", c.BaseURL)
	} else {
		c.SecureCookies = u.Scheme == "https"
	}
	def := "0"
	if dev {
		def = "1"
	}
	var err error
	if c.AutoMigrate, err = parseBool(get("AFTERCARE_AUTO_MIGRATE", def)); err != nil {
		bad("AFTERCARE_AUTO_MIGRATE", "%v", err)
	}
	if keys := get("AFTERCARE_SIGNING_KEYS", ""); keys != "" {
		c.SigningKeys, err = ParseSigningKeys(keys)
		if err != nil {
			bad("AFTERCARE_SIGNING_KEYS", "%v", err)
		}
	} else if !dev {
		bad("AFTERCARE_SIGNING_KEYS", "is required: kid:base64secret with a secret of at least 32 bytes (openssl rand -base64 32)")
	}
	c.SMTPURL = get("AFTERCARE_SMTP_URL", "")
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("AFTERCARE_SMTP_URL", "must look like smtp://user:pass@host:587 or smtps://...")
		}
	}
	c.MailFrom = get("AFTERCARE_MAIL_FROM", "Aftercare <no-reply@localhost>")
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		bad("AFTERCARE_MAIL_FROM", "is not an email address: %v", err)
	}
	c.StripeSecretKey = get("AFTERCARE_STRIPE_SECRET_KEY", "")
	c.StripeAPIBase = strings.TrimRight(get("AFTERCARE_STRIPE_API_BASE", ""), "/")
	if c.DBTimeout, err = time.ParseDuration(get("AFTERCARE_DB_TIMEOUT", "5s")); err != nil || c.DBTimeout <= 0 {
		bad("AFTERCARE_DB_TIMEOUT", "must be a positive duration such as 5s")
	}
	c.DBMaxConns = intVar(get("AFTERCARE_DB_MAX_CONNS", "20"), 2, 1000, "AFTERCARE_DB_MAX_CONNS", bad)
	// Eight keep a few cores of PostgreSQL busy; a smaller pool caps them.
	c.DBHotStatements = intVar(get("AFTERCARE_DB_HOT_STATEMENTS", fmt.Sprint(min(8, max(c.DBMaxConns, 1)))), 1, 1000, "AFTERCARE_DB_HOT_STATEMENTS", bad)
	if c.DBHotStatements > c.DBMaxConns && c.DBMaxConns > 0 {
		bad("AFTERCARE_DB_HOT_STATEMENTS", "must be at most AFTERCARE_DB_MAX_CONNS (%d)", c.DBMaxConns)
	}
	if c.ChangeFeed, err = parseBool(get("AFTERCARE_CHANGE_FEED", "1")); err != nil {
		bad("AFTERCARE_CHANGE_FEED", "%v", err)
	}
	// LISTEN needs a session of its own: behind a pooler in transaction
	// mode, the feed must reach PostgreSQL directly.
	c.ChangeFeedURL = get("AFTERCARE_CHANGE_FEED_URL", "")
	if c.ChangeFeedURL != "" {
		if u, err := url.Parse(c.ChangeFeedURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("AFTERCARE_CHANGE_FEED_URL", "must be a postgres:// URL")
		}
	}
	c.WorkerConcurrency = intVar(get("AFTERCARE_WORKERS", "10"), 1, 1000, "AFTERCARE_WORKERS", bad)
	c.MaxBodyBytes = intVar(get("AFTERCARE_MAX_BODY_BYTES", "4194304"), 1024, 1<<30, "AFTERCARE_MAX_BODY_BYTES", bad)
	if v := get("AFTERCARE_TRUSTED_PROXIES", ""); v != "" {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
	}
	if getenv("GOMEMLIMIT") == "" {
		if c.MemoryLimit, err = ParseBytes(get("AFTERCARE_MEMORY_LIMIT", "128MiB")); err != nil || (c.MemoryLimit != 0 && c.MemoryLimit < 16<<20) {
			bad("AFTERCARE_MEMORY_LIMIT", "must be 0 or a size of at least 16MiB such as 128MiB, 512MiB or 2GiB")
		}
	}
	c.LogLevel = get("AFTERCARE_LOG_LEVEL", "info")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("AFTERCARE_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if len(problems) > 0 {
		return c, errors.New("configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

// ParseBytes parses a size as a number of bytes with an optional unit: B,
// KiB, MiB, GiB (powers of 1024, as GOMEMLIMIT takes them) or KB, MB, GB
// (powers of 1000).
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 128MiB", s)
	}
	return n * mult, nil
}

// ParseSigningKeys parses kid:base64secret pairs separated by commas.
func ParseSigningKeys(s string) ([]SigningKey, error) {
	var keys []SigningKey
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		kid, secret, ok := strings.Cut(part, ":")
		if !ok || kid == "" {
			return nil, fmt.Errorf("%q is not kid:base64secret", part)
		}
		if seen[kid] {
			return nil, fmt.Errorf("kid %q appears twice", kid)
		}
		seen[kid] = true
		raw, err := base64.StdEncoding.DecodeString(secret)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(secret)
		}
		if err != nil {
			return nil, fmt.Errorf("secret of kid %q is not base64", kid)
		}
		if len(raw) < 32 {
			return nil, fmt.Errorf("secret of kid %q has %d bytes; at least 32 are needed", kid, len(raw))
		}
		keys = append(keys, SigningKey{ID: kid, Secret: raw})
	}
	return keys, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("must be 1 or 0, got %q", s)
}

func intVar(s string, lo, hi int, name string, bad func(string, string, ...any)) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		bad(name, "must be a whole number from %d to %d, got %q", lo, hi, s)
		return lo
	}
	return n
}

func portOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i:]
	}
	return ":8080"
}
