package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// statusOf is the one map from domain error kinds to HTTP status codes.
var statusOf = map[fault.Kind]int{
	fault.Invalid:      fiber.StatusUnprocessableEntity,
	fault.NotFound:     fiber.StatusNotFound,
	fault.Conflict:     fiber.StatusConflict,
	fault.Unauthorized: fiber.StatusUnauthorized,
	fault.Forbidden:    fiber.StatusForbidden,
	fault.TooMany:      fiber.StatusTooManyRequests,
	fault.TooLarge:     fiber.StatusRequestEntityTooLarge,
	fault.Unavailable:  fiber.StatusServiceUnavailable,
	fault.Internal:     fiber.StatusInternalServerError,
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail,omitempty"`
	Instance  string             `json:"instance,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
	Errors    []fault.FieldError `json:"errors,omitempty"`
}

type errorHandler struct{ log *slog.Logger }

// handle turns any error into a response: problem+json under /api/, a page
// elsewhere. Only domain errors and Fiber's own show their message; any other
// error is logged with the request id and shown as a plain apology.
func (h *errorHandler) handle(c *fiber.Ctx, err error) error {
	status, message := fiber.StatusInternalServerError, "Something went wrong on our side. Please try again in a moment."
	var fields []fault.FieldError
	var fe *fiber.Error
	if de, ok := fault.As(err); ok {
		status, message, fields = statusOf[de.Kind], de.Message, de.Fields
		if de.Kind == fault.Internal {
			message = "Something went wrong on our side. Please try again in a moment."
		}
	} else if unavailable(err) {
		// The database (or another dependency) is unreachable: the client
		// should retry, and nothing half-done was committed.
		status, message = fiber.StatusServiceUnavailable, "We are briefly unable to reach our database. Please try again in a few seconds."
		c.Set(fiber.HeaderRetryAfter, "5")
	} else if errors.As(err, &fe) {
		status, message = fe.Code, fe.Message
		if status == fiber.StatusNotFound {
			message = "We could not find what you asked for."
		}
		if status == fiber.StatusRequestEntityTooLarge {
			message = "The request body is larger than this server accepts."
		}
	}
	if status >= 500 {
		h.log.Error("request failed", "request_id", RequestID(c), "path", c.Path(), "error", err)
	}
	if wantsJSON(c) {
		p := Problem{
			Type: "about:blank", Title: titleOf(status), Status: status, Detail: message,
			Instance: c.Path(), RequestID: RequestID(c), Errors: fields,
		}
		if len(fields) > 0 {
			p.Type = "https://aftercare.dev/problems/validation"
		}
		c.Status(status)
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.JSON(p, "application/problem+json")
	}
	c.Status(status)
	if c.App().Config().Views == nil {
		return c.SendString(message)
	}
	return c.Render("errors/error", fiber.Map{"heading": titleOf(status), "message": message, "requestID": RequestID(c)})
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") || strings.HasPrefix(c.Path(), "/webhooks/")
}

func titleOf(status int) string {
	switch status {
	case fiber.StatusNotFound:
		return "Not found"
	case fiber.StatusUnprocessableEntity, fiber.StatusBadRequest:
		return "Invalid request"
	case fiber.StatusUnauthorized:
		return "Sign-in needed"
	case fiber.StatusForbidden:
		return "Not allowed"
	case fiber.StatusTooManyRequests:
		return "Too many attempts"
	case fiber.StatusRequestEntityTooLarge:
		return "Request too large"
	case fiber.StatusUnsupportedMediaType:
		return "Unsupported media type"
	case fiber.StatusConflict:
		return "Conflict"
	case fiber.StatusServiceUnavailable:
		return "Temporarily unavailable"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return fiber.ErrBadRequest.Message
}

// unavailable reports errors that mean a dependency could not be reached or
// answered too late, as opposed to a bug: a dial or network failure, a
// broken connection, or a request deadline spent waiting for the database.
func unavailable(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	// A connection cut in the middle of a query surfaces from lib/pq as a
	// bare (unexpected) EOF, and from database/sql as ErrConnDone.
	return errors.As(err, &opErr) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, sql.ErrConnDone)
}
