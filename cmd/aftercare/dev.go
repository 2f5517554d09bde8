package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/demo"
	"github.com/aftercare/aftercare/internal/pglocal"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/stripemock"
)

func cmdDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data", "var", "folder for the private PostgreSQL and dev keys")
	addr := fs.String("addr", "", "listen address (default AFTERCARE_ADDR or :8080)")
	noSeed := fs.Bool("no-seed", false, "do not load the demo store into an empty database")
	seedSize := fs.String("seed-size", "small", "demo store size for an empty database: small, medium (10k customers, 30k orders) or large (100k, 300k, 1M tracking events)")
	const summary = "aftercare dev: run Aftercare locally. Without AFTERCARE_DATABASE_URL it starts a private PostgreSQL\nin <data>/postgres, migrates, loads a demo store, keeps mail at /dev/mail and prints where to click."
	if err := parseFlags(fs, args, summary, stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	if _, ok := seedSizes[*seedSize]; !ok {
		return fmt.Errorf("--seed-size must be small, medium or large, not %q", *seedSize)
	}
	env := map[string]string{"AFTERCARE_AUTO_MIGRATE": "1"}
	if *addr != "" {
		env["AFTERCARE_ADDR"] = *addr
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}
	if getenv("AFTERCARE_SIGNING_KEYS") == "" {
		keys, err := devSigningKeys(filepath.Join(*dataDir, "dev-signing-keys"))
		if err != nil {
			return err
		}
		env["AFTERCARE_SIGNING_KEYS"] = keys
	}
	if getenv("AFTERCARE_DATABASE_URL") == "" && getenv("DATABASE_URL") == "" {
		fmt.Fprintln(stdout, "Starting a private PostgreSQL in", filepath.Join(*dataDir, "postgres"), "...")
		pg, err := pglocal.Start(ctx, pglocal.Options{DataDir: filepath.Join(*dataDir, "postgres")})
		if err != nil {
			return err
		}
		defer pg.Stop() //nolint:errcheck // best effort at exit
		if err := ensureDatabase(ctx, pg.URL("postgres"), "aftercare"); err != nil {
			return err
		}
		env["AFTERCARE_DATABASE_URL"] = pg.URL("aftercare")
	}
	if getenv("AFTERCARE_STRIPE_SECRET_KEY") == "" {
		// Stripe-backed features (refunds, promotion codes, rewards) talk to
		// stripe-mock in dev: it checks request shapes, moves no money.
		if sm, err := stripemock.Start(ctx); err != nil {
			fmt.Fprintln(stderr, "stripe-mock not started, Stripe features are off:", err)
		} else {
			defer sm.Stop()
			env["AFTERCARE_STRIPE_SECRET_KEY"] = "sk_test_aftercare_dev"
			env["AFTERCARE_STRIPE_API_BASE"] = sm.URL()
			fmt.Fprintln(stdout, "Started stripe-mock at", sm.URL())
		}
	}
	lookup := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return env[k]
	}
	cfg, err := config.Load(lookup, true)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	defer server.FlushLog(log) // the access lines still buffered
	applyMemoryLimit(cfg, log)
	app, err := buildApp(ctx, cfg, log, appOptions{PollInterval: 200 * time.Millisecond, RetryBase: 2 * time.Second})
	if err != nil {
		return err
	}
	defer app.Close()
	var shopper int64
	if !*noSeed {
		if err := seedGenerated(ctx, app.DB, *seedSize, stdout); err != nil {
			return err
		}
		// After a generated store demo.Seed adds nothing and finds its demo
		// shopper, customer 1, so the printed sign-in link still works.
		if shopper, err = demo.Seed(ctx, app.DB, app.Commerce); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	fmt.Fprintf(stdout, "\nAftercare is running at %s\n", cfg.BaseURL)
	if shopper != 0 {
		link, err := app.Links.Issue(ctx, app.DB, shopper, "login", 24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  Sign in as the demo shopper:  %s\n", link.URL)
	}
	staffLink, err := devStaffLink(ctx, app.DB, cfg.BaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  Sign in to the admin:         %s\n", staffLink)
	fmt.Fprintf(stdout, "  Mail sent by the store:       %s/dev/mail\n", cfg.BaseURL)
	fmt.Fprintf(stdout, "  JSON API (see README):        %s/api/v1/openapi.json\n", cfg.BaseURL)
	fmt.Fprintln(stdout, "Press Ctrl+C to stop.")
	return app.Serve(ctx, ln)
}

// devSigningKeys keeps one generated key in path so links survive restarts.
func devSigningKeys(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	secret := make([]byte, 32)
	rand.Read(secret) //nolint:errcheck // never fails
	keys := "dev1:" + base64.StdEncoding.EncodeToString(secret)
	return keys, os.WriteFile(path, []byte(keys+"\n"), 0o600)
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	admin, err := sqlx.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	var exists bool
	if err := admin.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		return fmt.Errorf("dev database: %w", err)
	}
	if !exists {
		if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
			return fmt.Errorf("dev database: %w", err)
		}
	}
	return nil
}

// seedSizes are the sizes of --seed-size; small is demo.Seed's store.
var seedSizes = map[string]demo.Size{"small": {}, "medium": demo.Medium, "large": demo.Large}

// seedGenerated loads a generated medium or large store into an empty
// database; small (the default) leaves it to demo.Seed.
func seedGenerated(ctx context.Context, db *sqlx.DB, size string, stdout io.Writer) error {
	s := seedSizes[size]
	if size == "small" {
		return nil
	}
	var orders int
	if err := db.GetContext(ctx, &orders, `SELECT count(*) FROM orders`); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if orders > 0 {
		return nil // seeded on an earlier run
	}
	fmt.Fprintf(stdout, "Generating a %s demo store (%d customers, %d orders) ...\n", size, s.Customers, s.Orders)
	if err := demo.SeedLarge(ctx, db, s, stdout); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	return nil
}
