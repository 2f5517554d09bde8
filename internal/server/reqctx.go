package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// requestContext is a request's context: no values, a deadline, and
// cancelled when the request ends. It is context.WithDeadline made only
// when something needs it: a request that never waits on Done (a page
// served from memory, such as the referral landing or a kept order page)
// costs one small allocation instead of a timer, its channel and three
// allocations, and no timer to stop at the end.
//
// Once made, the real context answers Done, Err and Value, so a context
// derived from this one (database/sql's per transaction, lib/pq's per
// query) joins the real one's children as it would with
// context.WithDeadline, instead of watching it from a goroutine.
type requestContext struct {
	deadline time.Time
	real     atomic.Pointer[deadlineCtx]

	mu     sync.Mutex
	ended  bool
	cancel context.CancelFunc // of real; nil until made
}

// deadlineCtx is the real context, behind a pointer for atomic loads.
type deadlineCtx struct{ context.Context }

func newRequestContext(deadline time.Time) *requestContext {
	return &requestContext{deadline: deadline}
}

// make returns the real context, making it the first time: already
// cancelled when the request has ended (Done is then closed at once, as
// it would have been).
func (r *requestContext) make() context.Context {
	if d := r.real.Load(); d != nil {
		return d.Context
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.real.Load(); d != nil {
		return d.Context
	}
	ctx, cancel := context.WithDeadline(context.Background(), r.deadline)
	if r.ended {
		cancel()
	}
	r.cancel = cancel
	r.real.Store(&deadlineCtx{ctx})
	return ctx
}

// Deadline is the request's deadline.
func (r *requestContext) Deadline() (time.Time, bool) { return r.deadline, true }

// Done is closed at the deadline or when the request ends.
func (r *requestContext) Done() <-chan struct{} { return r.make().Done() }

// Err is context.Canceled once the request has ended, DeadlineExceeded
// once the deadline has passed, and nil before.
func (r *requestContext) Err() error {
	if d := r.real.Load(); d != nil {
		return d.Err()
	}
	r.mu.Lock()
	ended := r.ended
	r.mu.Unlock()
	if ended {
		return context.Canceled
	}
	if !time.Now().Before(r.deadline) {
		// Done must be closed whenever Err is not nil: make it (closed).
		return r.make().Err()
	}
	return nil
}

// Value has no values of its own; the real context, once made, answers
// the context package's own lookups (how a derived context finds its
// parent's cancellation).
func (r *requestContext) Value(key any) any {
	if d := r.real.Load(); d != nil {
		return d.Value(key)
	}
	return nil
}

// String names the context in panics and logs.
func (r *requestContext) String() string { return "server.requestContext" }

// end cancels the context when the request has been answered.
func (r *requestContext) end() {
	r.mu.Lock()
	r.ended = true
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
