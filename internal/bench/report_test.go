package bench

import (
	"math"
	"strings"
	"testing"
)

func TestCompareFlagsRegressionsBothWays(t *testing.T) {
	prev := Record{Metrics: map[string]float64{
		MOrderRPS: 1000, MOrderP99: 20, MPeakRSS: 100, MBatchPerSec: 2000, "x.errors": 0, "gone.rps": 5,
		"fortunes.p50_ms": 10, "referral.p90_ms": 10, "order_page.postgres_cpu_us": 100, "fortunes.server_cpu_us": 100,
	}}
	cur := Record{Metrics: map[string]float64{
		MOrderRPS: 850, MOrderP99: 21, MPeakRSS: 130, MBatchPerSec: 2100, "x.errors": 3, "new.rps": 7,
		"fortunes.p50_ms": 12, "referral.p90_ms": 8, "order_page.postgres_cpu_us": 80, "fortunes.server_cpu_us": 120,
	}}
	got := map[string]Delta{}
	for _, d := range Compare(prev, cur) {
		got[d.Metric] = d
	}
	if len(got) != 9 {
		t.Fatalf("compared %d metrics, want the 9 in both runs: %v", len(got), got)
	}
	for name, want := range map[string]struct {
		pct        float64
		regression bool
	}{
		MOrderRPS:                    {-15, true},  // throughput fell more than the margin
		MOrderP99:                    {5, false},   // latency rose within the margin
		MPeakRSS:                     {30, true},   // memory rose: lower is better
		MBatchPerSec:                 {5, false},   // throughput rose
		"fortunes.p50_ms":            {20, true},   // latency rose beyond the margin
		"referral.p90_ms":            {-20, false}, // latency fell: better, not worse
		"order_page.postgres_cpu_us": {-20, false}, // CPU per request fell: better
		"fortunes.server_cpu_us":     {20, true},   // CPU per request rose
	} {
		d := got[name]
		if math.Abs(d.Pct-want.pct) > 1e-9 || d.Regression != want.regression {
			t.Errorf("%s: %+v, want pct %v regression %v", name, d, want.pct, want.regression)
		}
	}
	if d := got["x.errors"]; !math.IsNaN(d.Pct) || !d.Regression {
		t.Errorf("errors appearing from zero: %+v, want NaN pct and a regression", d)
	}
}

func TestTargetsMetAndNotMet(t *testing.T) {
	m := map[string]float64{
		MFortunesRPS: 10000, MOrderRPS: 5000, MOrderP99: 26, MPlaintextRPS: 40000, MReferralRPS: 20000,
		MBatchPerSec: 1499, MJourneyRate: 2000, MPeakRSS: 150,
	}
	checks := Targets(m)
	want := []bool{false, true, false, true, true} // order page fails on p99 only
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d", len(checks), len(want))
	}
	for i, c := range checks {
		if !c.Known || c.Met != want[i] {
			t.Errorf("%s: %+v, want met=%v", c.Target, c, want[i])
		}
	}
	m[MOrderP99] = 25
	if c := Targets(m)[0]; !c.Met {
		t.Errorf("order page at 50%% and p99 25 ms must meet the target: %+v", c)
	}
	delete(m, MJourneyRate)
	if c := Targets(m)[3]; c.Known || c.Met {
		t.Errorf("a missing figure must be 'not measured': %+v", c)
	}
}

func TestDocRoundTripKeepsHeaderAndHistory(t *testing.T) {
	header := "# Benchmarks\n\nHand-written notes.\n"
	first := Record{Date: "2026-11-26", Commit: "aaa", Metrics: map[string]float64{MOrderRPS: 1000}}
	var doc strings.Builder
	if err := WriteDoc(&doc, header, nil, first); err != nil {
		t.Fatal(err)
	}
	h, hist, err := ParseDoc(doc.String())
	if err != nil || len(hist) != 1 || hist[0].Commit != "aaa" || strings.TrimSpace(h) != strings.TrimSpace(header) {
		t.Fatalf("parse: header %q, history %+v, err %v", h, hist, err)
	}
	second := Record{Date: "2026-11-27", Commit: "bbb", Metrics: map[string]float64{MOrderRPS: 800}}
	doc.Reset()
	if err := WriteDoc(&doc, h, hist, second); err != nil {
		t.Fatal(err)
	}
	out := doc.String()
	if !strings.Contains(out, "| order_page.rps | 1000 | 800 | -20.0% **regression** |") {
		t.Errorf("comparison with the previous run missing:\n%s", out)
	}
	if _, hist, _ = ParseDoc(out); len(hist) != 2 || hist[1].Commit != "bbb" {
		t.Errorf("history after two runs: %+v", hist)
	}
	// A run is compared with the last one of its own size only.
	hist = append(hist, Record{Commit: "ccc", Size: "large"})
	if p, ok := Previous(hist, Record{Size: ""}); !ok || p.Commit != "bbb" {
		t.Errorf("previous of the same size = %+v, %v; want bbb", p, ok)
	}
	if _, ok := Previous(hist, Record{Size: "medium"}); ok {
		t.Error("a size never run before has no previous run")
	}
}
