package commerce

import (
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aftercare/aftercare/internal/fault"
)

// Limits on what the API accepts; they keep one request's work bounded and
// every amount far from int64 overflow.
const (
	MaxOrderItems = 500       // line items per order
	MaxBatch      = 500       // orders per batch request
	maxQuantity   = 1_000_000 // units on one line
	// maxAmount is the largest amount in minor units (10^13 major units):
	// 500 lines of it still fit an int64 many times over.
	maxAmount     int64 = 1_000_000_000_000_000
	maxFutureSkew       = 24 * time.Hour // clocks of stores and carriers drift
)

// text trims s and records a problem at path when it is required and empty,
// longer than max characters, or holds control characters (NUL cannot be
// stored in PostgreSQL text at all). Multi-line text may hold newlines and
// tabs.
func text(f *fault.Fields, path, s string, max int, required, multiline bool) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		f.Add(path, "is required")
	case utf8.RuneCountInString(s) > max:
		f.Add(path, fmt.Sprintf("must be at most %d characters", max))
	case strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
	}) >= 0:
		f.Add(path, "must not contain control characters")
	}
	return s
}

// email normalizes an address (trimmed, lower-case) and records a problem
// unless it is a bare address such as name@example.com.
func email(f *fault.Fields, path, s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		f.Add(path, "is required")
		return s
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		f.Add(path, "must be an email address such as name@example.com")
	}
	return s
}

// webURL records a problem unless s is empty or an absolute http(s) URL.
func webURL(f *fault.Fields, path, s string) string {
	s = text(f, path, s, 2000, false, false)
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.Add(path, "must be an absolute http or https URL")
	}
	return s
}

// instant parses an RFC 3339 time and records a problem when it is missing
// (if required), malformed, before 1970 or more than a day in the future.
func instant(f *fault.Fields, path, s string, now time.Time, required bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			f.Add(path, "is required")
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		f.Add(path, "must be an RFC 3339 time such as 2024-03-01T14:30:00Z")
	case t.Year() < 1970:
		f.Add(path, "must be after 1970")
	case t.After(now.Add(maxFutureSkew)):
		f.Add(path, "must not be more than a day in the future")
	default:
		// PostgreSQL keeps microseconds; hashing more would see changes it cannot store.
		return t.UTC().Truncate(time.Microsecond), true
	}
	return time.Time{}, false
}

// day parses an optional calendar date (YYYY-MM-DD).
func day(f *fault.Fields, path, s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 1970 {
		f.Add(path, "must be a date such as 2024-03-01")
		return nil
	}
	return &s
}

// amount records a problem unless 0 <= v <= maxAmount.
func amount(f *fault.Fields, path string, v int64) {
	if v < 0 {
		f.Add(path, "must not be negative")
	} else if v > maxAmount {
		f.Add(path, "is too large")
	}
}
