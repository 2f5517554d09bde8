// Package integrations is how stores and carriers push into Aftercare
// without glue code: a webhook inbox (POST /webhooks/{provider}) that
// verifies each delivery's signature on the raw bytes, stores it in
// webhook_events and answers at once, and a job that applies it to the one
// record of purchases through internal/commerce, with retries, a failure
// list and a replay button in /admin/webhooks. Each provider (Shopify,
// WooCommerce, Stripe, EasyPost, AfterShip) lives in a subpackage and
// implements Provider. The package also keeps abandoned checkouts and sends
// their one reminder email.
package integrations

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Delivery is one webhook request as received: its headers (look them up
// case-insensitively with Header.Get) and its raw body.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Identity names a delivery: the provider's id of the event (or of the
// delivery, for providers that have no event id), unique per provider, and
// its topic ("orders/create", "tracker.updated").
type Identity struct {
	EventID string
	Topic   string
}

// ProviderInfo describes a provider for the inbox and the settings page.
type ProviderInfo struct {
	// Name is the path segment of its webhook URL and the key of its
	// settings ("integrations.<name>"): "shopify".
	Name string
	// Title is how pages name it: "Shopify".
	Title string
	// Headers are the request headers worth keeping with each event.
	Headers []string
	// Topics are the events to subscribe to in the other system.
	Topics []string
	// SecretHelp tells the admin where the signing secret comes from.
	SecretHelp string
	// ChosenHere reports that the other system takes a secret the admin
	// chooses (WooCommerce, EasyPost), so the settings page offers to
	// generate one; the others issue their own.
	ChosenHere bool
}

// Provider is one system that sends webhooks.
type Provider interface {
	Info() ProviderInfo
	// Verify checks the delivery's signature over its raw body with the
	// integration's secret, in constant time. It returns ErrSignature when
	// the signature is missing, malformed, stale or wrong.
	Verify(d Delivery, secret string, now time.Time) error
	// Identify decodes just enough of a delivery to name it. A body that
	// cannot be a delivery of this provider is a Malformed error.
	Identify(d Delivery) (Identity, error)
	// Apply processes a stored event through commerce and says what it did
	// ("order 12 created", "ignored: topic products/update"). It must be
	// idempotent: a retry or a replay applies the event again. Errors are
	// retried, except those marked Permanent and fault.Invalid or
	// fault.Conflict errors, which no retry can fix.
	Apply(ctx context.Context, ev Event) (string, error)
}

// Pinger is a Provider that sends unsigned test requests when a webhook
// is set up (WooCommerce's ping): Ping reports whether d is one, and the
// inbox then answers 200 without storing anything.
type Pinger interface {
	Ping(d Delivery) bool
}

// ErrSignature means a delivery's signature is missing or does not match.
var ErrSignature = errors.New("integrations: signature missing or wrong")

// ErrUnknownProvider means no provider of that name is wired.
var ErrUnknownProvider = errors.New("integrations: unknown provider")

// ErrNotConfigured means the provider has no secret yet, so no delivery can
// be verified.
var ErrNotConfigured = errors.New("integrations: no secret set")

type malformedError struct{ msg string }

func (e *malformedError) Error() string { return e.msg }

// Malformed returns an error saying why a body cannot be a delivery; the
// inbox answers it with 400 and stores nothing. The message is shown to the
// sender, so it must not echo secrets.
func Malformed(format string, args ...any) error {
	return &malformedError{msg: fmt.Sprintf(format, args...)}
}

// IsMalformed reports whether err was made by Malformed.
func IsMalformed(err error) bool {
	var m *malformedError
	return errors.As(err, &m)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that no retry can fix: the event is marked
// failed at once (it can still be replayed by staff after a fix).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Ignored is the outcome of an event that needs nothing done, with why.
func Ignored(format string, args ...any) string {
	return "ignored: " + fmt.Sprintf(format, args...)
}
