// Package events carries Aftercare's domain events. A write that others react
// to calls Emit in its own transaction; Emit inserts one River job per
// subscriber of that kind, so each reaction has its own retries, and runs the
// reaction in a transaction that also records (event, subscriber) as done:
// a retry or a second instance never reacts twice.
package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/jobs"
)

// The kinds of event.
const (
	OrderCreated          = "order.created"
	OrderRefunded         = "order.refunded"
	OrderCancelled        = "order.cancelled"
	ShipmentCreated       = "shipment.created"
	ShipmentStatusChanged = "shipment.status_changed"
	ReviewSubmitted       = "review.submitted"
	ReturnChanged         = "return.changed"
	ReferralConverted     = "referral.converted"
)

// Event is something that happened to the record. Only the ids and facts a
// reaction needs travel; reactions read the rest from the database.
type Event struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
	CustomerID int64     `json:"customer_id,omitempty"`
	OrderID    int64     `json:"order_id,omitempty"`
	ShipmentID int64     `json:"shipment_id,omitempty"`
	ReturnID   int64     `json:"return_id,omitempty"`
	ReviewID   int64     `json:"review_id,omitempty"`
	ReferralID int64     `json:"referral_id,omitempty"`
	// Status is the new state for *.status_changed and return.changed.
	Status string `json:"status,omitempty"`
	// Amount and Currency describe money moved (order.refunded).
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// Full is true when a refund covers the whole order.
	Full bool `json:"full,omitempty"`
	// Rating is a review's stars (review.submitted).
	Rating int `json:"rating,omitempty"`
	// Historic marks history being loaded (an order placed, or a scan made,
	// long ago): reactions that talk to the shopper should stay quiet.
	Historic bool `json:"historic,omitempty"`
}

// Handler reacts to an event inside tx; returning an error rolls the
// reaction back and River retries it.
type Handler func(ctx context.Context, tx *sqlx.Tx, ev Event) error

// Bus routes events to their subscribers.
type Bus struct {
	db   *sqlx.DB
	q    *jobs.Queue
	subs map[string]map[string]Handler // kind -> subscriber -> handler
}

// New returns a bus and registers its worker on q.
func New(db *sqlx.DB, q *jobs.Queue) *Bus {
	b := &Bus{db: db, q: q, subs: map[string]map[string]Handler{}}
	river.AddWorker(q.Workers(), &reactWorker{b: b})
	return b
}

// Subscribe registers h as subscriber name for kind, at wiring time. Names
// must be stable: they key the done-records of past reactions.
func (b *Bus) Subscribe(kind, name string, h Handler) {
	if b.subs[kind] == nil {
		b.subs[kind] = map[string]Handler{}
	}
	if _, dup := b.subs[kind][name]; dup {
		panic(fmt.Sprintf("events: %s subscribed twice to %s", name, kind))
	}
	b.subs[kind][name] = h
}

// Emit records ev in tx: one job per subscriber, committed or rolled back
// with the write that caused it.
func (b *Bus) Emit(ctx context.Context, tx *sqlx.Tx, ev Event) error {
	for _, p := range b.jobs(nil, ev) {
		if err := b.q.InsertTx(ctx, tx.Tx, p.Args, p.InsertOpts); err != nil {
			return fmt.Errorf("events: emit %s to %s: %w", ev.Kind, p.Args.(ReactArgs).Subscriber, err)
		}
	}
	return nil
}

// jobs appends to params ev's job for each subscriber, in name order,
// filling in the event's id and time when unset.
func (b *Bus) jobs(params []river.InsertManyParams, ev Event) []river.InsertManyParams {
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	names := make([]string, 0, len(b.subs[ev.Kind]))
	for name := range b.subs[ev.Kind] {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		params = append(params, river.InsertManyParams{Args: ReactArgs{Subscriber: name, Event: ev}, InsertOpts: &river.InsertOpts{MaxAttempts: 20}})
	}
	return params
}

// EmitMany records evs in tx like Emit, with one insert for the jobs of all
// their subscribers (a batch of orders emits hundreds of events at once).
func (b *Bus) EmitMany(ctx context.Context, tx *sqlx.Tx, evs []Event) error {
	var params []river.InsertManyParams
	for _, ev := range evs {
		params = b.jobs(params, ev)
	}
	if err := b.q.InsertManyTx(ctx, tx.Tx, params); err != nil {
		return fmt.Errorf("events: emit %d events: %w", len(evs), err)
	}
	return nil
}

// ReactArgs is the job of one subscriber's reaction to one event.
type ReactArgs struct {
	Subscriber string `json:"subscriber"`
	Event      Event  `json:"event"`
}

// Kind names the River job kind.
func (ReactArgs) Kind() string { return "event.react" }

type reactWorker struct {
	river.WorkerDefaults[ReactArgs]
	b *Bus
}

func (w *reactWorker) Work(ctx context.Context, job *river.Job[ReactArgs]) error {
	ev, name := job.Args.Event, job.Args.Subscriber
	h := w.b.subs[ev.Kind][name]
	if h == nil {
		return river.JobCancel(fmt.Errorf("events: no subscriber %s for %s", name, ev.Kind))
	}
	tx, err := w.b.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("events: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var inserted string
	err = tx.GetContext(ctx, &inserted, `INSERT INTO event_reactions (event_id, subscriber, kind) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING RETURNING subscriber`, ev.ID, name, ev.Kind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // done before: a retry after a lost ack, or a second instance
	}
	if err != nil {
		return fmt.Errorf("events: record %s/%s: %w", ev.Kind, name, err)
	}
	if err := h(ctx, tx, ev); err != nil {
		return fmt.Errorf("events: %s reacting to %s: %w", name, ev.Kind, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("events: commit: %w", err)
	}
	return nil
}
