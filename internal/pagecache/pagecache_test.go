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
