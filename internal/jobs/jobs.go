// Package jobs runs Aftercare's background work on River over the shared
// *sql.DB. Services insert jobs in the transaction of the write that causes
// them (InsertTx), so a committed write always gets its reactions and a
// rolled-back one never does. Feature packages register their workers with
// Workers() before Start.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
)

// QueueMail is the River queue of email delivery (mail.deliver jobs), with
// its own workers: a burst of email neither waits behind the other jobs nor
// takes their slots. Every queue started here works it.
const QueueMail = "mail"

// Options tunes the queue; zero values take production defaults.
type Options struct {
	// Concurrency is the number of workers of the default queue (10).
	Concurrency int
	// MailConcurrency is the number of workers of QueueMail (600). A
	// delivery job only hands its message to a batch of the mail package
	// and waits for the batch's commit (see mail.Delivery), holding no
	// database connection meanwhile, so many cheap workers make batches
	// large: with 30 workers batches averaged 4 emails, with 200 about 35,
	// with 600 over 100 (a batch's commit frees its workers' slots at once,
	// so River also fetches and completes jobs by the hundred), and every
	// step cost less per email: the statements of a batch, River's fetch and
	// completion (each planned afresh per call), their round trips. How
	// many connections delivery holds is bounded by the delivery itself
	// (two batches), and how many messages are at the mail server at once
	// by mail.DeliveryOptions.MaxSending.
	MailConcurrency int
	PollInterval    time.Duration
	// RetryBase is the first retry delay; each later one doubles, capped at an hour.
	RetryBase time.Duration
	// JobTimeout bounds one run of an ordinary job (2 minutes); sweeps get
	// twice as long, for backfills.
	JobTimeout time.Duration
	// RescueAfter is when a job still marked running is taken to belong to
	// a dead process (or to have lost its completion in a database outage)
	// and is run again (5 minutes). It exceeds a sweep's timeout, so a live
	// job is never rescued.
	RescueAfter time.Duration
	// CompletedRetention is how long a completed job's row is kept (an
	// hour; River's default is a day). The outcome of what a job did is
	// recorded by the job itself (a message's status, a step's row), so
	// the row is only of use to look at recent work; at 2,000 emails a
	// second a day of them is 170 million rows that River's fetch, its
	// scheduler and autovacuum would wade through.
	CompletedRetention time.Duration
	Logger             *slog.Logger
}

// Queue inserts and works jobs.
type Queue struct {
	db       *sql.DB
	opts     Options
	inserter *river.Client[*sql.Tx]
	workers  *river.Workers
	periodic []*river.PeriodicJob
	runner   *river.Client[*sql.Tx]
	events   []func(*river.Event)
	sweeps   *sweepWorker
}

// New returns a queue that can insert jobs at once and work them after Start.
func New(db *sql.DB, opts Options) (*Queue, error) {
	if opts.Concurrency == 0 {
		opts.Concurrency = 10
	}
	if opts.MailConcurrency == 0 {
		opts.MailConcurrency = 600
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 15 * time.Second
	}
	if opts.JobTimeout == 0 {
		opts.JobTimeout = 2 * time.Minute
	}
	if opts.RescueAfter == 0 {
		opts.RescueAfter = 5 * time.Minute
	}
	if opts.CompletedRetention == 0 {
		opts.CompletedRetention = time.Hour
	}
	if opts.RescueAfter <= 2*opts.JobTimeout {
		return nil, fmt.Errorf("jobs: RescueAfter (%s) must exceed twice JobTimeout (%s), the longest a sweep runs", opts.RescueAfter, opts.JobTimeout)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	inserter, err := river.NewClient(riverdatabasesql.New(db), &river.Config{Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{db: db, opts: opts, inserter: inserter, workers: river.NewWorkers()}, nil
}

// Workers is the registry that feature packages add their workers to.
func (q *Queue) Workers() *river.Workers { return q.workers }

// AddPeriodic schedules a repeated sweep; call before Start.
func (q *Queue) AddPeriodic(j *river.PeriodicJob) { q.periodic = append(q.periodic, j) }

// OnEvent registers a function called for every finished job (metrics).
func (q *Queue) OnEvent(fn func(*river.Event)) { q.events = append(q.events, fn) }

// InsertTx inserts a job in tx; it runs only if tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := q.inserter.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// InsertManyTx inserts jobs in tx in one statement, however many there are;
// they run only if tx commits.
func (q *Queue) InsertManyTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if _, err := q.inserter.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("jobs: insert %d jobs: %w", len(params), err)
	}
	return nil
}

// Insert inserts a job outside any transaction.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := q.inserter.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// Start begins working jobs until ctx ends or Stop is called.
func (q *Queue) Start(ctx context.Context) error {
	runner, err := river.NewClient(riverdatabasesql.New(q.db), &river.Config{
		Logger:            q.opts.Logger,
		Workers:           q.workers,
		PeriodicJobs:      q.periodic,
		FetchPollInterval: q.opts.PollInterval,
		// A worker that frees a slot asks for the next job within 10 ms
		// (River waits 100 ms by default, which caps a busy queue at a few
		// dozen jobs a second).
		FetchCooldown: min(q.opts.PollInterval, 10*time.Millisecond),
		RetryPolicy:   backoff{base: q.opts.RetryBase},
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: q.opts.Concurrency},
			QueueMail:          {MaxWorkers: q.opts.MailConcurrency},
		},
		JobTimeout: q.opts.JobTimeout,
		// A job left running by a process that died (kill -9, a lost
		// machine), or whose completion River could not record while the
		// database was away, is run again after this instead of River's
		// default hour.
		RescueStuckJobsAfter:        q.opts.RescueAfter,
		CompletedJobRetentionPeriod: q.opts.CompletedRetention,
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	q.runner = runner
	if len(q.events) > 0 {
		ch, cancel := runner.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled, river.EventKindJobSnoozed)
		go func() {
			defer cancel()
			for ev := range ch {
				for _, fn := range q.events {
					fn(ev)
				}
			}
		}()
	}
	if err := runner.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop waits for running jobs to finish, or cancels them when ctx ends.
func (q *Queue) Stop(ctx context.Context) error {
	if q.runner == nil {
		return nil
	}
	err := q.runner.Stop(ctx)
	if ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return q.runner.StopAndCancel(cctx)
	}
	return err
}

// backoff doubles the delay from base at each attempt, capped at an hour.
type backoff struct{ base time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base
	for i := 1; i < job.Attempt && d < time.Hour; i++ {
		d *= 2
	}
	return time.Now().Add(min(d, time.Hour))
}
