package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// SweepArgs is the job of one named repeated sweep.
type SweepArgs struct {
	Name string `json:"name"`
}

// Kind names the River job kind.
func (SweepArgs) Kind() string { return "sweep" }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	fns     map[string]func(context.Context) error
	timeout time.Duration
}

// Timeout lets a sweep run twice as long as an ordinary job: a first
// backfill (the dashboard's rollups of a large store) takes minutes. It stays
// under the queue's RescueAfter, so a live sweep is never rescued.
func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return w.timeout }

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	fn, ok := w.fns[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("jobs: no sweep named %q", job.Args.Name))
	}
	return fn(ctx)
}

// Every runs fn every interval (and once at start). River's leader enqueues
// periodic jobs, so with N instances each sweep still runs once per interval.
// Call before Start.
func (q *Queue) Every(name string, interval time.Duration, fn func(context.Context) error) {
	if q.sweeps == nil {
		q.sweeps = &sweepWorker{fns: map[string]func(context.Context) error{}, timeout: 2 * q.opts.JobTimeout}
		river.AddWorker(q.workers, q.sweeps)
	}
	q.sweeps.fns[name] = fn
	q.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return SweepArgs{Name: name}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: interval}}
	}, &river.PeriodicJobOpts{RunOnStart: true}))
}
