package integrations

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/fault"
)

// ProcessArgs is the job that applies one stored webhook event.
type ProcessArgs struct {
	EventID int64 `json:"event_id"`
}

// Kind names the River job kind.
func (ProcessArgs) Kind() string { return "webhook.process" }

type processWorker struct {
	river.WorkerDefaults[ProcessArgs]
	in *Inbox
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	err := w.in.process(ctx, job.Args.EventID, job.Attempt >= job.MaxAttempts)
	if err != nil && final(err) {
		return river.JobCancel(err)
	}
	return err
}

// Process applies a stored event once, as its job does: on success the
// event is marked processed with the provider's outcome; on failure the
// error is recorded on the event and returned (the job retries it, unless
// it is final: Permanent, fault.Invalid or fault.Conflict, which mark the
// event failed at once). Tests and tools call it to process an event
// without a running queue.
func (in *Inbox) Process(ctx context.Context, eventID int64) error {
	return in.process(ctx, eventID, false)
}

func (in *Inbox) process(ctx context.Context, eventID int64, lastAttempt bool) error {
	ev, err := eventByID(ctx, in.db, eventID)
	if fault.KindOf(err) == fault.NotFound {
		return Permanent(err) // deleted since; nothing to do
	}
	if err != nil {
		return err
	}
	p, ok := in.providers[ev.Provider]
	if !ok {
		err := Permanent(fmt.Errorf("no %s integration is wired", ev.Provider))
		return in.fail(ctx, ev, err, true)
	}
	outcome, err := safeApply(ctx, p, ev)
	if err != nil {
		return in.fail(ctx, ev, err, lastAttempt || final(err))
	}
	if err := markProcessed(context.WithoutCancel(ctx), in.db, ev.ID, outcome); err != nil {
		return err
	}
	in.log.Info("webhook processed", "provider", ev.Provider, "event", ev.EventID, "topic", ev.Topic, "outcome", outcome)
	return nil
}

// safeApply applies ev, turning a panic (a provider's bug meeting an odd
// payload) into a permanent failure recorded on the event, not a crash of
// the job with nothing to show in the admin.
func safeApply(ctx context.Context, p Provider, ev Event) (outcome string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("%s %s: panic: %v", ev.Provider, ev.Topic, r))
		}
	}()
	return p.Apply(ctx, ev)
}

// fail records err on the event and returns it.
func (in *Inbox) fail(ctx context.Context, ev Event, err error, gaveUp bool) error {
	in.log.Warn("webhook failed", "provider", ev.Provider, "event", ev.EventID, "topic", ev.Topic, "error", err, "gave_up", gaveUp)
	// The record must land even when the job's context ran out.
	if merr := markFailed(context.WithoutCancel(ctx), in.db, ev.ID, err.Error(), gaveUp); merr != nil {
		return fmt.Errorf("%w (and: %v)", err, merr)
	}
	return err
}

// final reports whether no retry can fix err: bad data in the event, or a
// conflict with what is recorded.
func final(err error) bool {
	if IsPermanent(err) {
		return true
	}
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Conflict:
		return true
	}
	return false
}
