package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/bench"
)

// measure runs every measurement of issue 8 in one go and returns the record.
func measure(ctx context.Context, o options, log io.Writer) (bench.Record, error) {
	started := time.Now().UTC()
	runID := started.Format("20060102T150405")
	rec := bench.Record{Date: started.Format("2006-01-02 15:04 UTC"), Commit: gitCommit(), Size: o.size, Label: o.label,
		Machine: bench.ThisMachine(), Metrics: map[string]float64{},
		Commands: []string{"make bench BENCH_FLAGS='" + strings.Join(os.Args[1:], " ") + "'", strings.Join(os.Args, " ")}}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(o.varDir, "bin", "aftercare")
		fmt.Fprintln(log, "building", bin)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/aftercare").CombinedOutput(); err != nil {
			return rec, fmt.Errorf("go build: %v\n%s", err, out)
		}
	} else {
		rec.Notes = append(rec.Notes, "server binary given with -bin: "+bin)
	}
	cl, err := startCluster(ctx, o, log)
	if err != nil {
		return rec, err
	}
	defer cl.Close()
	rec.Versions = versions(cl.postgresVersion(ctx))
	key, err := auth.NewAPIKeys(cl.db).Create(ctx, "bench-"+runID)
	if err != nil {
		return rec, err
	}
	sink, err := bench.StartSink()
	if err != nil {
		return rec, err
	}
	defer sink.Close()

	// The reference first, alone on the machine, then stopped.
	refAddr, err := freeAddr()
	if err != nil {
		return rec, err
	}
	self, err := os.Executable()
	if err != nil {
		return rec, err
	}
	if o.runs("reference") {
		ref, err := startProc(ctx, "reference", refAddr, "/plaintext", filepath.Join(o.varDir, "reference.log"), nil,
			self, "reference", "-addr", refAddr, "-db", cl.url)
		if err != nil {
			return rec, err
		}
		meter := newCPUMeter(ctx, cl.db, ref.cmd.Process.Pid)
		for _, l := range []bench.Load{
			{Name: "plaintext", Conns: o.conns, Warmup: o.warmup, Duration: o.duration, Next: get(ref.base + "/plaintext")},
			{Name: "fortunes", Conns: o.conns, Warmup: o.warmup, Duration: o.duration, Next: get(ref.base + "/fortunes")},
		} {
			measured(ctx, o, meter, &rec, log, func() bench.Result { return bench.Run(ctx, l) })
		}
		ref.Stop()
	}

	keys := signingKeys()
	addr, err := freeAddr()
	if err != nil {
		return rec, err
	}
	env := []string{"AFTERCARE_DATABASE_URL=" + cl.url, "AFTERCARE_ADDR=" + addr, "AFTERCARE_BASE_URL=http://" + addr,
		"AFTERCARE_SIGNING_KEYS=" + keys, "AFTERCARE_SMTP_URL=" + sink.URL(), "AFTERCARE_STRIPE_SECRET_KEY=", "AFTERCARE_AUTO_MIGRATE=0"}
	var prof *profiler
	if o.pprofDir != "" {
		if prof, err = newProfiler(o.pprofDir, runID); err != nil {
			return rec, err
		}
		env = append(env, "AFTERCARE_PPROF_ADDR="+prof.addr)
	}
	srvStart := time.Now()
	srv, err := startProc(ctx, "aftercare", addr, "/healthz", filepath.Join(o.varDir, "server.log"), env, bin, "serve")
	if err != nil {
		return rec, err
	}
	defer srv.Stop()
	settle(ctx, cl.db, srvStart, log)
	var stats *sqlStats
	if o.sqlStats {
		dir := o.pprofDir
		if dir == "" {
			dir = o.varDir
		}
		stats = &sqlStats{c: cl, dir: dir, run: runID}
	}
	if err := serverLoads(ctx, o, cl, srv, prof, stats, key, keys, runID, sink, &rec, log); err != nil {
		return rec, err
	}
	sampled, peak := srv.RSS()
	rec.AddRatios()
	rec.Metrics[bench.MPeakRSS] = peak
	rec.Metrics["server.sampled_rss_mb"] = sampled
	return rec, nil
}

// serverLoads measures the product: order page, referral link, ingestion
// and the email journey.
func serverLoads(ctx context.Context, o options, cl *cluster, srv *proc, prof *profiler, stats *sqlStats, key, keys, runID string, sink *bench.Sink, rec *bench.Record, log io.Writer) error {
	if o.runs("order_page") {
		fmt.Fprintf(log, "signing in %d shoppers\n", o.shoppers)
		shoppers, err := signIn(ctx, cl.db, srv.base, keys, o.shoppers)
		if err != nil {
			return err
		}
		// First every order once, from the database (the cold figure),
		// then the walk over the same orders (the steady state).
		cold, pages := orderPageColdLoad(srv.base, shoppers, o)
		rec.AddLoad(report(log, bench.RunFixed(ctx, cold, pages)))
		share, memo := cacheShares(ctx, srv.base, func() {
			measured(ctx, o, newCPUMeter(ctx, cl.db, srv.cmd.Process.Pid), rec, log, func() bench.Result {
				return prof.during(ctx, "order_page", o, func() bench.Result {
					return stats.during(ctx, "order_page", func() bench.Result { return bench.Run(ctx, orderPageLoad(srv.base, shoppers, o)) })
				})
			})
		})
		if share >= 0 {
			rec.Metrics["order_page.cache_hit_pct"] = share
			note := fmt.Sprintf("order page: %.1f%% of its parts (order, returns, reviews, guides, recommendations) were served from the page caches, warm-up included (order_page_cold, before it, read each order once from the database)", share)
			rec.Notes = append(rec.Notes, note)
			fmt.Fprintln(log, note)
		}
		if memo >= 0 {
			rec.Metrics["order_page.session_memo_hit_pct"] = memo
			note := fmt.Sprintf("order page: %.1f%% of its session reads (session, cache epochs, the order's versions) were answered from memory without the database, warm-up included (the change feed, internal/changefeed)", memo)
			rec.Notes = append(rec.Notes, note)
			fmt.Fprintln(log, note)
		}
	}
	if !o.runs("referral") {
		// skipped by -only
	} else if ref, err := referralLoad(ctx, cl.db, srv.base, 1000, o); err != nil {
		rec.Notes = append(rec.Notes, "referral link not measured: "+err.Error())
		fmt.Fprintln(log, "referral link not measured:", err)
	} else {
		measured(ctx, o, newCPUMeter(ctx, cl.db, srv.cmd.Process.Pid), rec, log, func() bench.Result {
			return prof.during(ctx, "referral", o, func() bench.Result {
				return stats.during(ctx, "referral", func() bench.Result { return bench.Run(ctx, ref) })
			})
		})
	}
	if o.runs("ingest") {
		if err := ingestLoads(ctx, o, cl, srv, prof, stats, key, runID, rec, log); err != nil {
			return err
		}
	}
	if !o.runs("journey") {
		return nil
	}
	fmt.Fprintln(log, "waiting for the jobs due (queued mail, order events) to be worked")
	if err := drain(ctx, cl.db, 10*time.Minute, log); err != nil {
		return err
	}
	j, err := runJourney(ctx, cl.db, sink, srv.cmd.Process.Pid, runID, o.journey, o, prof, stats, log)
	if err != nil {
		return err
	}
	rec.Metrics[bench.MJourneyRate] = j.Rate
	perEmail := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(j.Jobs) }
	note := fmt.Sprintf("journey: %d mail.deliver jobs (queued through mail.Outbox in one transaction) finished in %.1f s; the SMTP sink accepted %d; CPU per email: server %.2f ms, PostgreSQL %.2f ms, harness and sink %.2f ms",
		j.Jobs, j.Seconds, j.Sent, perEmail(j.CPU.server), perEmail(j.CPU.postgres), perEmail(j.CPU.harness))
	rec.Notes = append(rec.Notes, note)
	fmt.Fprintln(log, note)
	return nil
}

// ingestLoads measures single and batch ingestion and checks what was stored.
func ingestLoads(ctx context.Context, o options, cl *cluster, srv *proc, prof *profiler, stats *sqlStats, key, runID string, rec *bench.Record, log io.Writer) error {

	in, err := newIngest(ctx, cl.db, runID)
	if err != nil {
		return err
	}
	var single, batched atomic.Int64
	res := report(log, prof.during(ctx, "ingest_single", o, func() bench.Result {
		return stats.during(ctx, "ingest_single", func() bench.Result { return bench.Run(ctx, in.singleLoad(srv.base, key, 16, o, &single)) })
	}))
	rec.AddLoad(res)
	rec.Metrics[bench.MSinglePerSec] = float64(res.Requests-res.Errors) / res.Seconds
	const per = 500
	res = report(log, prof.during(ctx, "ingest_batch", o, func() bench.Result {
		return stats.during(ctx, "ingest_batch", func() bench.Result {
			return bench.RunFixed(ctx, in.batchLoad(srv.base, key, 4, per, o, &batched), o.batches)
		})
	}))
	rec.AddLoad(res)
	batchSeconds := res.Seconds
	for _, s := range []struct {
		stream string
		sent   int64
	}{{"s", single.Load()}, {"b", batched.Load()}} {
		stored, confirmed, err := in.stored(ctx, cl.db, s.stream)
		if err != nil {
			return err
		}
		note := fmt.Sprintf("ingestion %q: %d orders sent, %d stored, %d with an order_confirmation message queued", s.stream, s.sent, stored, confirmed)
		if s.stream == "b" {
			note += " (the batch endpoint is for back-fills and by design sends no lifecycle mail, see README)"
		}
		if s.stream == "b" {
			// Orders stored over the wall time of all batches: a batch cut
			// off by its deadline still stored part of its orders.
			rec.Metrics[bench.MBatchPerSec] = float64(stored) / batchSeconds
		}
		rec.Notes = append(rec.Notes, note)
		fmt.Fprintln(log, note)
	}
	return nil
}

// get is a Next that always requests url.
func get(url string) func(int, int) bench.Request {
	return func(int, int) bench.Request { return bench.Request{Method: "GET", URL: url} }
}

// report prints a load's figures as soon as it finishes.
func report(log io.Writer, r bench.Result) bench.Result {
	fmt.Fprintf(log, "%-14s %3d conns  %8.0f rps  p50 %6.2f  p90 %6.2f  p99 %7.2f  max %7.2f ms  errors %d %v\n",
		r.Name, r.Conns, r.RPS, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Errors, r.Statuses)
	return r
}

// completedRetention is how long River keeps a completed job's row in the
// product (internal/jobs, Options.CompletedRetention's default).
const completedRetention = time.Hour

// settle waits (at most five minutes) for the work every instance does at
// start to finish: the periodic sweeps run once at start, the dashboard's
// rollup refresh among them (after a migration of its tables, a rebuild that
// takes a minute of database time on the large store). River's leader
// enqueues them a few seconds after the server answers, so settle waits
// for the rollup enqueued since started to have run, and for no sweep to
// be left; measuring during them would charge start-up to the first load.
//
// It also waits for River's job cleaner to have deleted the completed jobs
// older than the retention, and then vacuums river_job. A store's server
// runs all the time and its cleaner deletes each job an hour after it
// finished, 30 s at a time; the bench's server runs only during a run, so
// its cleaner found every earlier run's jobs at once (380,000 on a medium
// store after a day of runs: 2 s of PostgreSQL's 7 in a journey window,
// deleting in 10,000-row statements through an index full of the dead
// entries of the previous batches). Jobs that pass the hour during a run
// are still deleted in it, as a store's cleaner would.
func settle(ctx context.Context, db *sqlx.DB, started time.Time, log io.Writer) {
	t0 := time.Now()
	cleaned := false
	for time.Since(t0) < 5*time.Minute {
		var st struct {
			Pending int `db:"pending"`
			Rolled  int `db:"rolled"`
			Expired int `db:"expired"`
		}
		err := db.GetContext(ctx, &st, `SELECT
			count(*) FILTER (WHERE kind = 'sweep' AND state IN ('available', 'running', 'retryable')) AS pending,
			count(*) FILTER (WHERE kind = 'sweep' AND args->>'name' = 'dashboard.rollup' AND finalized_at IS NOT NULL AND created_at >= $1) AS rolled,
			count(*) FILTER (WHERE state = 'completed' AND finalized_at < now() - $2 * interval '1 second') AS expired
			FROM river_job WHERE kind = 'sweep' OR state = 'completed'`, started.Add(-time.Second), completedRetention.Seconds())
		if err != nil {
			fmt.Fprintf(log, "settle: %v\n", err)
			break
		}
		cleaned = cleaned || st.Expired > 0
		if st.Pending == 0 && st.Rolled > 0 && st.Expired == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Fprintf(log, "start-up sweeps done after %.1f s\n", time.Since(t0).Seconds())
	if cleaned {
		// The dead versions of the deleted jobs, which autovacuum would
		// otherwise clear during the first load.
		t1 := time.Now()
		if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) river_job`); err != nil {
			fmt.Fprintf(log, "settle: %v\n", err)
		}
		fmt.Fprintf(log, "vacuumed river_job after River's cleaner in %.1f s\n", time.Since(t1).Seconds())
	}
}

// measured runs load, adds its result to rec with the CPU time per request
// of the server (or the reference), PostgreSQL and the load generator, and
// prints both.
func measured(ctx context.Context, o options, m cpuMeter, rec *bench.Record, log io.Writer, load func() bench.Result) {
	res, cpu := cpuPerRequest(ctx, m, o, load)
	rec.AddLoad(report(log, res))
	if res.Requests == 0 {
		return
	}
	rec.Metrics[res.Name+".server_cpu_us"] = cpu.server
	rec.Metrics[res.Name+".postgres_cpu_us"] = cpu.postgres
	rec.Metrics[res.Name+".loadgen_cpu_us"] = cpu.harness
	fmt.Fprintf(log, "%s: CPU per request: server %.0f µs, PostgreSQL %.0f µs, load generator %.0f µs\n",
		res.Name, cpu.server, cpu.postgres, cpu.harness)
}

// cpuUse is CPU time per request in µs.
type cpuUse struct{ server, postgres, harness float64 }

// cpuPerRequest runs load and returns, with its result, the CPU time the
// server, PostgreSQL and the harness used per request between the end of
// the warm-up and the end of the load. On a shared machine it moves less
// with the other work than requests per second do.
func cpuPerRequest(ctx context.Context, m cpuMeter, o options, load func() bench.Result) (bench.Result, cpuUse) {
	start := make(chan cpuTimes, 1)
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(o.warmup):
		}
		start <- m.read()
	}()
	r := load()
	end := m.read()
	t0 := <-start
	if r.Requests == 0 {
		return r, cpuUse{}
	}
	per := func(a, b time.Duration) float64 { return float64((b - a).Microseconds()) / float64(r.Requests) }
	return r, cpuUse{server: per(t0.server, end.server), postgres: per(t0.postgres, end.postgres), harness: per(t0.harness, end.harness)}
}
