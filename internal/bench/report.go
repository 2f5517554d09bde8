package bench

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Metric names of a Record. Loads add "<name>.rps", "<name>.p50_ms",
// "<name>.p90_ms", "<name>.p99_ms" and "<name>.max_ms".
const (
	MPlaintextRPS = "plaintext.rps"
	MFortunesRPS  = "fortunes.rps"
	MOrderRPS     = "order_page.rps"
	MOrderP99     = "order_page.p99_ms"
	MReferralRPS  = "referral.rps"
	MSinglePerSec = "ingest_single.orders_per_s"
	MBatchPerSec  = "ingest_batch.orders_per_s"
	MJourneyRate  = "journey.jobs_per_s"
	MPeakRSS      = "server.peak_rss_mb"
	// The ratios to the reference run in the same minute, so they move less
	// with the machine's load than the raw rates do.
	MOrderVsFortunes    = "ratio.order_page_vs_fortunes"
	MReferralVsPlaintxt = "ratio.referral_vs_plaintext"
)

// AddRatios derives the ratios to the reference from the loads' rates.
func (r *Record) AddRatios() {
	if f := r.Metrics[MFortunesRPS]; f > 0 {
		r.Metrics[MOrderVsFortunes] = r.Metrics[MOrderRPS] / f
	}
	if p := r.Metrics[MPlaintextRPS]; p > 0 {
		r.Metrics[MReferralVsPlaintxt] = r.Metrics[MReferralRPS] / p
	}
}

// Record is one run of `make bench`, as kept in the history.
type Record struct {
	Date     string             `json:"date"`
	Commit   string             `json:"commit"`
	Size     string             `json:"size"`
	Label    string             `json:"label,omitempty"`
	Machine  Machine            `json:"machine"`
	Versions map[string]string  `json:"versions"`
	Commands []string           `json:"commands"`
	Metrics  map[string]float64 `json:"metrics"`
	Loads    []Result           `json:"loads"`
	Notes    []string           `json:"notes,omitempty"`
}

// AddLoad records a load run's figures under its name.
func (r *Record) AddLoad(res Result) {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	r.Loads = append(r.Loads, res)
	r.Metrics[res.Name+".rps"] = res.RPS
	r.Metrics[res.Name+".p50_ms"] = res.Latency.P50
	r.Metrics[res.Name+".p90_ms"] = res.Latency.P90
	r.Metrics[res.Name+".p99_ms"] = res.Latency.P99
	r.Metrics[res.Name+".max_ms"] = res.Latency.Max
	r.Metrics[res.Name+".errors"] = float64(res.Errors)
}

// Check is one target of issue 8 and whether the run met it.
type Check struct {
	Target string
	Got    string
	Met    bool
	Known  bool // false when the run lacks a figure the target needs
}

// Targets checks the run against the targets. They are reported,
// never asserted: the figures depend on the machine.
func Targets(m map[string]float64) []Check {
	var out []Check
	ratio := func(target, num, den string, min float64, extra func() (string, bool)) {
		n, ok1 := m[num]
		d, ok2 := m[den]
		if !ok1 || !ok2 || d == 0 {
			out = append(out, Check{Target: target, Got: "not measured"})
			return
		}
		r := n / d
		c := Check{Target: target, Known: true, Met: r >= min, Got: fmt.Sprintf("%.0f%% (%.0f / %.0f rps)", 100*r, n, d)}
		if extra != nil {
			s, met := extra()
			c.Got += "; " + s
			c.Met = c.Met && met
		}
		out = append(out, c)
	}
	atLeast := func(target, name, unit string, min float64, lowerIsBetter bool) {
		v, ok := m[name]
		if !ok {
			out = append(out, Check{Target: target, Got: "not measured"})
			return
		}
		met := v >= min
		if lowerIsBetter {
			met = v <= min
		}
		out = append(out, Check{Target: target, Known: true, Met: met, Got: fmt.Sprintf("%.0f %s", v, unit)})
	}
	ratio("order page >= 50% of fortunes rps, p99 <= 25 ms (64 conns)", MOrderRPS, MFortunesRPS, 0.5, func() (string, bool) {
		p99, ok := m[MOrderP99]
		return fmt.Sprintf("p99 %.1f ms", p99), ok && p99 <= 25
	})
	ratio("/r/{code} >= 50% of plaintext rps", MReferralRPS, MPlaintextRPS, 0.5, nil)
	atLeast("batch ingestion >= 1,500 orders/s", MBatchPerSec, "orders/s", 1500, false)
	atLeast("journey >= 2,000 jobs/s", MJourneyRate, "jobs/s", 2000, false)
	atLeast("server RSS <= 150 MB under load", MPeakRSS, "MB peak", 150, true)
	return out
}

// Delta is how one metric moved since the previous run.
type Delta struct {
	Metric     string
	Prev, Cur  float64
	Pct        float64 // (cur-prev)/prev in percent; NaN when prev is 0
	Regression bool    // moved the wrong way by more than the noise margin
}

// NoiseMargin is the change, in percent, below which a move is not called a
// regression: the shared machine is noisy.
const NoiseMargin = 10.0

// lowerIsBetter tells latencies, errors, memory and CPU time per request
// from throughputs.
func lowerIsBetter(metric string) bool {
	return strings.HasSuffix(metric, "_ms") || strings.HasSuffix(metric, ".errors") || strings.HasSuffix(metric, "_mb") ||
		strings.HasSuffix(metric, "_cpu_us")
}

// Compare lists every metric present in both runs, sorted by name, with its
// change and whether it regressed beyond NoiseMargin.
func Compare(prev, cur Record) []Delta {
	var out []Delta
	for name, c := range cur.Metrics {
		p, ok := prev.Metrics[name]
		if !ok {
			continue
		}
		d := Delta{Metric: name, Prev: p, Cur: c, Pct: math.NaN()}
		if p == 0 && c == 0 {
			d.Pct = 0
		} else if p != 0 {
			d.Pct = 100 * (c - p) / p
			worse := d.Pct < -NoiseMargin
			if lowerIsBetter(name) {
				worse = d.Pct > NoiseMargin
			}
			d.Regression = worse
		} else if c > 0 && lowerIsBetter(name) {
			d.Regression = true // e.g. errors appeared where there were none
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}
