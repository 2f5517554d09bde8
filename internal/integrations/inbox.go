package integrations

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/jobs"
)

// processAttempts spreads retries of a failing event over about two hours
// with the queue's doubling backoff: long enough for the order a
// fulfillment belongs to, or the shipment a tracker follows, to arrive.
const processAttempts = 10

// Inbox receives, stores and processes webhook deliveries.
type Inbox struct {
	db        *sqlx.DB
	q         *jobs.Queue
	log       *slog.Logger
	providers map[string]Provider
	now       func() time.Time
}

// NewInbox returns an inbox for the given providers and registers its
// processing worker on q (call before q starts). It panics when two
// providers share a name: that is a wiring mistake.
func NewInbox(db *sqlx.DB, q *jobs.Queue, log *slog.Logger, providers ...Provider) *Inbox {
	if log == nil {
		log = slog.Default()
	}
	in := &Inbox{db: db, q: q, log: log, providers: map[string]Provider{}, now: time.Now}
	for _, p := range providers {
		name := p.Info().Name
		if _, dup := in.providers[name]; dup {
			panic("integrations: provider " + name + " wired twice")
		}
		in.providers[name] = p
	}
	river.AddWorker(q.Workers(), &processWorker{in: in})
	return in
}

// Providers describes the wired providers, sorted by title.
func (in *Inbox) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(in.providers))
	for _, p := range in.providers {
		out = append(out, p.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out
}

// Provider returns the provider of that name.
func (in *Inbox) Provider(name string) (Provider, bool) {
	p, ok := in.providers[name]
	return p, ok
}

// Receipt says what Accept did with a delivery.
type Receipt struct {
	ID        int64 // the stored event's id in webhook_events (0 for a ping or a duplicate)
	Duplicate bool  // the provider sent this event before; nothing was stored
	Ping      bool  // an unsigned set-up ping; nothing was stored
}

// Accept verifies a delivery to provider name and stores it with its
// processing job in one transaction. A redelivery of a stored event changes
// nothing and is reported as Duplicate. Errors: ErrUnknownProvider,
// ErrNotConfigured (no secret set yet), ErrSignature, a Malformed error for
// a body the provider cannot have sent; nothing is stored on any error.
func (in *Inbox) Accept(ctx context.Context, name string, d Delivery) (Receipt, error) {
	p, ok := in.providers[name]
	if !ok {
		return Receipt{}, ErrUnknownProvider
	}
	if pinger, ok := p.(Pinger); ok && pinger.Ping(d) {
		return Receipt{Ping: true}, nil
	}
	secret, err := LoadSecret(ctx, in.db, name)
	if err != nil {
		return Receipt{}, err
	}
	if secret == "" {
		return Receipt{}, ErrNotConfigured
	}
	if err := p.Verify(d, secret, in.now()); err != nil {
		return Receipt{}, err
	}
	id, err := p.Identify(d)
	if err != nil {
		return Receipt{}, err
	}
	if err := checkIdentity(id); err != nil {
		return Receipt{}, err
	}
	var r Receipt
	err = db.InTx(ctx, in.db, func(tx *sqlx.Tx) error {
		rowID, err := insertEvent(ctx, tx, name, id, d.Body, keptHeaders(d.Header, p.Info().Headers))
		if err != nil || rowID == 0 {
			r.Duplicate = err == nil
			return err
		}
		r.ID = rowID
		return in.q.InsertTx(ctx, tx.Tx, ProcessArgs{EventID: rowID}, &river.InsertOpts{MaxAttempts: processAttempts})
	})
	return r, err
}

// checkIdentity refuses ids and topics that cannot be stored or shown as
// they are: too long, not UTF-8, or with control characters.
func checkIdentity(id Identity) error {
	bad := func(s string) bool {
		return !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0
	}
	switch {
	case id.EventID == "" || len(id.EventID) > 255 || bad(id.EventID):
		return Malformed("the delivery has no usable event id")
	case len(id.Topic) > 255 || bad(id.Topic):
		return Malformed("the delivery's topic is not usable")
	}
	return nil
}

// keptHeaders picks the named headers, as storable text.
func keptHeaders(h http.Header, names []string) Headers {
	out := Headers{}
	for _, n := range names {
		if v := h.Get(n); v != "" {
			out[http.CanonicalHeaderKey(n)] = strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return -1
				}
				return r
			}, clip(v, 500))
		}
	}
	return out
}

// Replay queues a stored event to be processed again, recording who asked
// with audit (called in the same transaction). It returns fault.NotFound
// for an unknown event.
func (in *Inbox) Replay(ctx context.Context, id int64, audit func(tx *sqlx.Tx, ev Event) error) error {
	return db.InTx(ctx, in.db, func(tx *sqlx.Tx) error {
		ev, err := eventByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := markReplayed(ctx, tx, id); err != nil {
			return err
		}
		if err := audit(tx, ev); err != nil {
			return err
		}
		return in.q.InsertTx(ctx, tx.Tx, ProcessArgs{EventID: id}, &river.InsertOpts{MaxAttempts: processAttempts})
	})
}

// Event returns a stored event with its body; fault.NotFound if none.
func (in *Inbox) Event(ctx context.Context, id int64) (Event, error) {
	return eventByID(ctx, in.db, id)
}

// Events lists stored events, newest first, without their bodies.
func (in *Inbox) Events(ctx context.Context, f EventFilter) (EventPage, error) {
	return listEvents(ctx, in.db, f)
}

// BodyText is an event's body as text for a page: invalid UTF-8 replaced,
// cut at max bytes (cut reports whether it was).
func BodyText(body []byte, max int) (text string, cut bool) {
	if len(body) > max {
		body, cut = body[:max], true
	}
	return string(bytes.ToValidUTF8(body, []byte("\uFFFD"))), cut
}

// Prune deletes processed events received more than olderThan ago, and
// returns how many; failed and waiting ones stay until they are resolved.
func (in *Inbox) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := in.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE processed_at IS NOT NULL
		AND received_at < now() - make_interval(secs => $1)`, olderThan.Seconds())
	if err != nil {
		return 0, fmt.Errorf("integrations: prune events: %w", err)
	}
	return res.RowsAffected()
}

// Retention is how long processed events are kept for the admin's list.
const Retention = 90 * 24 * time.Hour
