package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestRequestContextEndsAsWithDeadlineWould(t *testing.T) {
	t.Run("nothing waited: ended, Err is Canceled and Done closed", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(time.Hour))
		if err := r.Err(); err != nil {
			t.Fatalf("Err before the end: %v", err)
		}
		if d, ok := r.Deadline(); !ok || d.IsZero() {
			t.Fatal("no deadline")
		}
		r.end()
		if err := r.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after the end: %v", err)
		}
		if !closed(r.Done()) {
			t.Fatal("Done open after the end")
		}
	})
	t.Run("waited on: Done closes at the end", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(time.Hour))
		done := r.Done()
		if closed(done) {
			t.Fatal("Done closed before the end")
		}
		r.end()
		if !closed(done) { // cancelling closes it before end returns
			t.Fatal("Done open after the end")
		}
		if err := r.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after the end: %v", err)
		}
	})
	t.Run("past its deadline: DeadlineExceeded, Done closed", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(-time.Millisecond))
		if err := r.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err past the deadline: %v", err)
		}
		if !closed(r.Done()) {
			t.Fatal("Done open past the deadline")
		}
		r.end()
		if err := r.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err after the end of an expired request: %v", err)
		}
	})
	t.Run("the deadline fires while waited on", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(20 * time.Millisecond))
		defer r.end()
		<-r.Done() // the test's own timeout bounds this, no timed assertion
		if err := r.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err: %v", err)
		}
	})
	t.Run("a context derived under values is cancelled with the request", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(time.Hour))
		// As settings and database/sql derive it: values, then a cancel.
		child, cancel := context.WithCancel(context.WithValue(r, ctxKey{}, "v"))
		defer cancel()
		if child.Value(ctxKey{}) != "v" {
			t.Fatal("lost a value")
		}
		if d, ok := child.Deadline(); !ok || !d.Equal(r.deadline) {
			t.Fatalf("child deadline %v %v", d, ok)
		}
		r.end()
		// At once, as a child of WithDeadline's context is: the child joined
		// the real context's children (through Value) instead of being
		// watched by a goroutine, which would close it some time later.
		if !closed(child.Done()) {
			t.Fatal("the child is still open after the end")
		}
		if !errors.Is(child.Err(), context.Canceled) {
			t.Fatalf("child Err: %v", child.Err())
		}
	})
	t.Run("a context derived after the end is cancelled at once", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(time.Hour))
		r.end()
		child, cancel := context.WithTimeout(r, time.Hour)
		defer cancel()
		if !closed(child.Done()) {
			t.Fatal("a child of an ended request is open")
		}
	})
	t.Run("AfterFunc runs at the end", func(t *testing.T) {
		r := newRequestContext(time.Now().Add(time.Hour))
		stop := context.AfterFunc(r, func() {})
		r.end()
		// stop reports false once the function has been started, which
		// cancelling does before end returns.
		if stop() {
			t.Fatal("the function was not started at the end")
		}
	})
}
