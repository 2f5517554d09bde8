package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Markers split BENCHMARKS.md: everything above GeneratedMarker is written
// by hand and kept; the history block holds one JSON record per run, oldest
// first, so each run can be compared with the last.
const (
	GeneratedMarker = "<!-- everything below is written by `make bench` -->"
	historyStart    = "<!-- bench-history (one JSON record per run, oldest first)"
	historyEnd      = "end bench-history -->"
)

// ParseDoc splits an existing BENCHMARKS.md into its hand-written header and
// its history of runs.
func ParseDoc(doc string) (header string, history []Record, err error) {
	header = doc
	if i := strings.Index(doc, GeneratedMarker); i >= 0 {
		header = doc[:i]
	}
	i := strings.Index(doc, historyStart)
	if i < 0 {
		return header, nil, nil
	}
	block := doc[i+len(historyStart):]
	if j := strings.Index(block, historyEnd); j >= 0 {
		block = block[:j]
	}
	sc := bufio.NewScanner(strings.NewReader(block))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return header, nil, fmt.Errorf("bench history: %w", err)
		}
		history = append(history, r)
	}
	return header, history, sc.Err()
}

// WriteDoc writes BENCHMARKS.md: the header, the latest run in full, its
// comparison with the run before, a short table of earlier runs, and the
// history block (with cur appended as its last record).
func WriteDoc(w io.Writer, header string, history []Record, cur Record) error {
	b := &strings.Builder{}
	b.WriteString(strings.TrimRight(header, "\n") + "\n\n" + GeneratedMarker + "\n\n")
	fmt.Fprintf(b, "## Latest run: %s (commit %s, size %s)\n\n", cur.Date, cur.Commit, cur.Size)
	WriteSummary(b, cur)
	if prev, ok := Previous(history, cur); ok {
		fmt.Fprintf(b, "\n### Compared with the previous run (%s, commit %s%s)\n\n", prev.Date, prev.Commit, label(prev))
		b.WriteString("Regressions are moves the wrong way by more than ")
		fmt.Fprintf(b, "%.0f%%; the machine is shared, so treat single runs as indicative.\n\n", NoiseMargin)
		b.WriteString("| Metric | Previous | This run | Change |\n|---|---:|---:|---:|\n")
		for _, d := range Compare(prev, cur) {
			flag := ""
			if d.Regression {
				flag = " **regression**"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s%s |\n", d.Metric, num(d.Prev), num(d.Cur), pct(d.Pct), flag)
		}
	}
	all := append(append([]Record{}, history...), cur)
	b.WriteString("\n## All recorded runs\n\n| Date | Commit | Size | Label | fortunes rps | order page rps | order p99 ms | /r rps | plaintext rps | batch orders/s | journey jobs/s | peak RSS MB |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range all {
		m := r.Metrics
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Date, r.Commit, r.Size, r.Label,
			num(m[MFortunesRPS]), num(m[MOrderRPS]), num(m[MOrderP99]), num(m[MReferralRPS]), num(m[MPlaintextRPS]),
			num(m[MBatchPerSec]), num(m[MJourneyRate]), num(m[MPeakRSS]))
	}
	b.WriteString("\n" + historyStart + "\n")
	for _, r := range all {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteString("\n")
	}
	b.WriteString(historyEnd + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary writes one run: machine, versions, commands, the load table,
// the other figures and the targets. It is also what the harness prints.
func WriteSummary(b io.Writer, r Record) {
	m := r.Machine
	fmt.Fprintf(b, "- Machine: %s, %d cores, %.1f GB RAM, kernel %s\n", m.CPU, m.Cores, m.RAMGB, m.Kernel)
	keys := make([]string, 0, len(r.Versions))
	for k := range r.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var vs []string
	for _, k := range keys {
		vs = append(vs, k+" "+r.Versions[k])
	}
	fmt.Fprintf(b, "- Versions: %s\n- Commands:\n", strings.Join(vs, ", "))
	for _, c := range r.Commands {
		fmt.Fprintf(b, "  - `%s`\n", c)
	}
	fmt.Fprint(b, "\n| Load | Conns | Requests | Errors | rps | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.Loads {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f |\n", l.Name, l.Conns, l.Requests, l.Errors,
			l.RPS, l.Latency.P50, l.Latency.P90, l.Latency.P99, l.Latency.Max)
	}
	fmt.Fprint(b, "\n| Figure | Value |\n|---|---:|\n")
	for _, k := range []string{MSinglePerSec, MBatchPerSec, MJourneyRate, MPeakRSS, "server.sampled_rss_mb"} {
		if v, ok := r.Metrics[k]; ok {
			fmt.Fprintf(b, "| %s | %s |\n", k, num(v))
		}
	}
	fmt.Fprint(b, "\n| Target | This run | |\n|---|---|---|\n")
	for _, c := range Targets(r.Metrics) {
		verdict := "NOT met"
		if !c.Known {
			verdict = "not measured"
		} else if c.Met {
			verdict = "met"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", c.Target, c.Got, verdict)
	}
	if len(r.Notes) > 0 {
		fmt.Fprint(b, "\nNotes:\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
	}
}

// Previous is the latest run in history of the same data-set size as cur:
// figures of a medium store say nothing about a large one.
func Previous(history []Record, cur Record) (Record, bool) {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Size == cur.Size {
			return history[i], true
		}
	}
	return Record{}, false
}

func label(r Record) string {
	if r.Label == "" {
		return ""
	}
	return ", " + r.Label
}

func num(v float64) string {
	switch {
	case v == 0:
		return "-"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func pct(p float64) string {
	if math.IsNaN(p) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", p)
}
