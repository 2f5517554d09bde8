package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/settings"
)

// DeliveryOptions tunes delivery.
type DeliveryOptions struct {
	// From is the sender address, e.g. "Our store <hello@example.com>".
	From string
	// OnState, when set, is called after each change of a message's state
	// with its kind and "sent", "kept", "failed", "skipped", "deferred" or
	// "retry" (metrics: emails by state).
	OnState func(kind, state string)
	// Now is the clock of pacing and of sent_at; nil means time.Now. Tests
	// drive a whole journey with a fake one.
	Now func() time.Time
	// Settings, when set, serves the store settings that composers and
	// finishers read through the pool from memory while they are current:
	// each email then costs one read of the cache epochs instead of one
	// read per settings section.
	Settings *settings.Cache
	// MaxSending bounds the messages handed to the mail server at once
	// (10). Messages wait for the server under their row locks, held by
	// their batch's transaction (one pooled connection a batch, at most
	// maxBatches of them; a marketing message, sent alone, holds one of
	// its own), so a slow or hanging mail server takes a bounded number of
	// connections from the pages, however many delivery workers there are.
	MaxSending int
}

// defaultMaxSending is DeliveryOptions.MaxSending when not set.
const defaultMaxSending = 10

// Delivery renders and sends queued messages; it is the worker of the
// "mail.deliver" job.
type Delivery struct {
	db        *sqlx.DB
	sender    Sender
	composers map[string]Composer
	opts      DeliveryOptions

	stmts   *deliveryStatements
	batches *batcher
	// sending holds a token for each message handed to the mail server.
	sending chan struct{}

	// unrecorded holds the messages the mail server accepted whose "sent"
	// could not be committed (the database went away in between): their
	// retry in this process records them without sending them again. The
	// value is the content that was sent when it was rendered for that
	// attempt (nil when it was stored before), so the retry stores what the
	// shopper got instead of composing it again.
	mu         sync.Mutex
	unrecorded map[int64]*Content
}

// acceptedBefore reports that the mail server already took message id
// although the database does not know it yet, and with what content.
func (d *Delivery) acceptedBefore(id int64) (*Content, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.unrecorded[id]
	return c, ok
}

// remember notes that the server took message id (content c when it was
// rendered for this attempt) but the database does not know it.
func (d *Delivery) remember(id int64, c *Content) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unrecorded[id] = c
}

// forget clears what remember noted once the database knows.
func (d *Delivery) forget(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.unrecorded, id)
}

// NewDelivery returns the delivery worker. A nil sender keeps every message
// (status "kept") for the dev mailbox instead of sending it. composers maps
// each message kind to what renders it; a message of another kind fails.
func NewDelivery(db *sqlx.DB, sender Sender, composers map[string]Composer, opts DeliveryOptions) *Delivery {
	if opts.OnState == nil {
		opts.OnState = func(string, string) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSending <= 0 {
		opts.MaxSending = defaultMaxSending
	}
	d := &Delivery{db: db, sender: sender, composers: composers, opts: opts, stmts: newDeliveryStatements(db),
		sending: make(chan struct{}, opts.MaxSending), unrecorded: map[int64]*Content{}}
	d.batches = &batcher{d: d}
	return d
}

// Register adds the delivery worker to q; call before q.Start.
func (d *Delivery) Register(q *jobs.Queue) { river.AddWorker(q.Workers(), d.Worker()) }

// Worker returns the River worker of DeliverArgs jobs.
func (d *Delivery) Worker() river.Worker[DeliverArgs] { return &deliverWorker{d: d} }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	d *Delivery
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.d.deliver(ctx, job.Args.MessageID, job.Attempt >= job.MaxAttempts)
}

// deliver renders message id if needed, then sends it once. lastTry says
// that River will not retry a failure, so the message is marked failed.
//
// A message rendered here is stored in the same commit as the outcome of
// its first attempt (sent, or queued for a retry), not in one of its own
// before sending: one synchronous commit per email instead of two. Every
// retry after a failed attempt still sends the stored words and magic link.
// What a crash of the process between the server accepting the message and
// that commit does is unchanged (the message is sent again, as SMTP is
// at-least-once), except that the second copy is composed anew (its own
// sign-in link; the first copy's link was committed when it was issued and
// keeps working).
//
// Messages are delivered in batches (see batcher), except marketing mail,
// which deliverOne sends alone: its pacing locks its customer.
func (d *Delivery) deliver(ctx context.Context, id int64, lastTry bool) error {
	if err := d.batches.deliver(ctx, id, lastTry); !errors.Is(err, errOneByOne) {
		return err
	}
	return d.deliverOne(ctx, id, lastTry)
}

// deliverOne is deliver for one message alone.
func (d *Delivery) deliverOne(ctx context.Context, id int64, lastTry bool) error {
	m, err := d.stmts.message(ctx, nil, id)
	if fault.Is(err, fault.NotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if m.Status != StatusQueued {
		d.forget(id) // its "sent" did commit after all
		return nil   // done before: a retry or a second instance
	}
	if m.Marketing {
		// Decide before rendering, so a message held for days is composed
		// with the facts of the day it goes out.
		v, err := pace(ctx, d.db, m, d.opts.Now(), false)
		if err != nil {
			return err
		}
		if v.skip != "" || !v.until.IsZero() {
			return d.hold(ctx, d.db, m, v)
		}
	}
	fresh, accepted := d.acceptedBefore(id)
	if !m.RenderedAt.Valid && !accepted {
		if fresh, err = d.render(ctx, m, lastTry); err != nil {
			return err
		}
	}
	return d.send(ctx, id, lastTry, fresh)
}

// render composes m; send stores the content with the outcome of the
// attempt, before any retry, so every retry sends the same words and the
// same magic link. A compose error is handled here and returned.
func (d *Delivery) render(ctx context.Context, m Message, lastTry bool) (*Content, error) {
	composer, ok := d.composers[m.Kind]
	if !ok {
		return nil, d.finish(ctx, m, StatusFailed, Permanent(fmt.Errorf("mail: no composer for kind %q", m.Kind)))
	}
	if d.opts.Settings != nil {
		// When the epochs cannot be read the database is failing; the
		// composer then reads the settings itself, and fails as it will.
		if cctx, _, err := d.opts.Settings.Begin(ctx); err == nil {
			ctx = cctx
		}
	}
	c, err := composer.Compose(ctx, m)
	if err != nil {
		switch {
		case IsSkip(err):
			return nil, d.finish(ctx, m, StatusSkipped, err)
		case IsPermanent(err) || lastTry:
			return nil, d.finish(ctx, m, StatusFailed, err)
		}
		if serr := setStatus(ctx, d.db, m.ID, StatusQueued, false, err.Error(), d.opts.Now()); serr != nil {
			return nil, errors.Join(err, serr)
		}
		d.opts.OnState(m.Kind, "retry")
		return nil, fmt.Errorf("mail: compose message %d: %w", m.ID, err)
	}
	return &c, nil
}

// finish ends a message that will not be sent and cancels its job.
func (d *Delivery) finish(ctx context.Context, m Message, status string, cause error) error {
	return d.finishIn(ctx, d.db, m, status, cause)
}

// finishIn is finish through q, a transaction holding the message's lock.
func (d *Delivery) finishIn(ctx context.Context, q sqlx.ExecerContext, m Message, status string, cause error) error {
	if err := setStatus(ctx, q, m.ID, status, false, cause.Error(), d.opts.Now()); err != nil {
		return errors.Join(cause, err)
	}
	d.opts.OnState(m.Kind, status)
	return river.JobCancel(cause)
}

// hold applies pacing's verdict v to marketing message m through q: skip
// it for good, or snooze its job until v.until (a snooze costs no attempt).
func (d *Delivery) hold(ctx context.Context, q sqlx.ExecerContext, m Message, v verdict) error {
	if v.skip != "" {
		return d.finishIn(ctx, q, m, StatusSkipped, Skip(errors.New("mail: "+v.skip)))
	}
	if _, err := q.ExecContext(ctx, `UPDATE messages SET deferred_until = $2 WHERE id = $1`, m.ID, v.until); err != nil {
		return fmt.Errorf("mail: defer message %d: %w", m.ID, err)
	}
	d.opts.OnState(m.Kind, "deferred")
	return river.JobSnooze(max(v.until.Sub(d.opts.Now()), time.Second))
}

// send hands the message to the sender while holding its row lock, so two
// workers can never send one message at the same time; fresh, when not nil,
// is the content rendered for this attempt, stored with its outcome. When
// the server accepted it but the commit failed (the database went away),
// the retry in this process records it without sending it again; only a
// crash of the process in that window resends it: SMTP offers no better
// than at-least-once.
//
// A marketing message is paced again under the lock of its customer's row,
// so that of two marketing messages due together only one goes and the
// other is deferred by the frequency cap.
func (d *Delivery) send(ctx context.Context, id int64, lastTry bool, fresh *Content) error {
	select {
	case d.sending <- struct{}{}:
		defer func() { <-d.sending }()
	case <-ctx.Done():
		return ctx.Err()
	}
	var result error
	var kind, state string
	var stored *Content // fresh, when this attempt stores it
	err := db.InTx(ctx, d.db, func(tx *sqlx.Tx) error {
		stored = nil
		m, err := d.stmts.message(ctx, tx, id)
		if err != nil {
			return err
		}
		if m.Status != StatusQueued {
			return nil
		}
		// A concurrent worker may have rendered it first; then its content wins.
		if fresh != nil && !m.RenderedAt.Valid {
			stored = fresh
			m.Subject, m.HTML, m.Text, m.Headers = fresh.Subject, fresh.HTML, fresh.Text, fresh.Headers
		}
		now := d.opts.Now()
		if m.Marketing {
			if stored != nil {
				// Kept even when pacing holds the message, as it was
				// rendered for today's facts (a rare path: a second pass).
				if _, err := saveRendered(ctx, tx, id, *stored); err != nil {
					return err
				}
				stored = nil
			}
			v, err := pace(ctx, tx, m, now, true)
			if err != nil {
				return err
			}
			if v.skip != "" || !v.until.IsZero() {
				// Commit the deferral or the skip; result tells River.
				result = d.hold(ctx, tx, m, v)
				if _, ok := errors.AsType[*rivertype.JobSnoozeError](result); ok {
					return nil
				}
				if _, ok := errors.AsType[*rivertype.JobCancelError](result); ok {
					return nil
				}
				return result
			}
		}
		kind = m.Kind
		if d.sender == nil {
			state = StatusKept
			return d.stmts.recordIn(ctx, tx, id, StatusKept, false, "", now, stored)
		}
		var sendErr error
		if _, accepted := d.acceptedBefore(id); !accepted {
			sendErr = d.sender.Send(ctx, d.opts.From, m)
		}
		switch {
		case sendErr == nil:
			state = StatusSent
			return d.stmts.recordIn(ctx, tx, id, StatusSent, true, "", now, stored)
		case IsPermanent(sendErr) || lastTry:
			state, result = StatusFailed, river.JobCancel(sendErr)
			return d.stmts.recordIn(ctx, tx, id, StatusFailed, true, sendErr.Error(), now, stored)
		default:
			state, result = "retry", fmt.Errorf("mail: send message %d: %w", id, sendErr)
			return d.stmts.recordIn(ctx, tx, id, StatusQueued, true, sendErr.Error(), now, stored)
		}
	})
	if err != nil {
		if state == StatusSent {
			d.remember(id, stored)
		}
		if result != nil {
			return errors.Join(result, err)
		}
		return err
	}
	d.forget(id)
	if state != "" {
		d.opts.OnState(kind, state)
	}
	return result
}
