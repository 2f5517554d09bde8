package bench

import (
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	var l Latencies
	// 1..100 ms in reverse order: the percentiles must not depend on order.
	for i := 100; i >= 1; i-- {
		l.Add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {99.5, 100 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := l.Percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestPercentileOfSmallAndMergedSets(t *testing.T) {
	var empty Latencies
	if empty.Percentile(99) != 0 || empty.Max() != 0 {
		t.Fatal("an empty set must report 0")
	}
	var a, b Latencies
	a.Add(10 * time.Millisecond)
	a.Add(30 * time.Millisecond)
	b.Add(20 * time.Millisecond)
	b.Add(40 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 4 {
		t.Fatalf("count %d, want 4", a.Count())
	}
	// Nearest rank of p50 over 4 values is the 2nd: 20 ms, not an average.
	if got := a.Percentile(50); got != 20*time.Millisecond {
		t.Errorf("p50 = %v, want 20ms", got)
	}
	// p90 of 4 values: rank ceil(3.6) = 4.
	if got := a.Percentile(90); got != 40*time.Millisecond {
		t.Errorf("p90 = %v, want 40ms", got)
	}
	a.Add(time.Millisecond) // adding after a sort must re-sort
	if got := a.Percentile(1); got != time.Millisecond {
		t.Errorf("p1 after add = %v, want 1ms", got)
	}
	s := a.Summarize()
	if s.Max != 40 || s.P50 != 20 {
		t.Errorf("summary %+v", s)
	}
}
