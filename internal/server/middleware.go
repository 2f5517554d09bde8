package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// RequestID returns the id of the current request, for logs and error pages.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestID").(string)
	return id
}

func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Header names and values that do not change, as the bytes fasthttp copies
// from (canonical names: set without normalizing them per request).
var (
	hdrRequestID    = []byte("X-Request-Id")
	hdrCSP          = []byte("Content-Security-Policy")
	hdrNoSniff      = []byte("X-Content-Type-Options")
	hdrFrame        = []byte("X-Frame-Options")
	hdrCOOP         = []byte("Cross-Origin-Opener-Policy")
	hdrPermissions  = []byte("Permissions-Policy")
	hdrReferrer     = []byte("Referrer-Policy")
	hdrCacheControl = []byte("Cache-Control")
	hdrHSTS         = []byte("Strict-Transport-Security")
	valNoSniff      = []byte("nosniff")
	valDeny         = []byte("DENY")
	valSameOrigin   = []byte("same-origin")
	valPermissions  = []byte("camera=(), microphone=(), geolocation=()")
	valStrictOrigin = []byte("strict-origin-when-cross-origin")
	valNoStore      = []byte("no-store")
	valHSTS         = []byte("max-age=31536000; includeSubDomains")
	cspBeforeStyle  = "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'nonce-"
	cspBeforeScript = "'; script-src 'self' 'nonce-"
	cspAfterScript  = "'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

// The random bytes of a request id (24 hex digits) and of a CSP nonce.
const (
	requestIDBytes = 12
	nonceBytes     = 16
)

// front is the first middleware of every request, after recover: it gives
// the request its id, security headers and CSP nonce, refuses a query with
// a NUL byte, puts a deadline on its context, and once the rest of the
// chain has answered (through the error handler when it failed, so the
// status is true) counts it in the metrics and writes its access log line.
// GET requests under a quiet prefix are only counted unless they failed
// (Options.QuietPaths).
//
// These were five handlers; as one, with the id and nonce drawn in one
// read of randomness and made into one string, the headers set from fixed
// bytes and a deadline whose timer starts only when something waits on it,
// the chain costs a handful of allocations per request instead of about
// twenty (it runs in front of every page, and of the referral link at a
// campaign's rate).
func front(o Options) fiber.Handler {
	access := newAccessLog(o.Logger)
	metrics, quiet, timeout, afterWrite := o.Metrics, o.QuietPaths, o.DBTimeout, o.AfterWrite
	return func(c *fiber.Ctx) error {
		start := time.Now()
		var random [requestIDBytes + nonceBytes]byte
		rand.Read(random[:]) //nolint:errcheck // never fails

		// The request id (the caller's when it sent a usable one) and the
		// nonce share one allocation.
		var buf [64 + 24]byte
		ids := buf[:0]
		if sent := c.Request().Header.PeekBytes(hdrRequestID); validRequestID(sent) {
			ids = append(ids, sent...)
		} else {
			ids = hex.AppendEncode(ids, random[:requestIDBytes])
		}
		idLen := len(ids)
		ids = base64.RawStdEncoding.AppendEncode(ids, random[requestIDBytes:])
		both := string(ids)
		id, nonce := both[:idLen], both[idLen:]
		c.Locals("requestID", id)
		c.Locals("cspNonce", nonce)
		setSecurityHeaders(c, ids[:idLen], ids[idLen:])

		err := noNUL(c)
		if err == nil {
			err = withDeadline(c, start.Add(timeout))
		}
		if err != nil {
			// Let the error handler write the response so the logged status is true.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				c.Status(fiber.StatusInternalServerError)
			}
		}
		if afterWrite != nil && !safeMethod(c.Method()) {
			afterWrite()
		}
		status := c.Response().StatusCode()
		elapsed := time.Since(start)
		metrics.observe(c, status, elapsed)
		if status < 400 && len(quiet) > 0 && c.Method() == fiber.MethodGet && hasAnyPrefix(c.Path(), quiet) {
			return nil
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		access.write(c.UserContext(), level, id, c.Method(), c.Route().Path, status, elapsed, c.IP())
		return nil
	}
}

// withDeadline runs the rest of the chain with a context that ends at
// deadline, or when the chain returns (or panics: recover, in front of
// front, answers then).
func withDeadline(c *fiber.Ctx, deadline time.Time) error {
	ctx := newRequestContext(deadline)
	defer ctx.end()
	c.SetUserContext(ctx)
	return c.Next()
}

// setSecurityHeaders sets the security headers and the request id on the
// response; the CSP allows inline styles and scripts with nonce only.
func setSecurityHeaders(c *fiber.Ctx, id, nonce []byte) {
	h := &c.Response().Header
	h.SetCanonical(hdrRequestID, id)
	var buf [256]byte
	csp := append(buf[:0], cspBeforeStyle...)
	csp = append(csp, nonce...)
	csp = append(csp, cspBeforeScript...)
	csp = append(csp, nonce...)
	csp = append(csp, cspAfterScript...)
	h.SetCanonical(hdrCSP, csp)
	h.SetCanonical(hdrNoSniff, valNoSniff)
	h.SetCanonical(hdrFrame, valDeny)
	h.SetCanonical(hdrCOOP, valSameOrigin)
	h.SetCanonical(hdrPermissions, valPermissions)
	// Magic-link URLs carry tokens: never leak them to another site through
	// Referer. (no-referrer would make browsers send "Origin: null" on the
	// Continue form, which the CSRF origin check must refuse.)
	if strings.HasPrefix(c.Path(), "/m/") {
		h.SetCanonical(hdrReferrer, valSameOrigin)
		h.SetCanonical(hdrCacheControl, valNoStore)
	} else {
		h.SetCanonical(hdrReferrer, valStrictOrigin)
	}
	if c.Protocol() == "https" {
		h.SetCanonical(hdrHSTS, valHSTS)
	}
}

// nul is a NUL byte as it appears escaped in a query string ("%00": the
// digits have no case, so no other spelling decodes to NUL).
var nul = []byte("%00")

// noNUL refuses a query string with a NUL byte before any handler sees it:
// PostgreSQL text cannot hold one, so a search for it could only end in a
// database error (a 500) instead of an answer.
func noNUL(c *fiber.Ctx) error {
	q := c.Request().URI().QueryString()
	if bytes.IndexByte(q, 0) >= 0 || bytes.Contains(q, nul) {
		return fiber.NewError(fiber.StatusBadRequest, "This address contains a character we cannot read.")
	}
	return nil
}

// safeMethod reports whether method reads only (RFC 9110's safe methods
// this server answers).
func safeMethod(method string) bool {
	switch method {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return true
	}
	return false
}
