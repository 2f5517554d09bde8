package referral

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DefaultVisitFlushEvery is how often buffered visits are written
// (Options.VisitFlushEvery).
const DefaultVisitFlushEvery = 200 * time.Millisecond

const (
	// maxPendingVisits bounds the buffer while the database is away
	// (about 100 bytes a visit); visits past it are dropped and counted in
	// the log, as analytics may be.
	maxPendingVisits = 100000
	// visitChunk is the most rows one insert carries.
	visitChunk = 5000
	// visitRepeat is how long a device's repeated visits of one code count
	// as the first one (reloads and bots do not swell the funnel).
	visitRepeat = time.Hour
)

// visit is one opening of a share link by a device.
type visit struct {
	codeID   int64
	deviceID string
	at       time.Time
	// newDevice says the device id was made for this visit (the browser
	// sent no cookie): it cannot have visited before, so the write skips
	// looking for its earlier visits.
	newDevice bool
}

// visitBuffer collects the landing's visits in memory and writes them
// every few hundred milliseconds as one multi-row insert, instead of an
// insert and a synchronous commit per page. Visits are analytics and the
// evidence of a device's visit for attribution: a crash loses at most the
// last interval of them (the durability rule allows it for analytics), and a
// visit not yet written is still seen by attribution in this process
// (first). The device id is made in process (the cookie), so nothing the
// page answers waits for the insert.
type visitBuffer struct {
	db    *sqlx.DB
	log   *slog.Logger
	every time.Duration

	mu       sync.Mutex
	pending  []visit
	inflight []visit // taken by the flush under way, not yet committed
	dropped  int
	closed   bool

	flushMu   sync.Mutex // one flush at a time, so visits are written in order
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// newVisitBuffer starts the buffer's flusher; close stops it.
func newVisitBuffer(db *sqlx.DB, log *slog.Logger, every time.Duration) *visitBuffer {
	b := &visitBuffer{db: db, log: log, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *visitBuffer) run() {
	defer close(b.done)
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := b.flush(ctx); err != nil {
				b.log.Error("referral: write visits (kept for the next try)", "error", err)
			}
			cancel()
		}
	}
}

// add buffers v; false when the buffer is closed (shutting down) and the
// caller must write v itself.
func (b *visitBuffer) add(v visit) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	if len(b.pending)+len(b.inflight) >= maxPendingVisits {
		b.dropped++
		return true
	}
	b.pending = append(b.pending, v)
	return true
}

// flush writes what is pending. On failure the visits go back to the front
// of the buffer for the next flush.
func (b *visitBuffer) flush(ctx context.Context) error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	batch, dropped := b.pending, b.dropped
	b.pending, b.inflight, b.dropped = nil, batch, 0
	b.mu.Unlock()
	if dropped > 0 {
		b.log.Warn("referral: visits dropped, the buffer was full", "dropped", dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	err := insertVisits(ctx, b.db, batch)
	b.mu.Lock()
	b.inflight = nil
	if err != nil {
		room := max(0, maxPendingVisits-len(b.pending))
		if len(batch) > room {
			b.dropped += len(batch) - room
			batch = batch[len(batch)-room:]
		}
		b.pending = append(batch, b.pending...)
	}
	b.mu.Unlock()
	return err
}

// close stops the flusher and writes what is left; visits added after it
// are the caller's to write. Safe to call more than once.
func (b *visitBuffer) close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.stop)
		<-b.done
		b.closeErr = b.flush(ctx)
	})
	return b.closeErr
}

// first is the earliest visit of code codeID by deviceID since a time that
// is buffered or being written, for attribution of an order that follows a
// visit within the flush interval.
func (b *visitBuffer) first(codeID int64, deviceID string, since time.Time) (time.Time, bool) {
	if b == nil {
		return time.Time{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var at time.Time
	found := false
	for _, list := range [][]visit{b.inflight, b.pending} {
		for _, v := range list {
			if v.codeID == codeID && v.deviceID == deviceID && !v.at.Before(since) && (!found || v.at.Before(at)) {
				at, found = v.at, true
			}
		}
	}
	return at, found
}

// insertVisits writes visits with one statement per visitChunk rows. As
// recordVisit, it keeps a device's repeated visits of a code within
// visitRepeat as one: among the batch here, against the table in SQL.
func insertVisits(ctx context.Context, q sqlx.ExecerContext, visits []visit) error {
	visits = slices.Clone(visits)
	slices.SortStableFunc(visits, func(a, b visit) int {
		return cmp.Or(cmp.Compare(a.codeID, b.codeID), cmp.Compare(a.deviceID, b.deviceID), a.at.Compare(b.at))
	})
	kept := visits[:0]
	var last visit
	for i, v := range visits {
		if i > 0 && v.codeID == last.codeID && v.deviceID == last.deviceID && v.at.Sub(last.at) < visitRepeat {
			continue
		}
		kept = append(kept, v)
		last = v
	}
	// Visits of new devices first, without the look for earlier visits (most
	// of them: a link is mostly opened by people who never came before).
	slices.SortStableFunc(kept, func(a, b visit) int {
		if a.newDevice == b.newDevice {
			return 0
		}
		if a.newDevice {
			return -1
		}
		return 1
	})
	for len(kept) > 0 {
		n := min(len(kept), visitChunk)
		if i := slices.IndexFunc(kept[:n], func(v visit) bool { return v.newDevice != kept[0].newDevice }); i > 0 {
			n = i
		}
		codes, devices, ats := make([]int64, n), make([]string, n), make([]string, n)
		for i, v := range kept[:n] {
			codes[i], devices[i], ats[i] = v.codeID, v.deviceID, v.at.UTC().Format(time.RFC3339Nano)
		}
		query := insertVisitsSQL
		if !kept[0].newDevice {
			query += `
			WHERE NOT EXISTS (SELECT 1 FROM referral_visits r
				WHERE r.code_id = v.code_id AND r.device_id = v.device_id AND r.created_at > v.at - interval '1 hour')`
		}
		if _, err := q.ExecContext(ctx, query, pq.Array(codes), pq.Array(devices), pq.Array(ats)); err != nil {
			return fmt.Errorf("referral: record %d visits: %w", n, err)
		}
		kept = kept[n:]
	}
	return nil
}

const insertVisitsSQL = `INSERT INTO referral_visits (code_id, device_id, created_at)
			SELECT v.code_id, v.device_id, v.at
			FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS v(code_id, device_id, at)`
