// Package bench is the machinery behind `make bench` (cmd/bench): a load
// generator with exact latency percentiles, the TechEmpower-style reference
// server the portal is compared with, an SMTP sink that counts mail, and the
// report that compares each run with the previous one.
package bench

import (
	"math"
	"sort"
	"time"
)

// Latencies is every latency recorded by a run. Keeping them all (about a
// million values at most) costs a few megabytes and makes the percentiles
// exact rather than bucketed.
type Latencies struct {
	v      []time.Duration
	sorted bool
}

// Add records one latency.
func (l *Latencies) Add(d time.Duration) {
	l.v = append(l.v, d)
	l.sorted = false
}

// Merge adds every latency of o.
func (l *Latencies) Merge(o *Latencies) {
	l.v = append(l.v, o.v...)
	l.sorted = false
}

// Count is the number of latencies recorded.
func (l *Latencies) Count() int { return len(l.v) }

// Percentile is the nearest-rank p-th percentile (0 < p <= 100): the
// smallest recorded latency that at least p% of all latencies do not exceed.
// It is 0 when nothing was recorded.
func (l *Latencies) Percentile(p float64) time.Duration {
	if len(l.v) == 0 {
		return 0
	}
	if !l.sorted {
		sort.Slice(l.v, func(i, j int) bool { return l.v[i] < l.v[j] })
		l.sorted = true
	}
	rank := int(math.Ceil(p / 100 * float64(len(l.v))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(l.v) {
		rank = len(l.v)
	}
	return l.v[rank-1]
}

// Max is the largest latency recorded.
func (l *Latencies) Max() time.Duration { return l.Percentile(100) }

// Summary is what a report shows of a set of latencies, in milliseconds.
type Summary struct {
	P50, P90, P99, Max float64
}

// Summarize returns the p50, p90, p99 and maximum in milliseconds.
func (l *Latencies) Summarize() Summary {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Summary{P50: ms(l.Percentile(50)), P90: ms(l.Percentile(90)), P99: ms(l.Percentile(99)), Max: ms(l.Max())}
}
