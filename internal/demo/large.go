package demo

import (
	"context"
	"database/sql"

	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Size is how big a generated store is. Events is the number of tracking
// events to share out over the parcels; it is met exactly unless the
// parcels' minimum (one to three events each, by state) is already larger.
type Size struct{ Customers, Orders, Events int }

// Large is the benchmark store of issue 8.
var Large = Size{Customers: 100_000, Orders: 300_000, Events: 1_000_000}

// Medium is a tenth of Large, for quicker runs.
var Medium = Size{10_000, 30_000, 100_000}

// seedRand fixes the generator so that two runs make the same store (the
// dates move with the clock: the history always ends now).
const seedRand = 20261126

// trustReferences lets a superuser seed skip the foreign-key triggers
// (tests turn it off to have PostgreSQL check every reference).
var trustReferences = true

// SeedLarge fills an empty, migrated database with a generated store of the
// given size: products, customers, 18 months of orders with parcels and
// tracking, returns, refunds, reviews, review requests, emails sent with
// their opens and clicks, referral codes, visits, referrals and rewards.
// Customer 1 is the demo shopper (ShopperEmail). Rows are written with
// COPY in one transaction and no email or job is queued: it is history.
// It refuses a database that already has customers or orders, and writes
// a line per table to progress (nil for none).
func SeedLarge(ctx context.Context, db *sqlx.DB, size Size, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	if size.Customers < 2 || size.Orders < 1 || size.Events < 0 {
		return fmt.Errorf("demo: a large seed needs at least 2 customers and 1 order, got %+v", size)
	}
	var orders, customers int64
	if err := db.GetContext(ctx, &orders, `SELECT count(*) FROM orders`); err != nil {
		return fmt.Errorf("demo: large seed: %w", err)
	}
	if err := db.GetContext(ctx, &customers, `SELECT count(*) FROM customers`); err != nil {
		return fmt.Errorf("demo: large seed: %w", err)
	}
	if orders > 0 || customers > 0 {
		return fmt.Errorf("demo: large seed needs an empty store, this one has %d orders and %d customers", orders, customers)
	}
	start := time.Now()
	now := start.UTC().Truncate(time.Minute).Unix()
	p := newPlan(size, now, rand.New(rand.NewPCG(seedRand, 1)))
	fmt.Fprintf(progress, "seed: planned %d customers, %d orders, %d parcels in %.1fs\n",
		len(p.customers), len(p.orders), len(p.ships), time.Since(start).Seconds())
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("demo: large seed: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// A crash mid-seed leaves nothing behind anyway: the seed is one transaction.
	// The app's pool has a statement timeout sized for requests, not for a
	// COPY of a million rows.
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off; SET LOCAL statement_timeout = 0`); err != nil {
		return fmt.Errorf("demo: large seed: %w", err)
	}
	if trustReferences {
		var super bool
		if err := tx.GetContext(ctx, &super, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`); err != nil {
			return fmt.Errorf("demo: large seed: %w", err)
		}
		if super {
			// Foreign keys are checked by triggers, one lookup per row; replica
			// mode skips them. The plan makes every reference by construction,
			// and the tests seed with the checks on.
			if _, err := tx.ExecContext(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				return fmt.Errorf("demo: large seed: %w", err)
			}
		}
	}
	indexes, err := dropIndexes(ctx, tx)
	if err != nil {
		return fmt.Errorf("demo: large seed: %w", err)
	}
	w := &writer{ctx: ctx, tx: tx, p: p, r: rand.New(rand.NewPCG(seedRand, 2))}
	steps := []struct {
		table string
		fn    func() (int, error)
	}{
		{"settings", w.settings}, {"products", w.productsRows}, {"customers", w.customersRows},
		{"orders", w.ordersRows}, {"order_items", w.itemsRows}, {"shipments", w.shipmentsRows},
		{"shipment_items", w.shipmentItemsRows}, {"tracking_events", w.eventsRows}, {"tracking_views", w.viewsRows},
		{"order_refunds", w.refundsRows}, {"return_requests", w.returnsRows}, {"return_items", w.returnItemsRows},
		{"return_events", w.returnEventsRows}, {"reviews", w.reviewsRows}, {"messages", w.messagesRows},
		{"message_events", w.messageEventsRows}, {"journey_steps", w.stepsRows}, {"review_asks", w.asksRows},
		{"referral_codes", w.codesRows}, {"referral_visits", w.visitsRows}, {"referrals", w.referralsRows},
		{"rewards", w.rewardsRows},
	}
	for _, s := range steps {
		t := time.Now()
		n, err := s.fn()
		if err != nil {
			return fmt.Errorf("demo: large seed: %s: %w", s.table, err)
		}
		fmt.Fprintf(progress, "seed: %-16s %9d rows %6.1fs\n", s.table, n, time.Since(t).Seconds())
	}
	t := time.Now()
	for _, def := range indexes {
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("demo: large seed: rebuild index: %w", err)
		}
	}
	fmt.Fprintf(progress, "seed: %d indexes rebuilt in %.1fs\n", len(indexes), time.Since(t).Seconds())
	for _, t := range []string{"products", "customers", "orders", "order_items", "shipments", "return_requests",
		"messages", "journey_steps", "referral_codes", "referrals"} {
		// Rows came with their ids; the sequences must move past them.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM %[1]s), false)`, t)); err != nil {
			return fmt.Errorf("demo: large seed: sequence of %s: %w", t, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("demo: large seed: commit: %w", err)
	}
	t = time.Now()
	if err := analyze(ctx, db); err != nil {
		return fmt.Errorf("demo: large seed: analyze: %w", err)
	}
	fmt.Fprintf(progress, "seed: analyze %.1fs; done in %.1fs\n", time.Since(t).Seconds(), time.Since(start).Seconds())
	return nil
}

// writer writes the plan, one COPY per table.
type writer struct {
	ctx context.Context
	tx  *sqlx.Tx
	p   *plan
	r   *rand.Rand

	// Filled while writing, read by later tables.
	requests []request // review requests, by delivered parcel
	msgs     []sentMsg // messages that can have opens and clicks
	codeOf   []int32   // customer index -> referral code id, 0 when none
}

// copyChunk is how many rows one COPY statement carries: the pool's
// per-read network deadline also bounds lib/pq's reader during a COPY, so
// no single statement may run long.
const copyChunk = 50_000

// copier is a COPY FROM STDIN in the seed's transaction, restarted every
// copyChunk rows.
type copier struct {
	w     *writer
	query string
	stmt  *sql.Stmt
	n     int
}

func (w *writer) copy(table string, cols ...string) (*copier, error) {
	c := &copier{w: w, query: pq.CopyIn(table, cols...)}
	return c, c.open()
}

func (c *copier) open() (err error) {
	c.stmt, err = c.w.tx.Tx.PrepareContext(c.w.ctx, c.query)
	return err
}

func (c *copier) flush() error {
	_, err := c.stmt.ExecContext(c.w.ctx)
	if cerr := c.stmt.Close(); err == nil {
		err = cerr
	}
	return err
}

func (c *copier) row(args ...any) error {
	if c.n > 0 && c.n%copyChunk == 0 {
		if err := c.flush(); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
	}
	c.n++
	_, err := c.stmt.ExecContext(c.w.ctx, args...)
	return err
}

// done ends the COPY and returns how many rows it wrote.
func (c *copier) done(err error) (int, error) {
	if err != nil {
		c.stmt.Close()
		return 0, err
	}
	return c.n, c.flush()
}

// run copies n rows into table, each made by row(i).
func (w *writer) run(table string, cols []string, n int, row func(c *copier, i int) error) (int, error) {
	c, err := w.copy(table, cols...)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n && err == nil; i++ {
		err = row(c, i)
	}
	return c.done(err)
}

func ts(unix int64) time.Time { return time.Unix(unix, 0).UTC() }

// analyze refreshes the planner's statistics, without the pool's statement
// timeout, so the first queries on the new rows get good plans.
func analyze(ctx context.Context, db *sqlx.DB) error {
	conn, err := db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET statement_timeout = 0`); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `ANALYZE`)
	if _, rerr := conn.ExecContext(ctx, `RESET statement_timeout`); err == nil {
		err = rerr
	}
	return err
}

// seededTables are the tables the seed writes to.
var seededTables = []string{"products", "customers", "orders", "order_items", "shipments", "shipment_items",
	"tracking_events", "tracking_views", "order_refunds", "return_requests", "return_items", "return_events", "reviews",
	"messages", "message_events", "journey_steps", "review_asks", "referral_codes", "referral_visits", "referrals", "rewards"}

// dropIndexes drops, in tx, the seeded tables' indexes that no constraint
// owns (primary keys and UNIQUE constraints stay) and returns their
// definitions: building an index once over a million rows costs far less
// than a million insertions into it. Unique indexes recreated afterwards
// still check their rows.
func dropIndexes(ctx context.Context, tx *sqlx.Tx) ([]string, error) {
	var idx []struct {
		Name string `db:"name"`
		Def  string `db:"def"`
	}
	err := tx.SelectContext(ctx, &idx, `
		SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, pg_get_indexdef(i.indexrelid) AS def
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE t.relname = ANY($1) AND n.nspname = current_schema()
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
		ORDER BY c.relname`, pq.StringArray(seededTables))
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	defs := make([]string, 0, len(idx))
	for _, x := range idx {
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+x.Name); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", x.Name, err)
		}
		defs = append(defs, x.Def)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL maintenance_work_mem = '128MB'`); err != nil {
		return nil, err
	}
	return defs, nil
}
