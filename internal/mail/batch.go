package mail

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/fault"
)

// ManyComposer is a Composer that can also compose many messages of its
// kind at once, reading what they need with one statement per table and
// committing what it writes (sign-in links) once for all of them. Delivery
// calls ComposeMany for the messages of one batch; it returns one content
// and one error per message, in order, with the meaning of Compose's.
type ManyComposer interface {
	Composer
	ComposeMany(ctx context.Context, ms []Message) ([]Content, []error)
}

// Batching of deliveries (group commit). Every mail.deliver job hands its
// message to a batch and waits for its outcome: a batch reads its messages
// with one statement, composes those not yet rendered together (their
// sign-in links inserted and committed with one statement), locks them with
// one statement, sends them (at most MaxSending at the mail server at once),
// and records every outcome with one statement and one commit. A job returns only after the commit of
// its message's outcome, so River completes a job only once the database
// knows what happened to its email, as before; what batching saves is the
// per-email statements and, above all, the per-email synchronous commits.
const (
	// maxBatch bounds the messages of one batch: one statement's worth.
	maxBatch = 200
	// maxBatches is how many batches run at once: while one waits for the
	// mail server or its commit, the next one reads and composes. Each holds
	// one pooled connection for its transaction.
	maxBatches = 2
	// batchTimeout bounds one batch; the mail server's own timeouts (30 s a
	// command) are the usual bound.
	batchTimeout = 2 * time.Minute
)

// errOneByOne sends a message back to the job that brought it, to be
// delivered alone: marketing mail, whose pacing locks its customer.
var errOneByOne = errors.New("mail: deliver alone")

// pending is a message waiting in, or for, a batch.
type pending struct {
	id      int64
	lastTry bool
	done    chan error // gets the job's result once
}

// batcher gathers the messages of concurrent jobs into batches.
type batcher struct {
	d       *Delivery
	mu      sync.Mutex
	waiting []*pending
	running int
}

// deliver runs message id in a batch and returns the job's result, or
// errOneByOne.
func (b *batcher) deliver(ctx context.Context, id int64, lastTry bool) error {
	p := &pending{id: id, lastTry: lastTry, done: make(chan error, 1)}
	b.mu.Lock()
	b.waiting = append(b.waiting, p)
	// A batch starts at once when none runs, so an email alone goes out
	// without waiting; another one starts beside it only for a full batch
	// (see loop).
	if b.running == 0 || (b.running < maxBatches && len(b.waiting) >= maxBatch) {
		b.running++
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The batch goes on; the job's retry finds the message's outcome.
		return ctx.Err()
	}
}

// loop runs batches of what is waiting until nothing is, or until less
// than a full batch waits while another loop runs a batch: that loop takes
// them with what arrives meanwhile when its batch ends. River hands out
// jobs by the fetch, and the executors of one fetch reach deliver one by
// one, so a loop that took what was waiting used to leave a few of them
// behind, and the other loop ran those few as a batch of their own,
// every statement and commit of a batch for one to three emails: a third
// of all batches in the journey benchmark.
func (b *batcher) loop() {
	for {
		b.mu.Lock()
		n := min(len(b.waiting), maxBatch)
		if n == 0 || (n < maxBatch && b.running > 1) {
			b.running--
			b.mu.Unlock()
			return
		}
		batch := b.waiting[:n:n]
		b.waiting = b.waiting[n:]
		if len(b.waiting) == 0 {
			b.waiting = nil // let the backing array go
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		b.d.runBatch(ctx, batch)
		cancel()
	}
}

// outcome is what a batch does with one message.
type outcome struct {
	m         Message
	found     bool
	result    error    // for the job; nil when done
	write     bool     // record status, attempted and lastError
	status    string   // when write
	attempted bool     // counts as a delivery attempt
	lastError string   // "" keeps the previous one
	store     *Content // content rendered for this attempt, stored with the outcome
	send      bool     // to hand to the sender
	state     string   // for OnState after the commit ("" none)
}

// runBatch delivers the messages of batch and gives each job its result.
func (d *Delivery) runBatch(ctx context.Context, batch []*pending) {
	results := d.batchResults(ctx, batch)
	for _, p := range batch {
		p.done <- results[p.id]
	}
}

// batchResults delivers the messages of batch; it returns each job's
// result by message id.
func (d *Delivery) batchResults(ctx context.Context, batch []*pending) map[int64]error {
	ids := make([]int64, 0, len(batch))
	lastTry := map[int64]bool{}
	for _, p := range batch {
		if _, dup := lastTry[p.id]; !dup {
			ids = append(ids, p.id)
		}
		lastTry[p.id] = lastTry[p.id] || p.lastTry
	}
	all := func(err error) map[int64]error {
		r := make(map[int64]error, len(ids))
		for _, id := range ids {
			r[id] = err
		}
		return r
	}
	// Composed before the messages are locked, as a message alone is:
	// composing issues the sign-in links through another connection, which
	// must never wait (say, for a customer being erased) on a transaction
	// that waits for this batch's locks.
	ms, err := d.stmts.readMany(ctx, nil, ids)
	if err != nil {
		return all(err)
	}
	outs := make(map[int64]*outcome, len(ids))
	var compose []Message
	for _, id := range ids {
		o := &outcome{}
		outs[id] = o
		m, ok := ms[id]
		switch {
		case !ok:
			o.result = river.JobCancel(fault.Errorf(fault.NotFound, "There is no message %d.", id))
		case m.Status != StatusQueued:
			d.forget(id) // its "sent" did commit after all
		case m.Marketing:
			o.result = errOneByOne
		default:
			o.m, o.found = m, true
			if _, accepted := d.acceptedBefore(id); !accepted && !m.RenderedAt.Valid {
				compose = append(compose, m)
			}
		}
	}
	if len(compose) > 0 {
		d.composeBatch(ctx, compose, lastTry, outs)
	}

	tx, err := d.db.BeginTxx(ctx, nil)
	if err != nil {
		return all(fmt.Errorf("mail: begin batch: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after commit
	// PostgreSQL plans a prepared statement anew, for its arguments, the
	// first five times it runs on a connection, and the outcome statement's
	// arguments are a batch's bodies (most of a megabyte, copied as
	// constants into each plan): with a pool of 20 connections that was a
	// sixth of the statement's time in a 20,000-email run, 3 ms a batch.
	// One plan a connection serves every batch.
	if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		return all(fmt.Errorf("mail: begin batch: %w", err))
	}
	var found []int64
	for _, id := range ids {
		if outs[id].found {
			found = append(found, id)
		}
	}
	locked, err := d.stmts.readMany(ctx, tx, found)
	if err != nil {
		return all(err)
	}
	for _, id := range found {
		o := outs[id]
		m, ok := locked[id]
		switch {
		case !ok:
			*o = outcome{result: river.JobCancel(fault.Errorf(fault.NotFound, "There is no message %d.", id))}
			continue
		case m.Status != StatusQueued:
			// Finished meanwhile by another worker (or its "sent" did commit).
			d.forget(id)
			*o = outcome{}
			continue
		}
		if c, accepted := d.acceptedBefore(id); accepted {
			// The mail server has it: record it, with what was sent.
			*o = outcome{m: m, found: true, write: true, status: StatusSent, attempted: true, state: StatusSent}
			if c != nil && !m.RenderedAt.Valid {
				o.store = c
			}
			continue
		}
		if m.RenderedAt.Valid {
			// Rendered before, or meanwhile by another worker, whose
			// content wins over this batch's (or its failure to compose).
			*o = outcome{m: m, found: true, send: true}
			continue
		}
		o.m = m // what composing decided stands
	}
	d.sendBatch(ctx, ids, lastTry, outs)

	err = d.stmts.recordMany(ctx, tx, ids, outs, d.opts.Now())
	if err == nil {
		if cerr := tx.Commit(); cerr != nil {
			err = fmt.Errorf("mail: commit batch: %w", cerr)
		}
	}
	if err != nil {
		// The outcomes are lost with the transaction: the mail server's
		// acceptances are remembered so that the retries record them
		// instead of sending again.
		for _, id := range ids {
			if o := outs[id]; o.write && o.status == StatusSent {
				d.remember(id, o.store)
			}
		}
		r := make(map[int64]error, len(ids))
		for _, id := range ids {
			r[id] = errors.Join(outs[id].result, err)
		}
		return r
	}
	r := make(map[int64]error, len(ids))
	for _, id := range ids {
		o := outs[id]
		if o.write && o.status == StatusSent {
			d.forget(id)
		}
		if o.state != "" {
			d.opts.OnState(o.m.Kind, o.state)
		}
		r[id] = o.result
	}
	return r
}

// composeBatch renders ms (locked by the batch, queued and not rendered),
// all kinds together, and sets each one's outcome: to send, or what a
// compose error means (see render).
func (d *Delivery) composeBatch(ctx context.Context, ms []Message, lastTry map[int64]bool, outs map[int64]*outcome) {
	if d.opts.Settings != nil {
		// One read of the settings epochs for the whole batch. When they
		// cannot be read the composers read the settings themselves.
		if cctx, _, err := d.opts.Settings.Begin(ctx); err == nil {
			ctx = cctx
		}
	}
	byKind := map[string][]Message{}
	var kinds []string
	for _, m := range ms {
		if _, seen := byKind[m.Kind]; !seen {
			kinds = append(kinds, m.Kind)
		}
		byKind[m.Kind] = append(byKind[m.Kind], m)
	}
	for _, kind := range kinds {
		group := byKind[kind]
		composer, ok := d.composers[kind]
		if !ok {
			for _, m := range group {
				d.composed(outs[m.ID], Content{}, Permanent(fmt.Errorf("mail: no composer for kind %q", kind)), lastTry[m.ID])
			}
			continue
		}
		if many, ok := composer.(ManyComposer); ok && len(group) > 1 {
			cs, errs := many.ComposeMany(ctx, group)
			for i, m := range group {
				d.composed(outs[m.ID], cs[i], errs[i], lastTry[m.ID])
			}
			continue
		}
		for _, m := range group {
			c, err := composer.Compose(ctx, m)
			d.composed(outs[m.ID], c, err, lastTry[m.ID])
		}
	}
}

// composed sets o from what composing its message gave, as render does.
func (d *Delivery) composed(o *outcome, c Content, err error, lastTry bool) {
	switch {
	case err == nil:
		o.store, o.send = &c, true
	case IsSkip(err):
		o.write, o.status, o.lastError, o.state = true, StatusSkipped, err.Error(), StatusSkipped
		o.result = river.JobCancel(err)
	case IsPermanent(err) || lastTry:
		o.write, o.status, o.lastError, o.state = true, StatusFailed, err.Error(), StatusFailed
		o.result = river.JobCancel(err)
	default:
		o.write, o.status, o.lastError, o.state = true, StatusQueued, err.Error(), "retry"
		o.result = fmt.Errorf("mail: compose message %d: %w", o.m.ID, err)
	}
}

// sendBatch hands every message of the batch that is ready to the sender,
// at most MaxSending at once, and sets its outcome.
func (d *Delivery) sendBatch(ctx context.Context, ids []int64, lastTry map[int64]bool, outs map[int64]*outcome) {
	var wg sync.WaitGroup
	for _, id := range ids {
		o := outs[id]
		if !o.send {
			continue
		}
		m := o.m
		if o.store != nil {
			m.Subject, m.HTML, m.Text, m.Headers = o.store.Subject, o.store.HTML, o.store.Text, o.store.Headers
		}
		if d.sender == nil {
			o.write, o.status, o.state = true, StatusKept, StatusKept
			continue
		}
		select {
		case d.sending <- struct{}{}:
		case <-ctx.Done():
			// Not attempted: nothing to record, the job's retry tries again.
			o.write, o.store, o.state, o.result = false, nil, "", ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.sender.Send(ctx, d.opts.From, m)
			<-d.sending
			o.write, o.attempted = true, true
			switch {
			case err == nil:
				o.status, o.state = StatusSent, StatusSent
			case IsPermanent(err) || lastTry[m.ID]:
				o.status, o.state, o.lastError = StatusFailed, StatusFailed, err.Error()
				o.result = river.JobCancel(err)
			default:
				o.status, o.state, o.lastError = StatusQueued, "retry", err.Error()
				o.result = fmt.Errorf("mail: send message %d: %w", m.ID, err)
			}
		}()
	}
	wg.Wait()
}

// readMany reads the messages ids, missing ones absent; in tx (not nil)
// it also locks them, in id order (so two batches never wait for each other
// in a cycle), FOR NO KEY UPDATE as the outcome changes no key: an open or
// click recorded meanwhile (its foreign key to the message) does not wait.
func (s *deliveryStatements) readMany(ctx context.Context, tx *sqlx.Tx, ids []int64) (map[int64]Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p := s.getBatch
	if tx != nil {
		p = s.lockBatch
	}
	var rows []messageRow
	var err error
	switch st := p.stmt(ctx, tx); {
	case st != nil:
		err = st.SelectContext(ctx, &rows, pq.Array(ids))
	case tx != nil:
		err = tx.SelectContext(ctx, &rows, p.query, pq.Array(ids))
	default:
		err = s.getBatch.db.SelectContext(ctx, &rows, p.query, pq.Array(ids))
	}
	if err != nil {
		return nil, fmt.Errorf("mail: read %d messages: %w", len(ids), err)
	}
	out := make(map[int64]Message, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out[m.ID] = m
	}
	return out, nil
}

// recordMany writes the outcomes of outs that have one, in tx, with one
// statement: status, attempts, last error, sent_at, and the content rendered
// for this attempt, so each row is rewritten once.
func (s *deliveryStatements) recordMany(ctx context.Context, tx *sqlx.Tx, ids []int64, outs map[int64]*outcome, at time.Time) error {
	var (
		wid             []int64
		status, lastErr []string
		inc             []int64
		store           []bool
		headers         []string
	)
	size := 0
	for _, id := range ids {
		o := outs[id]
		if !o.write {
			continue
		}
		wid = append(wid, id)
		status = append(status, o.status)
		lastErr = append(lastErr, truncate(o.lastError, 2000))
		if o.attempted {
			inc = append(inc, 1)
		} else {
			inc = append(inc, 0)
		}
		raw := "{}"
		if c := o.store; c != nil {
			var err error
			if raw, err = headersJSON(id, c.Headers); err != nil {
				return err
			}
			size += len(c.Subject) + len(c.Text) + len(c.HTML)
		}
		store = append(store, o.store != nil)
		headers = append(headers, raw)
		size += len(raw)
	}
	if len(wid) == 0 {
		return nil
	}
	delim := contentDelimiter(outs, wid)
	// The four lists are made in one buffer and handed to lib/pq as []byte,
	// which it sends as they are (a string would be copied once more);
	// the HTML bodies, the largest, go last, so that lib/pq's send buffer
	// grows to its final size in one step.
	// The buffer (most of a megabyte for a full batch) is kept for the
	// next batch: lib/pq has copied the arguments into its own message by
	// the time the statement returns. One per batch was a twelfth of all
	// the delivery's garbage.
	bp := listsPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxKeptLists {
			listsPool.Put(bp)
		}
	}()
	buf := slices.Grow((*bp)[:0], size+4*len(wid)*len(delim))
	defer func() { *bp = buf[:0] }()
	var lists [4][]byte
	for f := range lists {
		start := len(buf)
		for i, id := range wid {
			if i > 0 {
				buf = append(buf, delim...)
			}
			if f == 1 {
				buf = append(buf, headers[i]...)
				continue
			}
			c := outs[id].store
			if c == nil {
				continue
			}
			switch f {
			case 0:
				buf = append(buf, c.Subject...)
			case 2:
				buf = append(buf, c.Text...)
			case 3:
				buf = append(buf, c.HTML...)
			}
		}
		lists[f] = buf[start:len(buf):len(buf)]
	}
	args := []any{pq.Array(wid), pq.Array(status), pq.Array(inc), pq.Array(lastErr), at, pq.Array(store), delim,
		lists[0], lists[1], lists[2], lists[3]}
	var err error
	if st := s.recordBatch.stmt(ctx, tx); st != nil {
		_, err = st.ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, s.recordBatch.query, args...)
	}
	if err != nil {
		return fmt.Errorf("mail: record %d messages: %w", len(wid), err)
	}
	return nil
}

// listsPool keeps recordMany's buffer between batches; maxKeptLists
// bounds what it keeps (two full batches of large emails).
var listsPool = sync.Pool{New: func() any { return new([]byte) }}

const maxKeptLists = 4 << 20

// contentDelimiter returns what separates the contents of the messages
// ids in recordBatchQuery: a random string of control characters and
// digits, drawn again in the unlikely case that some content holds it
// (PostgreSQL's text cannot hold the one byte no text has, NUL). Headers
// are JSON, whose strings hold no raw control characters.
func contentDelimiter(outs map[int64]*outcome, ids []int64) string {
	for {
		delim := fmt.Sprintf("\x1f%016x\x1e", rand.Uint64())
		clash := false
		for _, id := range ids {
			if c := outs[id].store; c != nil && (strings.Contains(c.Subject, delim) || strings.Contains(c.HTML, delim) ||
				strings.Contains(c.Text, delim)) {
				clash = true
				break
			}
		}
		if !clash {
			return delim
		}
	}
}
