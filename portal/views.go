package portal

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ViewRecorder notes order-page views for the dashboard's "where is my
// order" figures without a write per view: views are kept in memory and
// written every FlushEvery as one multi-row insert. A crash (not a normal
// shutdown, which flushes) may lose the views of the last FlushEvery; that
// is a count on a dashboard, not anything a shopper or the store relies on.
type ViewRecorder struct {
	db  *sqlx.DB
	log *slog.Logger

	mu      sync.Mutex
	orders  []int64
	times   []time.Time
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

// FlushEvery is how long a view waits in memory at most.
const FlushEvery = 200 * time.Millisecond

// flushAt is how many waiting views trigger a write before FlushEvery.
const flushAt = 2000

// NewViewRecorder starts a recorder writing to db; Close flushes and stops it.
func NewViewRecorder(db *sqlx.DB, log *slog.Logger) *ViewRecorder {
	if log == nil {
		log = slog.Default()
	}
	r := &ViewRecorder{db: db, log: log, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

// Record notes a view of orderID now. The caller has checked that the order
// is the signed-in customer's.
func (r *ViewRecorder) Record(orderID int64, at time.Time) {
	r.mu.Lock()
	r.orders = append(r.orders, orderID)
	r.times = append(r.times, at)
	full := len(r.orders) >= flushAt
	r.mu.Unlock()
	if full {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *ViewRecorder) loop() {
	defer close(r.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-r.kick:
		case <-r.stop:
			r.flush()
			return
		}
		r.flush()
	}
}

// flush writes what is waiting. On failure (the database is away) the views
// go back to wait for the next flush, up to a bound, so an outage neither
// loses a short burst nor grows memory without limit.
func (r *ViewRecorder) flush() {
	r.mu.Lock()
	orders, times := r.orders, r.times
	r.orders, r.times = nil, nil
	r.mu.Unlock()
	if len(orders) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The order may have been erased since it was viewed: the join skips it.
	_, err := r.db.ExecContext(ctx, `INSERT INTO tracking_views (order_id, viewed_at)
		SELECT v.order_id, v.viewed_at FROM unnest($1::bigint[], $2::timestamptz[]) AS v(order_id, viewed_at)
		JOIN orders o ON o.id = v.order_id`, pq.Array(orders), pq.Array(times))
	if err == nil {
		return
	}
	r.log.Warn("order page views not recorded yet", "views", len(orders), "error", fmt.Errorf("portal: record views: %w", err))
	r.mu.Lock()
	if len(r.orders)+len(orders) <= 50*flushAt {
		r.orders, r.times = append(orders, r.orders...), append(times, r.times...)
	}
	r.mu.Unlock()
}

// Close writes the views still waiting and stops the recorder.
func (r *ViewRecorder) Close() {
	r.closing.Do(func() { close(r.stop) })
	<-r.done
}
