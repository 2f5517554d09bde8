package db

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// free checks that all n places of g are free: n Enters pass at once.
func free(t testing.TB, g *Gate, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		if err := g.Enter(ctx); err != nil {
			t.Fatalf("place %d of %d is not free: %v", i+1, n, err)
		}
	}
	if w := g.Waiting(); w != 0 {
		t.Fatalf("%d still waiting", w)
	}
	for range n {
		g.Leave()
	}
}

func TestGateLetsWaitersInInArrivalOrder(t *testing.T) {
	g := NewGate(1)
	ctx := context.Background()
	if err := g.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	const waiters = 20
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Enter(ctx); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			g.Leave()
		}()
		// The next one comes only once this one is in line.
		for g.Waiting() != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	g.Leave()
	wg.Wait()
	for i, w := range order {
		if w != i {
			t.Fatalf("entered in the order %v, want 0..%d", order, waiters-1)
		}
	}
	free(t, g, 1)
}

func TestGateHoldsAtMostItsPlaces(t *testing.T) {
	const places = 3
	g := NewGate(places)
	var in, most atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := g.Enter(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(10 * time.Microsecond)
				in.Add(-1)
				g.Leave()
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > places {
		t.Fatalf("%d inside at once, gate of %d", m, places)
	}
	free(t, g, places)
}

// TestGateKeepsItsPlacesWhenWaitersGiveUp races waiters whose context ends
// against holders leaving: a waiter let in just as its context ended must
// pass its place on, and one that gave up must leave the line.
func TestGateKeepsItsPlacesWhenWaitersGiveUp(t *testing.T) {
	const places = 2
	g := NewGate(places)
	var wg sync.WaitGroup
	var gaveUp atomic.Int32
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				ctx, cancel := context.WithCancel(context.Background())
				if rand.IntN(2) == 0 {
					go cancel()
				}
				err := g.Enter(ctx)
				cancel()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Enter: %v", err)
					}
					gaveUp.Add(1)
					continue
				}
				g.Leave()
			}
		}()
	}
	wg.Wait()
	if gaveUp.Load() == 0 {
		t.Log("no waiter gave up this time")
	}
	free(t, g, places)
}

// TestGatePassesOnAPlaceGrantedAsItsWaiterGaveUp makes the holder leave,
// handing its place to the waiter, just after the waiter's context ended:
// the waiter reports that it gave up, so the place must go on.
func TestGatePassesOnAPlaceGrantedAsItsWaiterGaveUp(t *testing.T) {
	g := NewGate(1)
	bg := context.Background()
	for attempt := 1; ; attempt++ {
		if err := g.Enter(bg); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(bg)
		res := make(chan error, 1)
		go func() { res <- g.Enter(ctx) }()
		for g.Waiting() != 1 {
			time.Sleep(time.Millisecond)
		}
		g.mu.Lock()
		cancel()
		// Time for the waiter to wake to its ended context and wait for
		// the lock; should it still be asleep, it may take the place
		// instead, and the round is tried again.
		time.Sleep(20 * time.Millisecond)
		g.leaveLocked()
		g.mu.Unlock()
		if err := <-res; err == nil {
			g.Leave()
			if attempt == 20 {
				t.Fatal("the waiter never woke to its ended context first")
			}
			continue
		}
		free(t, g, 1)
		return
	}
}
