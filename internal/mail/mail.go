// Package mail is Aftercare's outbox: services queue an email in the
// transaction of its cause (Outbox.Queue), a River job renders it through a
// Composer and delivers it over SMTP with retries (Delivery), and in dev the
// kept mail is shown at /dev/mail (DevMailbox).
package mail

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Message statuses stored in messages.status.
const (
	StatusQueued  = "queued"  // waiting for (another) delivery attempt
	StatusSent    = "sent"    // accepted by the SMTP server
	StatusFailed  = "failed"  // gave up: attempts exhausted or a permanent error
	StatusKept    = "kept"    // no SMTP configured: kept for the dev mailbox
	StatusSkipped = "skipped" // nothing to send any more (e.g. the customer was erased, or withdrew consent)
)

// Queued is an email to send: what it is about, not what it says. Its content
// is composed at delivery time. A DedupeKey names the cause (for example
// "order_confirmation:42") so that a cause yields at most one email. Zero ids
// mean none.
type Queued struct {
	Kind       string
	DedupeKey  string
	To         string
	CustomerID int64
	OrderID    int64
	ShipmentID int64
	// Marketing marks mail the shopper did not need to get (review
	// requests and reminders, replenishment, recommendations, offers,
	// referral invites, abandoned-checkout reminders), as opposed to order
	// updates. Delivery sends a marketing message only to a customer who
	// consented (customers.marketing_consent) and has not unsubscribed,
	// skipping it otherwise; it defers it, never drops it, while the
	// customer's frequency cap or the store's quiet hours hold (see Pacing);
	// and the journey's Finisher gives it List-Unsubscribe headers. The
	// customer is CustomerID, or else the customer with the To address.
	Marketing bool
}

// Message is a stored row of the messages outbox. CustomerID, OrderID and
// ShipmentID are 0 when the row has none (or its subject was deleted).
// Subject, HTML, Text and Headers are empty until the message is rendered.
type Message struct {
	ID         int64             `db:"id"`
	Kind       string            `db:"kind"`
	DedupeKey  string            `db:"dedupe_key"`
	To         string            `db:"to_address"`
	CustomerID int64             `db:"customer_id"`
	OrderID    int64             `db:"order_id"`
	ShipmentID int64             `db:"shipment_id"`
	Subject    string            `db:"subject"`
	HTML       string            `db:"html_body"`
	Text       string            `db:"text_body"`
	Headers    map[string]string `db:"-"`
	Status     string            `db:"status"`
	Attempts   int               `db:"attempts"`
	LastError  string            `db:"last_error"`
	RenderedAt sql.NullTime      `db:"rendered_at"`
	CreatedAt  time.Time         `db:"created_at"`
	SentAt     sql.NullTime      `db:"sent_at"`
	// Marketing is Queued.Marketing.
	Marketing bool `db:"marketing"`
	// DeferredUntil is when a marketing message held back by the frequency
	// cap or quiet hours will be tried again.
	DeferredUntil sql.NullTime `db:"deferred_until"`
}

// Content is a rendered email. Headers are extra header fields such as
// List-Unsubscribe; From, To, Subject and Message-ID are set by the sender.
type Content struct {
	Subject string
	HTML    string
	Text    string
	Headers map[string]string
}

// Composer renders the content of one kind of message. It is called once per
// message, before the first delivery attempt; a retry resends what it made.
// An error marked with Permanent stops delivery for good; any other error is
// retried.
type Composer interface {
	Compose(ctx context.Context, m Message) (Content, error)
}

// Sender hands a rendered message to a mail server. An error is retried by
// the delivery job unless it is marked Permanent.
type Sender interface {
	Send(ctx context.Context, from string, m Message) error
}

// permanentError marks an error that no retry can fix.
type permanentError struct {
	err  error
	skip bool
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as final: the delivery job stops retrying and the
// message is marked failed (for example an unknown kind, or a recipient the
// mail server refuses for good).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Skip marks err as a reason not to send at all: the delivery job stops and
// the message is marked skipped (for example the customer was erased or the
// order no longer exists).
func Skip(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err, skip: true}
}

// IsPermanent reports whether err was marked with Permanent or Skip.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// IsSkip reports whether err was marked with Skip.
func IsSkip(err error) bool {
	var p *permanentError
	return errors.As(err, &p) && p.skip
}
