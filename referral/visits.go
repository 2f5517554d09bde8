package referral

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
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
	// spare is the last flush's array, emptied: the next interval's
	// visits go there instead of growing a new one from nothing.
	spare   []visit
	dropped int
	closed  bool

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
	b.pending, b.inflight, b.dropped, b.spare = b.spare, batch, 0, nil
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
	} else if cap(batch) <= 4*visitChunk {
		clear(batch) // the device ids, for the collector
		b.spare = batch[:0]
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
// visitRepeat as one: among the batch here, against the table in SQL. It
// does not change visits (the buffer's first reads them meanwhile).
//
// Visits of new devices (most of them: a link is mostly opened by people
// who never came before) are each the first of their device, so they are
// written as they are, unsorted and without the look for earlier visits;
// only visits of devices seen before, and the new devices they follow up
// within this batch, are sorted and thinned out.
func insertVisits(ctx context.Context, q sqlx.ExecerContext, visits []visit) error {
	fresh := make([]visit, 0, len(visits))
	var known []visit
	for _, v := range visits {
		if v.newDevice {
			fresh = append(fresh, v)
		} else {
			known = append(known, v)
		}
	}
	if len(known) > 0 {
		fresh, known = thinVisits(fresh, known)
	}
	for _, list := range [][]visit{fresh, known} {
		for len(list) > 0 {
			n := min(len(list), visitChunk)
			if err := insertVisitRows(ctx, q, list[:n]); err != nil {
				return err
			}
			list = list[n:]
		}
	}
	return nil
}

// thinVisits keeps one visit per device and code within visitRepeat: the
// known devices' visits, with the fresh ones of the same device and code,
// sorted by code, device and time; a visit within visitRepeat of the last
// one kept is dropped. It returns the fresh and known visits kept.
func thinVisits(fresh, known []visit) (keptFresh, keptKnown []visit) {
	type key struct {
		codeID   int64
		deviceID string
	}
	repeated := make(map[key]struct{}, len(known))
	for _, v := range known {
		repeated[key{v.codeID, v.deviceID}] = struct{}{}
	}
	mixed := slices.Clone(known)
	keptFresh = make([]visit, 0, len(fresh))
	for _, v := range fresh {
		if _, ok := repeated[key{v.codeID, v.deviceID}]; ok {
			mixed = append(mixed, v)
		} else {
			keptFresh = append(keptFresh, v)
		}
	}
	slices.SortFunc(mixed, func(a, b visit) int {
		return cmp.Or(cmp.Compare(a.codeID, b.codeID), strings.Compare(a.deviceID, b.deviceID), a.at.Compare(b.at))
	})
	var last visit
	for i, v := range mixed {
		if i > 0 && v.codeID == last.codeID && v.deviceID == last.deviceID && v.at.Sub(last.at) < visitRepeat {
			continue
		}
		last = v
		if v.newDevice {
			keptFresh = append(keptFresh, v)
		} else {
			keptKnown = append(keptKnown, v)
		}
	}
	return keptFresh, keptKnown
}

// insertVisitRows writes visits that are all of new devices or all of
// known ones in one statement; a known device's visit is skipped when the
// table has one of the device and code within the hour before.
func insertVisitRows(ctx context.Context, q sqlx.ExecerContext, visits []visit) error {
	// The three arrays as PostgreSQL's text literals, written straight
	// into one buffer each (pq.Array built them through a slice per column,
	// quoting every device id byte by byte, per visit).
	codes, devices, ats := make([]byte, 0, 8*len(visits)+2), make([]byte, 0, 32*len(visits)+2), make([]byte, 0, 18*len(visits)+2)
	codes, devices, ats = append(codes, '{'), append(devices, '{'), append(ats, '{')
	for i, v := range visits {
		if i > 0 {
			codes, devices, ats = append(codes, ','), append(devices, ','), append(ats, ',')
		}
		codes = strconv.AppendInt(codes, v.codeID, 10)
		devices = appendArrayString(devices, v.deviceID)
		// PostgreSQL keeps microseconds; it would round a longer text too.
		ats = strconv.AppendInt(ats, v.at.Round(time.Microsecond).UnixMicro(), 10)
	}
	codes, devices, ats = append(codes, '}'), append(devices, '}'), append(ats, '}')
	query := insertVisitsSQL
	if !visits[0].newDevice {
		query += `
			AND NOT EXISTS (SELECT 1 FROM referral_visits r
				WHERE r.code_id = v.code_id AND r.device_id = v.device_id AND r.created_at > v.at - interval '1 hour')`
	}
	if _, err := q.ExecContext(ctx, query, string(codes), string(devices), string(ats)); err != nil {
		return fmt.Errorf("referral: record %d visits: %w", len(visits), err)
	}
	return nil
}

// appendArrayString appends s as an element of an array's text literal:
// double-quoted, with quotes and backslashes escaped.
func appendArrayString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// insertVisitsSQL takes the times as microseconds since the epoch: cheaper
// to send than text. A code deleted since it was read (its customer erased)
// gets no visit: the semi-join stands in for the foreign key that migration
// 00016 dropped, so that a visit no longer locks its code's row. The codes
// are looked up by their key, each once (an = ANY index scan sorts and
// de-duplicates the array): a join on the whole batch made PostgreSQL hash
// every code of the store for each flush, 16,000 rows to keep the ~1,000
// a batch names on the medium store and ten times that on the large one.
const insertVisitsSQL = `INSERT INTO referral_visits (code_id, device_id, created_at)
			SELECT v.code_id, v.device_id, v.at
			FROM (SELECT u.code_id, u.device_id, timestamptz 'epoch' + u.us * interval '1 microsecond' AS at
				FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(code_id, device_id, us)) AS v
			WHERE v.code_id IN (SELECT c.id FROM referral_codes c WHERE c.id = ANY ($1::bigint[]))`
