package journey_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/notify"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/stripemock"
	"github.com/aftercare/aftercare/reviews"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const base = "https://care.example.test"

var testKeys = []config.SigningKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}

// clock is the journey's fake time: it only moves when the test says so.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// sent is an email as the fake mail server got it, and when.
type sent struct {
	At  time.Time
	Msg mail.Message
}

// outbox is a mail.Sender that keeps what it is given.
type outbox struct {
	clock *clock
	mu    sync.Mutex
	got   []sent
}

func (o *outbox) Send(_ context.Context, _ string, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, sent{At: o.clock.Now(), Msg: m})
	return nil
}

func (o *outbox) all() []sent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]sent(nil), o.got...)
}

// tap records the event subscribers, so the world can run their reactions
// itself, and passes them on to the bus, so Emit inserts their jobs.
type tap struct {
	bus  *events.Bus
	subs map[string]events.Handler
}

func (t *tap) Subscribe(kind, name string, h events.Handler) {
	t.subs[name] = h
	t.bus.Subscribe(kind, name, h)
}

// world is the whole post-purchase machinery over one database with a fake
// clock: commerce records orders and emits events, the journey and reviews
// react, delivery paces and sends. No River client runs: the world works
// the jobs itself in the order of their scheduled times, moving the clock
// to each, so months pass in milliseconds.
type world struct {
	t        *testing.T
	db       *sqlx.DB
	clock    *clock
	commerce *commerce.Service
	engine   *journey.Engine
	reviews  *reviews.Service
	delivery *mail.Delivery
	mailbox  *outbox
	subs     map[string]events.Handler
	signer   *journey.Links
	returns  *fakeReturns
}

// fakeReturns is the returns feature's answer, set by the test.
type fakeReturns struct{ open map[int64]bool }

func (f *fakeReturns) OpenReturns(_ context.Context, orderID int64) (bool, error) {
	return f.open[orderID], nil
}

type worldOptions struct {
	stripe *client.API
}

func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, db: d, clock: &clock{now: time.Now().UTC().Truncate(time.Second)}, subs: map[string]events.Handler{},
		returns: &fakeReturns{open: map[int64]bool{}}}
	w.mailbox = &outbox{clock: w.clock}
	bus := events.New(d, q)
	sub := &tap{bus: bus, subs: w.subs}
	outbox := mail.NewOutbox(q)
	w.commerce = commerce.NewService(d, outbox).WithEvents(bus)
	w.engine = journey.NewEngine(d, q, outbox, journey.Options{Now: w.clock.Now, Returns: w.returns, Stripe: o.stripe})
	w.engine.Subscribe(sub)
	reviews.NewRequests(w.engine).Subscribe(sub)
	w.reviews = reviews.NewService(d, bus, w.clock.Now)
	links := auth.NewLinks(d, testKeys, base)
	renderer, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	composers := notify.Composers(d, links, renderer, base)
	for k, c := range w.engine.Composers(links, renderer, base) {
		composers[k] = c
	}
	for k, c := range reviews.Composers(d, w.engine, links, renderer, base) {
		composers[k] = c
	}
	w.signer = journey.NewLinks(testKeys, base)
	mail.Decorate(composers, journey.NewFinisher(d, w.signer, notify.KindLoginLink))
	w.delivery = mail.NewDelivery(d, w.mailbox, composers, mail.DeliveryOptions{From: "Shop <care@example.test>", Now: w.clock.Now})
	return w
}

func (w *world) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.db.Exec(query, args...); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

type jobRow struct {
	ID          int64     `db:"id"`
	Kind        string    `db:"kind"`
	Args        []byte    `db:"args"`
	ScheduledAt time.Time `db:"scheduled_at"`
	Attempt     int       `db:"attempt"`
	MaxAttempts int       `db:"max_attempts"`
}

// runUntil works every job due up to until, each at its own time, then
// leaves the clock at until.
func (w *world) runUntil(until time.Time) {
	w.t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		if i > 10000 {
			w.t.Fatal("more than 10000 jobs: something loops")
		}
		var j jobRow
		err := w.db.Get(&j, `SELECT id, kind, args, scheduled_at, attempt, max_attempts FROM river_job
			WHERE state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= $1
			ORDER BY scheduled_at, id LIMIT 1`, until)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			w.t.Fatal(err)
		}
		w.clock.set(j.ScheduledAt)
		w.settle(j, w.work(ctx, j))
	}
	w.clock.set(until)
}

// run works what is due now: the clock starts at the real time, and jobs
// that commerce just inserted carry the database's time.
func (w *world) run() {
	w.t.Helper()
	w.clock.set(time.Now())
	w.runUntil(w.clock.Now())
}

func (w *world) work(ctx context.Context, j jobRow) error {
	row := &rivertype.JobRow{ID: j.ID, Kind: j.Kind, EncodedArgs: j.Args, Attempt: j.Attempt + 1, MaxAttempts: j.MaxAttempts}
	switch j.Kind {
	case "event.react":
		var a events.ReactArgs
		if err := json.Unmarshal(j.Args, &a); err != nil {
			return err
		}
		h := w.subs[a.Subscriber]
		if h == nil {
			return fmt.Errorf("no subscriber %s", a.Subscriber)
		}
		return db.InTx(ctx, w.db, func(tx *sqlx.Tx) error { return h(ctx, tx, a.Event) })
	case "journey.step":
		var a journey.StepArgs
		if err := json.Unmarshal(j.Args, &a); err != nil {
			return err
		}
		return w.engine.Worker().Work(ctx, &river.Job[journey.StepArgs]{JobRow: row, Args: a})
	case "mail.deliver":
		var a mail.DeliverArgs
		if err := json.Unmarshal(j.Args, &a); err != nil {
			return err
		}
		return w.delivery.Worker().Work(ctx, &river.Job[mail.DeliverArgs]{JobRow: row, Args: a})
	}
	return fmt.Errorf("unknown job kind %s", j.Kind)
}

// settle records a job's outcome as River would: done, cancelled, or
// snoozed until the clock plus its wait.
func (w *world) settle(j jobRow, err error) {
	w.t.Helper()
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		w.exec(`UPDATE river_job SET state = 'completed', finalized_at = now(), attempt = attempt + 1 WHERE id = $1`, j.ID)
	case errors.As(err, &snooze):
		w.exec(`UPDATE river_job SET state = 'scheduled', scheduled_at = $2 WHERE id = $1`, j.ID, w.clock.Now().Add(snooze.Duration))
	case errors.As(err, &cancel):
		w.exec(`UPDATE river_job SET state = 'cancelled', finalized_at = now(), attempt = attempt + 1 WHERE id = $1`, j.ID)
	default:
		w.t.Fatalf("job %d (%s, %s) failed: %v", j.ID, j.Kind, j.Args, err)
	}
}

// stripeClient talks to a stripe-mock started for this test.
func stripeClient(t *testing.T) *client.API {
	t.Helper()
	s, err := stripemock.Start(context.Background())
	if err != nil {
		t.Fatalf("stripe-mock: %v", err)
	}
	t.Cleanup(s.Stop)
	return client.New("sk_test_123", stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(s.URL())}))
}
