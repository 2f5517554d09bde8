package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/server"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := parseFlags(fs, args, "aftercare serve: run the web server and background workers.\nConfigured by environment variables (see README.md).", stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	cfg, err := config.Load(getenv, false)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	defer server.FlushLog(log) // the access lines still buffered
	applyMemoryLimit(cfg, log)
	app, err := buildApp(ctx, cfg, log, appOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL)
	if addr := getenv("AFTERCARE_PPROF_ADDR"); addr != "" {
		go servePprof(addr, log) // profiling for `make bench -pprof`; off unless set
	}
	return app.Serve(ctx, ln)
}

// applyMemoryLimit sets the runtime's soft memory limit from the
// configuration, so that the caches and the bursts of the workers share a
// bounded amount of memory (the heap would otherwise double between
// collections, whatever the box has).
func applyMemoryLimit(cfg config.Config, log *slog.Logger) {
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
		log.Info("memory limit", "bytes", cfg.MemoryLimit)
	}
}

// servePprof serves net/http/pprof on addr (keep it on loopback): read only
// from the environment by serve, for the benchmark harness (cmd/bench).
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if err := http.ListenAndServe(addr, mux); err != nil { //nolint:gosec // loopback profiling only
		log.Error("pprof listener", "error", err)
	}
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := parseFlags(fs, args, "aftercare migrate: apply Aftercare's and River's database migrations, then exit.\nNeeds AFTERCARE_DATABASE_URL (or DATABASE_URL).", stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	return withDB(ctx, getenv, 10*time.Minute, func(ctx context.Context, pool *sqlx.DB) error {
		if err := db.Migrate(ctx, pool.DB, func(f string, a ...any) { fmt.Fprintf(stdout, f+"\n", a...) }); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	})
}

func cmdAPIKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const summary = "aftercare apikey create --name NAME: create a key for the JSON API; it is printed once, only its hash is kept."
	if len(args) == 0 || (args[0] != "create" && !strings.HasPrefix(args[0], "-")) {
		fmt.Fprintln(stderr, summary)
		return errUsage
	}
	if args[0] == "create" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	name := fs.String("name", "", "what the key is for, e.g. \"shopify-sync\" (required)")
	if err := parseFlags(fs, args, summary, stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	if strings.TrimSpace(*name) == "" {
		fmt.Fprintln(stderr, "--name is required\n\n"+summary)
		return errUsage
	}
	return withDB(ctx, getenv, 30*time.Second, func(ctx context.Context, pool *sqlx.DB) error {
		key, err := auth.NewAPIKeys(pool).Create(ctx, strings.TrimSpace(*name))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", key)
		fmt.Fprintln(stderr, "Store this key now: it is shown once. Send it as 'Authorization: Bearer <key>'.")
		return nil
	})
}

func helpIsFine(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func cmdHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	if err := parseFlags(fs, args, "aftercare healthcheck: exit 0 when the local server answers /healthz; for container health checks.", stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	addr := getenv("AFTERCARE_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("AFTERCARE_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: status %d", resp.StatusCode)
	}
	return nil
}

// withDB opens the database named by the environment for fn, which must
// finish within limit.
func withDB(ctx context.Context, getenv func(string) string, limit time.Duration, fn func(context.Context, *sqlx.DB) error) error {
	url := getenv("AFTERCARE_DATABASE_URL")
	if url == "" {
		url = getenv("DATABASE_URL")
	}
	if url == "" {
		return errors.New("configuration:\n  AFTERCARE_DATABASE_URL: is required (or DATABASE_URL)")
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	pool, err := db.Open(cctx, url, db.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(cctx, pool)
}
