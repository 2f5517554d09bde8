// Command bench is `make bench`: it builds Aftercare, starts it as a child
// process on a private PostgreSQL holding a large seeded store, starts the
// Fiber reference (plaintext and TechEmpower fortunes) as another child,
// drives both with internal/bench's load generator, and writes the figures,
// the targets of issue 8 and the comparison with the previous run to
// BENCHMARKS.md.
//
//	go run ./cmd/bench [-size large|medium|small] [-fresh] [-duration 10s] [-pprof DIR]
//
// `bench reference -addr A -db URL` is the reference server's own mode.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aftercare/aftercare/internal/bench"
)

// options are the harness's flags.
type options struct {
	size     string
	fresh    bool
	varDir   string
	out      string
	label    string
	conns    int
	warmup   time.Duration
	duration time.Duration
	shoppers int
	journey  int
	batches  int
	bin      string
	pprofDir string
	noRecord bool
	sqlStats bool
	only     map[string]bool // loads to run; empty means all
}

// loadNames are the groups of measurements -only can pick.
var loadNames = []string{"reference", "order_page", "referral", "ingest", "journey"}

// runs reports whether the load group name is part of this run.
func (o options) runs(name string) bool { return len(o.only) == 0 || o.only[name] }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "reference" {
		err = reference(ctx, os.Args[2:])
	} else {
		err = run(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parse reads the flags of a run.
func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.size, "size", "large", "data set: large (100k customers, 300k orders, 1M events), medium (a tenth), small (the demo store)")
	fs.BoolVar(&o.fresh, "fresh", false, "throw away the kept seeded cluster and seed again")
	fs.StringVar(&o.varDir, "var", "var/bench", "where clusters, binaries, logs and profiles are kept")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "report to write (its history block is kept and extended)")
	fs.StringVar(&o.label, "label", "", "a note for this run in the history, e.g. \"before index fix\"")
	fs.IntVar(&o.conns, "conns", 64, "connections for the page loads")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded warm-up of each load")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "recorded time of each load")
	fs.IntVar(&o.shoppers, "shoppers", 256, "customers signed in for the order page")
	fs.StringVar(&o.bin, "bin", "", "measure this aftercare binary instead of building ./cmd/aftercare (e.g. one built from an older commit, for a before/after)")
	fs.IntVar(&o.batches, "batches", 20, "500-order requests sent to the batch endpoint (timed from first to last)")
	fs.IntVar(&o.journey, "journey", 20000, "emails queued for the journey measurement")
	fs.StringVar(&o.pprofDir, "pprof", "", "capture CPU profiles of the server during the order page, referral and ingestion loads into this folder")
	fs.BoolVar(&o.sqlStats, "sqlstats", false, "write the costliest SQL statements of the order page and ingestion loads (pg_stat_statements) next to the profiles")
	fs.BoolVar(&o.noRecord, "no-record", false, "print the figures but leave the report alone")
	only := fs.String("only", "", "run only these loads, comma-separated ("+strings.Join(loadNames, ", ")+"); implies -no-record, as a partial run cannot be compared")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			if !slices.Contains(loadNames, n) {
				return o, fmt.Errorf("-only: unknown load %q (want %s)", n, strings.Join(loadNames, ", "))
			}
			o.only[n] = true
		}
		o.noRecord = true
	}
	switch o.size {
	case "large", "medium", "small":
	default:
		return o, fmt.Errorf("-size must be large, medium or small, not %q", o.size)
	}
	return o, nil
}

// run is one whole benchmark.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args, os.Stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.varDir, 0o755); err != nil {
		return err
	}
	rec, err := measure(ctx, o, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	bench.WriteSummary(stdout, rec)
	if o.noRecord {
		return nil
	}
	return record(o.out, rec, stdout)
}

// record appends rec to the report at path, comparing it with the last run.
func record(path string, rec bench.Record, stdout io.Writer) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	header, history, err := bench.ParseDoc(string(old))
	if err != nil {
		return err
	}
	if strings.TrimSpace(header) == "" {
		header = "# Benchmarks\n\nWritten by `make bench` (cmd/bench).\n"
	}
	if prev, ok := bench.Previous(history, rec); ok {
		fmt.Fprintf(stdout, "\nCompared with the previous %s run (%s, %s):\n", rec.Size, prev.Date, prev.Commit)
		for _, d := range bench.Compare(prev, rec) {
			mark := ""
			if d.Regression {
				mark = "  REGRESSION"
			}
			fmt.Fprintf(stdout, "  %-32s %12.2f -> %12.2f  %+6.1f%%%s\n", d.Metric, d.Prev, d.Cur, d.Pct, mark)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := bench.WriteDoc(f, header, history, rec); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	abs, _ := filepath.Abs(path)
	fmt.Fprintln(stdout, "\nwrote", abs)
	return os.Rename(tmp, path)
}

// reference is the reference server's mode, run as a child process.
func reference(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reference", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	dbURL := fs.String("db", "", "PostgreSQL URL holding bench_fortune")
	conns := fs.Int("conns", 20, "database connections (Aftercare's default pool size)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return bench.ServeReference(ctx, *addr, *dbURL, *conns)
}

// versions lists Go, PostgreSQL and the modules that shape the figures.
func versions(postgres string) map[string]string {
	v := map[string]string{"Go": runtime.Version(), "PostgreSQL": postgres}
	want := map[string]string{
		"github.com/gofiber/fiber/v2": "Fiber", "github.com/jmoiron/sqlx": "sqlx",
		"github.com/lib/pq": "lib/pq", "github.com/riverqueue/river": "River",
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if name, ok := want[d.Path]; ok {
				v[name] = d.Version
			}
		}
	}
	return v
}

// gitCommit is the short commit of the tree, marked dirty when it has
// uncommitted changes.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "-dirty"
	}
	return c
}
