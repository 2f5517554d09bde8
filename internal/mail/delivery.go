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
}

// Delivery renders and sends queued messages; it is the worker of the
// "mail.deliver" job.
type Delivery struct {
	db        *sqlx.DB
	sender    Sender
	composers map[string]Composer
	opts      DeliveryOptions

	// unrecorded holds the messages the mail server accepted whose "sent"
	// could not be committed (the database went away in between): their
	// retry in this process records them without sending them again.
	mu         sync.Mutex
	unrecorded map[int64]bool
}

// accepted reports, and with forget clears, that the mail server already
// took message id although the database does not know it yet.
func (d *Delivery) accepted(id int64, set, forget bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	was := d.unrecorded[id]
	switch {
	case set:
		d.unrecorded[id] = true
	case forget:
		delete(d.unrecorded, id)
	}
	return was
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
	return &Delivery{db: db, sender: sender, composers: composers, opts: opts, unrecorded: map[int64]bool{}}
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
func (d *Delivery) deliver(ctx context.Context, id int64, lastTry bool) error {
	m, err := getMessage(ctx, d.db, id, false)
	if fault.Is(err, fault.NotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if m.Status != StatusQueued {
		d.accepted(id, false, true) // its "sent" did commit after all
		return nil                  // done before: a retry or a second instance
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
	if !m.RenderedAt.Valid {
		if err := d.render(ctx, m, lastTry); err != nil {
			return err
		}
	}
	return d.send(ctx, id, lastTry)
}

// render composes m and stores the content before any attempt to send, so
// every retry sends the same words and the same magic link.
func (d *Delivery) render(ctx context.Context, m Message, lastTry bool) error {
	composer, ok := d.composers[m.Kind]
	if !ok {
		return d.finish(ctx, m, StatusFailed, Permanent(fmt.Errorf("mail: no composer for kind %q", m.Kind)))
	}
	c, err := composer.Compose(ctx, m)
	if err != nil {
		switch {
		case IsSkip(err):
			return d.finish(ctx, m, StatusSkipped, err)
		case IsPermanent(err) || lastTry:
			return d.finish(ctx, m, StatusFailed, err)
		}
		if serr := setStatus(ctx, d.db, m.ID, StatusQueued, false, err.Error(), d.opts.Now()); serr != nil {
			return errors.Join(err, serr)
		}
		d.opts.OnState(m.Kind, "retry")
		return fmt.Errorf("mail: compose message %d: %w", m.ID, err)
	}
	// A concurrent worker may have rendered it first; then its content wins.
	if _, err := saveRendered(ctx, d.db, m.ID, c); err != nil {
		return err
	}
	return nil
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

// send hands the rendered message to the sender while holding its row lock,
// so two workers can never send one message at the same time. When the
// server accepted it but the commit failed (the database went away), the
// retry in this process records it without sending it again; only a crash
// of the process in that window resends it: SMTP offers no better than
// at-least-once.
//
// A marketing message is paced again under the lock of its customer's row,
// so that of two marketing messages due together only one goes and the
// other is deferred by the frequency cap.
func (d *Delivery) send(ctx context.Context, id int64, lastTry bool) error {
	var result error
	var kind, state string
	err := db.InTx(ctx, d.db, func(tx *sqlx.Tx) error {
		m, err := getMessage(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if m.Status != StatusQueued {
			return nil
		}
		now := d.opts.Now()
		if m.Marketing {
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
			return setStatus(ctx, tx, id, StatusKept, false, "", now)
		}
		var sendErr error
		if !d.accepted(id, false, false) {
			sendErr = d.sender.Send(ctx, d.opts.From, m)
		}
		switch {
		case sendErr == nil:
			state = StatusSent
			return setStatus(ctx, tx, id, StatusSent, true, "", now)
		case IsPermanent(sendErr) || lastTry:
			state, result = StatusFailed, river.JobCancel(sendErr)
			return setStatus(ctx, tx, id, StatusFailed, true, sendErr.Error(), now)
		default:
			state, result = "retry", fmt.Errorf("mail: send message %d: %w", id, sendErr)
			return setStatus(ctx, tx, id, StatusQueued, true, sendErr.Error(), now)
		}
	})
	if err != nil {
		if state == StatusSent {
			d.accepted(id, true, false)
		}
		if result != nil {
			return errors.Join(result, err)
		}
		return err
	}
	d.accepted(id, false, true)
	if state != "" {
		d.opts.OnState(kind, state)
	}
	return result
}
