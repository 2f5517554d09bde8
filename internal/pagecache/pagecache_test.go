package pagecache

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLoadKeepsOneVersionPerOrder(t *testing.T) {
	c := New[string](0)
	calls := 0
	load := func(v string) func() (string, error) {
		return func() (string, error) { calls++; return v, nil }
	}
	ctx := WithKey(context.Background(), Key{Order: 7, Version: 1})
	for i := 0; i < 3; i++ {
		if got, _ := c.Load(ctx, 7, load("v1")); got != "v1" {
			t.Fatalf("got %q", got)
		}
	}
	if calls != 1 {
		t.Fatalf("loaded %d times for one version, want 1", calls)
	}
	// Any part of the key moving is a miss.
	for _, k := range []Key{{Order: 7, Version: 2}, {Order: 7, Version: 2, Settings: 1}, {Order: 7, Version: 2, Settings: 1, Catalog: 1}} {
		if got, _ := c.Load(WithKey(context.Background(), k), 7, load("new")); got != "new" {
			t.Fatalf("key %+v served the old value %q", k, got)
		}
	}
	if calls != 4 {
		t.Fatalf("loads = %d, want 4", calls)
	}
	// Without a key, or with another order's key, nothing is cached.
	c.Load(context.Background(), 7, load("x"))
	c.Load(ctx, 8, load("x"))
	if calls != 6 {
		t.Fatalf("loads = %d, want 6", calls)
	}
}

func TestLoadDoesNotKeepErrors(t *testing.T) {
	c := New[int](0)
	ctx := WithKey(context.Background(), Key{Order: 1})
	boom := errors.New("boom")
	if _, err := c.Load(ctx, 1, func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if got, err := c.Load(ctx, 1, func() (int, error) { return 5, nil }); err != nil || got != 5 {
		t.Fatalf("after an error: %v %v", got, err)
	}
}

func TestCacheStaysWithinItsSize(t *testing.T) {
	c := New[int](100)
	for id := int64(1); id <= 1000; id++ {
		c.Load(WithKey(context.Background(), Key{Order: id}), id, func() (int, error) { return 1, nil })
		if c.Len() > 100 {
			t.Fatalf("%d entries, more than 100", c.Len())
		}
	}
}

func TestMaxAgeExpires(t *testing.T) {
	c := New[int](0).WithMaxAge(20 * time.Millisecond)
	ctx := WithKey(context.Background(), Key{Order: 1})
	calls := 0
	load := func() (int, error) { calls++; return calls, nil }
	c.Load(ctx, 1, load)
	c.Load(ctx, 1, load)
	if calls != 1 {
		t.Fatalf("calls = %d before expiry", calls)
	}
	time.Sleep(30 * time.Millisecond)
	if got, _ := c.Load(ctx, 1, load); got != 2 {
		t.Fatalf("an entry older than its max age was served")
	}
}

func TestSpansCollectStabilityAndTheEarliestInstant(t *testing.T) {
	ctx, span := Track(context.Background())
	if span.Stable() || !span.Until().IsZero() {
		t.Fatal("a new span is stable or limited")
	}
	t0 := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	Until(ctx, t0.Add(time.Hour))
	Until(ctx, t0)
	Until(ctx, t0.Add(2*time.Hour))
	Stable(ctx)
	if !span.Stable() || !span.Until().Equal(t0) {
		t.Fatalf("stable %v until %v, want true and %v", span.Stable(), span.Until(), t0)
	}
	// Without a span nothing happens (and nothing panics).
	Stable(context.Background())
	Until(context.Background(), t0)
	if got := Earlier(time.Time{}, t0); !got.Equal(t0) {
		t.Fatalf("Earlier(never, t0) = %v", got)
	}
	if got := Earlier(t0, time.Time{}); !got.Equal(t0) {
		t.Fatalf("Earlier(t0, never) = %v", got)
	}
}

// TestAValueKeptForAWhileLimitsTheSectionMadeFromIt: a rendering made from a
// value with a maximum age must not outlive the value.
func TestAValueKeptForAWhileLimitsTheSectionMadeFromIt(t *testing.T) {
	c := New[string](0).WithMaxAge(time.Minute)
	key := WithKey(context.Background(), Key{Order: 7, Version: 1})
	ctx, span := Track(key)
	start := time.Now()
	c.Load(ctx, 7, func() (string, error) { return "v", nil })
	if u := span.Until(); u.Before(start.Add(time.Minute)) || u.After(time.Now().Add(time.Minute)) {
		t.Fatalf("after a load: until %v, want a minute after the load", u)
	}
	ctx, span = Track(key)
	c.Load(ctx, 7, func() (string, error) { t.Fatal("not served from the cache"); return "", nil })
	if span.Until().IsZero() || span.Until().After(time.Now().Add(time.Minute)) {
		t.Fatalf("after a hit: until %v", span.Until())
	}
	// Without a maximum age the cache says nothing about the clock.
	plain := New[string](0)
	ctx, span = Track(key)
	plain.Load(ctx, 7, func() (string, error) { return "v", nil })
	if !span.Until().IsZero() {
		t.Fatalf("until %v without a maximum age", span.Until())
	}
}

func TestLoadIfTreatsAStaleValueAsAMiss(t *testing.T) {
	c := New[int](0)
	ctx := WithKey(context.Background(), Key{Order: 7, Version: 1})
	loads := 0
	load := func() (int, error) { loads++; return loads, nil }
	fresh := func(v int) bool { return v >= 2 }
	c.LoadIf(ctx, 7, fresh, load) // 1, kept
	if v, _ := c.LoadIf(ctx, 7, fresh, load); v != 2 {
		t.Fatalf("a value fresh said no to was served: %d", v)
	}
	if v, _ := c.LoadIf(ctx, 7, fresh, load); v != 2 || loads != 2 {
		t.Fatalf("got %d after %d loads, want 2 from the cache", v, loads)
	}
}
