package db

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Gate admits at most n holders at a time and lets waiters in strictly in
// the order they came.
//
// It stands in front of the pool for the hot statements (Stmt): when every
// connection is busy, database/sql hands a freed one to a random waiter
// (Go 1.23 and later), so under load a request's wait for a connection is
// a lottery and the slowest percent wait three times the mean. Behind the
// gate the pool has a connection for every holder, and the wait is a queue.
// Holding PostgreSQL to n concurrent hot statements also spares it the
// context switches and lock traffic of many backends fighting for a few
// cores, and leaves the rest of the pool to jobs and writes.
type Gate struct {
	mu    sync.Mutex
	free  int
	queue []chan struct{} // waiters, first come first; each is let in by one send
}

// waiters are the channels of past waits, reused: a busy gate makes one
// wait per request.
var waiters = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// NewGate returns a gate of n places (at least 1).
func NewGate(n int) *Gate {
	return &Gate{free: max(n, 1)}
}

// Enter waits for a place, in arrival order, or until ctx ends; on nil the
// caller must Leave.
func (g *Gate) Enter(ctx context.Context) error {
	g.mu.Lock()
	if g.free > 0 && len(g.queue) == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	ch := waiters.Get().(chan struct{})
	g.queue = append(g.queue, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		waiters.Put(ch)
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, w := range g.queue {
		if w == ch {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			waiters.Put(ch)
			return ctx.Err()
		}
	}
	// Let in just as ctx ended (the send is made under the lock, so it is
	// there to take): the place is ours, so pass it on.
	<-ch
	waiters.Put(ch)
	g.leaveLocked()
	return ctx.Err()
}

// Leave gives the place back: to the first waiter, if any.
func (g *Gate) Leave() {
	g.mu.Lock()
	g.leaveLocked()
	g.mu.Unlock()
}

func (g *Gate) leaveLocked() {
	if len(g.queue) == 0 {
		g.free++
		return
	}
	ch := g.queue[0]
	// Shift rather than reslice: the line stays in one array, which
	// appends then reuse; it is as long as the requests waiting, dozens.
	n := copy(g.queue, g.queue[1:])
	g.queue[n] = nil
	g.queue = g.queue[:n]
	ch <- struct{}{}
}

// Waiting is how many are waiting to enter.
func (g *Gate) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// gates holds the gate of each pool Open made with Options.HotStatements.
// A process opens one pool (tests a few), so entries are never removed.
var gates sync.Map // *sqlx.DB -> *Gate

// GateOf is pool's gate, nil when it has none: for metrics and tests.
func GateOf(pool *sqlx.DB) *Gate {
	if g, ok := gates.Load(pool); ok {
		return g.(*Gate)
	}
	return nil
}
