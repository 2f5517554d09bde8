package commerce

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

// BatchFailed is the outcome of a batch entry that was not recorded.
const BatchFailed Outcome = "error"

// BatchResult reports one order of UpsertOrders. Index is its position in
// the request; ID is set unless Outcome is BatchFailed, Errors only then.
type BatchResult struct {
	Index      int                `json:"index"`
	ExternalID string             `json:"external_id"`
	Outcome    Outcome            `json:"outcome"`
	ID         int64              `json:"id,omitempty"`
	Errors     []fault.FieldError `json:"errors,omitempty"`
}

// UpsertOrders records up to MaxBatch orders for a back-fill, with no
// lifecycle email. Each order is reported as if it had been sent alone, in
// request order: a bad order fails alone, a retry of the batch finds its
// orders Unchanged, and an order listed twice is created by the first entry
// and found Unchanged or Updated by the second. The error is a fault.Fields
// error for a batch that is empty or too large, or the first failure that
// is not the input's fault (the orders before it are committed; a retry of
// the whole batch finds them Unchanged).
//
// The orders are written set-wise (a few statements for the whole batch,
// one transaction per run of distinct orders); a run that fails for any
// reason but a cancelled request is written again order by order, each in
// its own transaction as before, so that one order the database refuses
// cannot fail the others.
func (s *Service) UpsertOrders(ctx context.Context, ins []OrderInput) ([]BatchResult, error) {
	if len(ins) == 0 {
		return nil, fault.Field("orders", "must list at least one order")
	}
	if len(ins) > MaxBatch {
		return nil, fault.Field("orders", fmt.Sprintf("must list at most %d orders", MaxBatch))
	}
	results := make([]BatchResult, len(ins))
	now := s.now()
	var valid []batchOrder
	for i, in := range ins {
		d, err := in.validate(now)
		if err != nil {
			results[i] = failed(i, in.ExternalID, err)
			continue
		}
		valid = append(valid, batchOrder{index: i, rawID: in.ExternalID, d: d, hash: d.hash()})
	}
	for _, run := range distinctRuns(valid) {
		if done, err := s.recordRun(ctx, run, results); err != nil {
			return results[:done], errors.Join(err, s.flushWAL(ctx))
		}
	}
	return results, s.flushWAL(ctx)
}

// batchOrder is a validated entry of a batch.
type batchOrder struct {
	index int    // position in the request
	rawID string // external_id as sent, for the report of a failure
	d     orderData
	hash  []byte
}

func (b batchOrder) key() orderKey { return orderKey{b.d.Source, b.d.ExternalID} }

type orderKey struct{ source, externalID string }

// runSize bounds the orders written in one transaction. A transaction holds
// its customers' row locks until it commits, and concurrent batches often
// share customers: shorter transactions let them interleave.
const runSize = 100

// distinctRuns cuts the batch, in request order, into runs of at most
// runSize orders in which no order appears twice: a run is written at once,
// so an order's second entry must see what its first one wrote.
func distinctRuns(orders []batchOrder) [][]batchOrder {
	var runs [][]batchOrder
	seen := map[orderKey]bool{}
	start := 0
	for i, b := range orders {
		if seen[b.key()] || i-start == runSize {
			runs = append(runs, orders[start:i])
			start, seen = i, map[orderKey]bool{}
		}
		seen[b.key()] = true
	}
	if start < len(orders) {
		runs = append(runs, orders[start:])
	}
	return runs
}

// failed is the result of an entry refused for err, a fault of the input.
func failed(index int, externalID string, err error) BatchResult {
	r := BatchResult{Index: index, ExternalID: externalID, Outcome: BatchFailed}
	if de, ok := fault.As(err); ok {
		r.Errors = de.Fields
		if len(r.Errors) == 0 {
			r.Errors = []fault.FieldError{{Message: de.Message}}
		}
	}
	return r
}

// errRaced says that a concurrent request created an order of the run
// after the run looked for it; the run is tried again and then finds it.
var errRaced = errors.New("commerce: an order of the batch was created concurrently")

// retryable reports whether a run failed for what a new try can get past:
// a lost race, or a deadlock PostgreSQL broke by failing this transaction
// (say with a single order that locked its order, then its customer).
func retryable(err error) bool {
	var pqErr *pq.Error
	return errors.Is(err, errRaced) ||
		errors.As(err, &pqErr) && (pqErr.Code == "40P01" || pqErr.Code == "40001")
}

// recordRun writes a run and fills in its results. On failure it returns
// how many leading entries of the batch have their final result.
func (s *Service) recordRun(ctx context.Context, run []batchOrder, results []BatchResult) (int, error) {
	for try := 0; try < 3; try++ {
		res, err := s.writeRun(ctx, run)
		if err == nil {
			for _, r := range res {
				results[r.Index] = r
			}
			return 0, nil
		}
		if ctx.Err() != nil {
			return run[0].index, err
		}
		if !retryable(err) {
			break
		}
	}
	// One order by one, each in its own transaction, as before the
	// set-wise path: the order the database refuses stops the batch with
	// the error that caused it, the orders before it stay written.
	s.fallbacks.Add(1)
	for _, b := range run {
		o, out, err := s.writeOrder(ctx, b.d, b.hash, false, true)
		if de, ok := fault.As(err); ok && de.Kind != fault.Internal {
			results[b.index] = failed(b.index, b.rawID, err)
		} else if err != nil {
			return b.index, err
		} else {
			results[b.index] = BatchResult{Index: b.index, ExternalID: o.ExternalID, Outcome: out, ID: o.ID}
		}
	}
	return 0, nil
}

// writeRun records a run of distinct orders in one transaction that
// commits without waiting for the WAL flush (UpsertOrders flushes once
// before it answers). It decides for each order what writeOrder would:
// the stored orders are locked (after their buyers), an unchanged one is
// left alone, a changed one is checked against its shipments and refunds,
// then the customers, new orders, updated orders, lines and events are
// written with one statement each. Locks are taken in key order, so
// concurrent batches wait for each other instead of deadlocking.
func (s *Service) writeRun(ctx context.Context, run []batchOrder) ([]BatchResult, error) {
	res := make([]BatchResult, len(run))
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("commerce: %w", err)
		}
		keys := make([]orderKey, len(run))
		emails := make([]string, len(run))
		for j, b := range run {
			keys[j], emails[j] = b.key(), b.d.Email
		}
		// The buyers first, then their orders: the order in which the
		// triggers of migration 00013 lock them (a customer's change moves
		// the page version of each of its orders), so that a concurrent
		// batch never holds an order this one wants while waiting for a
		// customer this one holds.
		if err := lockCustomersByEmail(ctx, tx, emails); err != nil {
			return err
		}
		stored, err := lockOrdersByKeys(ctx, tx, keys)
		if err != nil {
			return err
		}
		var created, changed []int // positions in run
		var changedIDs []int64
		for j, b := range run {
			old, found := stored[b.key()]
			switch {
			case !found:
				created = append(created, j)
			case bytes.Equal(old.ContentHash, b.hash):
				res[j] = BatchResult{Index: b.index, ExternalID: old.ExternalID, Outcome: Unchanged, ID: old.ID}
			default:
				changed, changedIDs = append(changed, j), append(changedIDs, old.ID)
			}
		}
		var updated []int
		if len(changed) > 0 {
			shipped, err := shippedByOrders(ctx, tx, changedIDs)
			if err != nil {
				return err
			}
			for _, j := range changed {
				b, old := run[j], stored[run[j].key()]
				err := shippedFits(shipped[old.ID], b.d.Items)
				if err == nil {
					err = keepsRefunds(old, b.d)
				}
				if err != nil {
					res[j] = failed(b.index, b.rawID, err)
					continue
				}
				updated = append(updated, j)
			}
		}
		if len(created)+len(updated) == 0 {
			return nil
		}

		// The customers of the orders written, as writeOrder would leave
		// them after writing those orders one by one.
		var writes []customerWrite
		for j, b := range run {
			if res[j].Outcome == "" {
				writes = append(writes, customerWrite{b.d.Email, b.d.Name, b.d.MarketingConsent})
			}
		}
		customers, err := upsertCustomers(ctx, tx, foldCustomers(writes))
		if err != nil {
			return err
		}

		rows := make([]orderRow, 0, len(created))
		for _, j := range created {
			rows = append(rows, orderRow{d: run[j].d, hash: run[j].hash, customerID: customers[run[j].d.Email]})
		}
		ids, err := insertOrders(ctx, tx, rows)
		if err != nil {
			return err
		}
		if len(ids) < len(created) {
			return errRaced
		}
		rows = rows[:0]
		for _, j := range updated {
			rows = append(rows, orderRow{id: stored[run[j].key()].ID, d: run[j].d, hash: run[j].hash, customerID: customers[run[j].d.Email]})
		}
		if err := updateOrders(ctx, tx, rows); err != nil {
			return err
		}

		var lines []itemsOf
		var trims []itemsOf
		evs := make([]events.Event, 0, len(created))
		for j, b := range run {
			var id int64
			switch {
			case res[j].Outcome != "":
				continue
			case ids[b.key()] != 0:
				id = ids[b.key()]
				res[j] = BatchResult{Index: b.index, ExternalID: b.d.ExternalID, Outcome: Created, ID: id}
				evs = append(evs, events.Event{Kind: events.OrderCreated, CustomerID: customers[b.d.Email], OrderID: id, Historic: true})
			default:
				id = stored[b.key()].ID
				res[j] = BatchResult{Index: b.index, ExternalID: b.d.ExternalID, Outcome: Updated, ID: id}
				trims = append(trims, itemsOf{orderID: id, items: b.d.Items})
			}
			lines = append(lines, itemsOf{orderID: id, items: b.d.Items})
		}
		if err := putBatchItems(ctx, tx, lines, trims); err != nil {
			return err
		}
		if s.bus == nil || len(evs) == 0 {
			return nil
		}
		return s.bus.EmitMany(ctx, tx, evs)
	})
	return res, err
}

// customerWrite is what one order says about its buyer.
type customerWrite struct {
	email, name string
	consent     *bool
}

// customerFold is what a run of orders leaves of one buyer when written one
// by one through upsertCustomer: the last name sent (a blank one keeps the
// stored name), the last consent sent (none keeps the stored one), and
// whether updated_at may stay: only if no consent was sent and every name
// sent was the stored one.
type customerFold struct {
	email, name string
	consent     *bool
	// sameNames: every non-blank name of the run is name.
	sameNames bool
}

// foldCustomers folds writes, in order, into one write per email.
func foldCustomers(writes []customerWrite) []customerFold {
	var out []customerFold
	at := map[string]int{}
	for _, w := range writes {
		i, ok := at[w.email]
		if !ok {
			at[w.email] = len(out)
			out = append(out, customerFold{email: w.email, name: w.name, consent: w.consent, sameNames: true})
			continue
		}
		f := &out[i]
		if w.name != "" {
			if f.name != "" && f.name != w.name {
				f.sameNames = false
			}
			f.name = w.name
		}
		if w.consent != nil {
			f.consent = w.consent
		}
	}
	return out
}

// flushWAL makes every asynchronously committed order of a batch durable
// before the batch is answered: a transaction that takes a transaction id
// commits synchronously, and PostgreSQL flushes the write-ahead log in
// order, so the flush up to its commit record covers all earlier commits.
// One flush per batch instead of one per order is what makes back-fills fast
// on a durable disk.
func (s *Service) flushWAL(ctx context.Context) error {
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT txid_current()`)
		return err
	})
	if err != nil {
		return fmt.Errorf("commerce: flush batch: %w", err)
	}
	return nil
}
