// Package fault defines the domain errors of Aftercare. Services return them;
// the HTTP layer maps each Kind to a status code in one place and shows the
// message to the user, while any other error is logged and hidden.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error.
type Kind string

// The kinds of domain error. Each maps to one HTTP status in internal/server.
const (
	Invalid      Kind = "invalid"      // bad input: 400 or 422
	NotFound     Kind = "not_found"    // 404
	Conflict     Kind = "conflict"     // 409
	Unauthorized Kind = "unauthorized" // 401
	Forbidden    Kind = "forbidden"    // 403
	TooMany      Kind = "too_many"     // 429
	TooLarge     Kind = "too_large"    // 413
	Unavailable  Kind = "unavailable"  // 503
	Internal     Kind = "internal"     // 500, message never shown
)

// FieldError names one bad input field, as in RFC 9457 extension members.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error whose Message is safe to show to the user.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s (%s: %s)", e.Message, e.Fields[0].Field, e.Fields[0].Message)
}

// Errorf returns a domain error of kind k with a formatted, user-safe message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error that names one bad field.
func Field(field, message string) *Error {
	return &Error{Kind: Invalid, Message: "The request has an invalid field.", Fields: []FieldError{{Field: field, Message: message}}}
}

// Fields collects field problems while validating input.
type Fields []FieldError

// Add records a problem with field.
func (f *Fields) Add(field, message string) {
	*f = append(*f, FieldError{Field: field, Message: message})
}

// Err returns nil when no problem was recorded, otherwise an Invalid error listing them.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Message: "The request has invalid fields.", Fields: f}
}

// KindOf returns the Kind of err, or Internal when err is not a domain error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// As returns the domain error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is a domain error of kind k.
func Is(err error, k Kind) bool { return KindOf(err) == k }
