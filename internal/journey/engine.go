package journey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pagecache"
)

// Step states.
const (
	StateScheduled = "scheduled"
	StateSent      = "sent"    // its email was queued (delivery may still pace it)
	StateSkipped   = "skipped" // not wanted any more; Reason says why
)

// Step is one scheduled email of the journey. Zero ids mean none.
type Step struct {
	ID          int64     `db:"id"`
	Kind        string    `db:"kind"`
	Key         string    `db:"key"`
	CustomerID  int64     `db:"customer_id"`
	OrderID     int64     `db:"order_id"`
	ShipmentID  int64     `db:"shipment_id"`
	OrderItemID int64     `db:"order_item_id"`
	DueAt       time.Time `db:"due_at"`
	State       string    `db:"state"`
	Reason      string    `db:"reason"`
	MessageID   int64     `db:"message_id"`
}

// Outcome is what a step's handler did: queued message MessageID, or
// skipped for Skip.
type Outcome struct {
	MessageID int64
	Skip      string
}

// Skipped is the outcome of a step that sends nothing, and why.
func Skipped(reason string) Outcome { return Outcome{Skip: reason} }

// Handler runs a due step inside tx, which holds the step's row lock; what
// it writes commits with the step's new state. It checks that the email is
// still wanted, queues it (Engine.QueueMail) and may schedule follow-ups.
type Handler func(ctx context.Context, tx *sqlx.Tx, st Step) (Outcome, error)

// OpenReturns tells whether an order has a return in progress; the returns
// feature implements it and cmd wires it in.
type OpenReturns interface {
	OpenReturns(ctx context.Context, orderID int64) (bool, error)
}

// Subscriber is where reactions to domain events are registered
// (*events.Bus).
type Subscriber interface {
	Subscribe(kind, name string, h events.Handler)
}

// Engine schedules and runs journey steps.
type Engine struct {
	db       *sqlx.DB
	q        *jobs.Queue
	outbox   *mail.Outbox
	now      func() time.Time
	returns  OpenReturns
	stripe   *client.API
	handlers map[string]Handler
	clicks   map[string][]ClickHook
	affinity *affinity
	// panelRecs keeps the order page's recommendations (OrderPanel).
	panelRecs *pagecache.Cache[[]Recommendation]
}

// Options configure an Engine; zero values take defaults.
type Options struct {
	// Now is the journey's clock (time.Now by default); tests drive a
	// whole journey with a fake one.
	Now func() time.Time
	// Returns reports open returns; by default the return_requests table
	// is read when it exists.
	Returns OpenReturns
	// Stripe makes win-back promotion codes; nil skips win-back offers.
	Stripe *client.API
}

// NewEngine returns an engine that schedules steps as jobs on q and queues
// their email through outbox.
func NewEngine(db *sqlx.DB, q *jobs.Queue, outbox *mail.Outbox, o Options) *Engine {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Returns == nil {
		o.Returns = ReturnRequests{DB: db}
	}
	e := &Engine{db: db, q: q, outbox: outbox, now: o.Now, returns: o.Returns, stripe: o.Stripe,
		handlers: map[string]Handler{}, clicks: map[string][]ClickHook{},
		affinity: &affinity{now: o.Now}, panelRecs: pagecache.New[[]Recommendation](pagecache.SectionSize).WithMaxAge(time.Minute)}
	e.builtins()
	return e
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }

// Handle registers h for steps of kind, at wiring time.
func (e *Engine) Handle(kind string, h Handler) {
	if _, dup := e.handlers[kind]; dup {
		panic("journey: two handlers for step kind " + kind)
	}
	e.handlers[kind] = h
}

// Register adds the step worker to the engine's queue; call before Start.
func (e *Engine) Register() { river.AddWorker(e.q.Workers(), e.Worker()) }

// Schedule records st (Kind, Key, CustomerID, DueAt and the ids it is
// about) in tx with its job, due at st.DueAt. A step whose Key exists
// already is left as it is: it reports false.
func (e *Engine) Schedule(ctx context.Context, tx *sqlx.Tx, st Step) (bool, error) {
	if st.Kind == "" || st.Key == "" || st.CustomerID == 0 || st.DueAt.IsZero() {
		return false, fmt.Errorf("journey: schedule: step %+v lacks kind, key, customer or due time", st)
	}
	id, inserted, err := insertStep(ctx, tx, st)
	if err != nil || !inserted {
		return false, err
	}
	return true, e.wake(ctx, tx, id, st.DueAt)
}

// Hasten moves the scheduled step with key to due when that is sooner than
// its due time; otherwise, or when there is no such step, it does nothing.
func (e *Engine) Hasten(ctx context.Context, tx *sqlx.Tx, key string, due time.Time) error {
	id, moved, err := hastenStep(ctx, tx, key, due)
	if err != nil || !moved {
		return err
	}
	// The job at the old time still runs, finds the step done and stops.
	return e.wake(ctx, tx, id, due)
}

func (e *Engine) wake(ctx context.Context, tx *sqlx.Tx, stepID int64, at time.Time) error {
	return e.q.InsertTx(ctx, tx.Tx, StepArgs{StepID: stepID}, &river.InsertOpts{ScheduledAt: at, MaxAttempts: 15})
}

// StepArgs is the River job that runs one step when it is due.
type StepArgs struct {
	StepID int64 `json:"step_id"`
}

// Kind names the River job kind.
func (StepArgs) Kind() string { return "journey.step" }

// Worker returns the River worker of StepArgs jobs.
func (e *Engine) Worker() river.Worker[StepArgs] { return &stepWorker{e: e} }

type stepWorker struct {
	river.WorkerDefaults[StepArgs]
	e *Engine
}

func (w *stepWorker) Work(ctx context.Context, job *river.Job[StepArgs]) error {
	return w.e.Run(ctx, job.Args.StepID)
}

// errEarly carries how long a step that was woken early must wait.
type errEarly struct{ wait time.Duration }

func (e errEarly) Error() string { return "journey: step not due for " + e.wait.String() }

// Run runs step id if it is scheduled and due: its handler decides, and the
// step becomes sent or skipped in the same transaction. A step not yet due
// (its job ran early, or it was moved) snoozes the job until it is.
func (e *Engine) Run(ctx context.Context, id int64) error {
	err := db.InTx(ctx, e.db, func(tx *sqlx.Tx) error {
		st, err := lockStep(ctx, tx, id)
		if err != nil {
			return err
		}
		if st.State != StateScheduled {
			return nil // done before: a retry, a second job, or a hastened step
		}
		now := e.now()
		if st.DueAt.After(now) {
			return errEarly{wait: st.DueAt.Sub(now)}
		}
		h := e.handlers[st.Kind]
		if h == nil {
			return river.JobCancel(fmt.Errorf("journey: no handler for step kind %q", st.Kind))
		}
		out, err := h(ctx, tx, st)
		if err != nil {
			return fmt.Errorf("journey: %s step %d: %w", st.Kind, st.ID, err)
		}
		return finishStep(ctx, tx, st.ID, out, now)
	})
	var early errEarly
	switch {
	case errors.As(err, &early):
		return river.JobSnooze(early.wait)
	case fault.Is(err, fault.NotFound):
		return river.JobCancel(err)
	}
	return err
}

// QueueMail queues the step's email: kind, to the step's customer, about
// its order and shipment, keyed by the step (so a retry queues it once),
// marked marketing so delivery checks consent and paces it.
func (e *Engine) QueueMail(ctx context.Context, tx *sqlx.Tx, st Step, kind string) (Outcome, error) {
	email, err := customerEmail(ctx, tx, st.CustomerID)
	if err != nil {
		return Outcome{}, err
	}
	id, err := e.outbox.QueueID(ctx, tx, mail.Queued{Kind: kind, DedupeKey: st.Key, To: email,
		CustomerID: st.CustomerID, OrderID: st.OrderID, ShipmentID: st.ShipmentID, Marketing: true})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{MessageID: id}, nil
}
