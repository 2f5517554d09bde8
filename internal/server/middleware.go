package server

import (
	"bytes"
	"context"
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

func requestID(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID(id) {
		b := make([]byte, 12)
		rand.Read(b) //nolint:errcheck // never fails
		id = hex.EncodeToString(b)
	}
	c.Locals("requestID", id)
	c.Set(fiber.HeaderXRequestID, id)
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// observe logs each request as a JSON line and counts it in the metrics,
// after the error handler has written the response so the status is true.
// GET requests under a quiet prefix are only counted unless they failed
// (Options.QuietPaths).
func observe(log *slog.Logger, m *Metrics, quiet []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the error handler write the response so the logged status is true.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				c.Status(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		m.observe(c, status, time.Since(start))
		if status < 400 && len(quiet) > 0 && c.Method() == fiber.MethodGet && hasAnyPrefix(c.Path(), quiet) {
			return nil
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(c.UserContext(), level, "request",
			"request_id", RequestID(c), "method", c.Method(), "path", c.Route().Path,
			"status", status, "duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", c.IP())
		return nil
	}
}

func securityHeaders(c *fiber.Ctx) error {
	nonce := make([]byte, 16)
	rand.Read(nonce) //nolint:errcheck // never fails
	n := base64.RawStdEncoding.EncodeToString(nonce)
	c.Locals("cspNonce", n)
	h := &c.Response().Header
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'nonce-"+n+"'; script-src 'self' 'nonce-"+n+"'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	// Magic-link URLs carry tokens: never leak them to another site through
	// Referer. (no-referrer would make browsers send "Origin: null" on the
	// Continue form, which the CSRF origin check must refuse.)
	if strings.HasPrefix(c.Path(), "/m/") {
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	}
	if c.Protocol() == "https" {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	return c.Next()
}

// noNUL refuses a query string with a NUL byte before any handler sees it:
// PostgreSQL text cannot hold one, so a search for it could only end in a
// database error (a 500) instead of an answer.
func noNUL(c *fiber.Ctx) error {
	q := c.Request().URI().QueryString()
	if bytes.IndexByte(q, 0) >= 0 || bytes.Contains(bytes.ToLower(q), []byte("%00")) {
		return fiber.NewError(fiber.StatusBadRequest, "This address contains a character we cannot read.")
	}
	return c.Next()
}

// deadline gives every request's database work a deadline through UserContext.
func deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}
