// Package changefeed follows the database's announcements of changes
// (LISTEN aftercare_changes, migration 00023) so that an instance may answer
// from memory what it would otherwise read on every request.
//
// The rules that keep such memory right:
//
//   - Notifications are sent by triggers in the writing transaction and
//     delivered at commit, in commit order. A Handler hears every change of
//     the kinds it keeps, from every instance, a moment after the commit.
//   - While the feed is not connected and listening, nothing may be served
//     from memory or kept in it (Live). Each time it becomes live again the
//     Handler is Reset: what was missed in between is unknown.
//   - A write made through this instance (Fence, after every unsafe HTTP
//     request) stops memory from being served (Ready) until the feed has
//     heard its own fence back, and so every change committed before it:
//     whoever made a change sees it on their next page, and so does every
//     other request this instance answers.
//   - A change made through another instance is seen here once its
//     notification arrives, normally within a millisecond of its commit.
//     When the connection dies without a word, the ping every PingEvery
//     notices it, and Ready is false once nothing has been heard for
//     Silence.
package changefeed

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Channel is the LISTEN channel of migration 00023's triggers.
const Channel = "aftercare_changes"

// PingEvery is how often the listening connection is checked; Silence is
// how long the feed may go without a ping's answer or a notification
// before memory is no longer served.
const (
	PingEvery = 5 * time.Second
	Silence   = 15 * time.Second
)

// Handler keeps memory that the feed's notifications invalidate.
type Handler interface {
	// Changed is called for each notification other than a fence: kind is
	// its first byte ('o', 'c', 's', 'e' or '*', see migration 00023), keys
	// the rest (comma-separated ids or hashes in hex, or empty).
	Changed(kind byte, keys string)
	// Reset forgets everything: changes may have been missed.
	Reset()
}

// Feed is one instance's listening connection. Its zero value is not
// usable; use Start.
type Feed struct {
	pool     *sqlx.DB
	log      *slog.Logger
	listener *pq.Listener
	instance string

	mu       sync.Mutex
	handlers []Handler
	// connected follows the listener's events, listening the first
	// LISTEN's acknowledgement; live is both (under mu).
	connected, listening bool

	live   atomic.Bool
	heard  atomic.Int64 // unix nanoseconds of the last ping answered or notification
	issued atomic.Int64 // fences asked for
	caught atomic.Int64 // the newest fence heard back (or made moot by a Reset)
	wake   chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
}

// Start connects to dsn and listens. It returns at once: the feed is Live
// once its LISTEN has been acknowledged, and reconnects by itself. pool
// sends the fences.
func Start(dsn string, pool *sqlx.DB, log *slog.Logger) *Feed {
	f := &Feed{pool: pool, log: log, instance: instanceID(), wake: make(chan struct{}, 1), done: make(chan struct{})}
	f.listener = pq.NewDialListener(keepAliveDialer{}, named(dsn), 100*time.Millisecond, 5*time.Second, f.event)
	f.wg.Add(3)
	go f.listen()
	go f.receive()
	go f.fences()
	return f
}

// Subscribe adds h; call it before serving. h is Reset when the feed next
// becomes live.
func (f *Feed) Subscribe(h Handler) {
	f.mu.Lock()
	f.handlers = append(f.handlers, h)
	f.mu.Unlock()
	h.Reset()
}

// Live reports whether the feed is connected and listening: memory may be
// kept while it is.
func (f *Feed) Live() bool {
	return f != nil && f.live.Load()
}

// Ready reports whether memory may be served now: the feed is live, has
// been heard from within Silence, and has heard back every fence.
func (f *Feed) Ready() bool {
	if f == nil || !f.live.Load() || f.caught.Load() < f.issued.Load() {
		return false
	}
	return time.Now().UnixNano()-f.heard.Load() < int64(Silence)
}

// Fence notes that this instance has just committed a write: until the
// feed hears the fence back, Ready is false. It never blocks.
func (f *Feed) Fence() {
	if f == nil {
		return
	}
	f.issued.Add(1)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Close stops listening; Ready is false from then on.
func (f *Feed) Close() {
	if f == nil || !f.closed.CompareAndSwap(false, true) {
		return
	}
	f.live.Store(false)
	close(f.done)
	_ = f.listener.Close()
	f.wg.Wait()
}

// listen issues the LISTEN (it blocks until connected) and goes live.
func (f *Feed) listen() {
	defer f.wg.Done()
	if err := f.listener.Listen(Channel); err != nil {
		if !f.closed.Load() {
			f.log.Error("change feed: listen", "error", err)
		}
		return
	}
	f.mu.Lock()
	f.listening = true
	f.mu.Unlock()
	f.goLive()
}

// event follows the listener's connection: pq re-issues the LISTEN before
// it reports a reconnection.
func (f *Feed) event(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventConnected:
		f.mu.Lock()
		f.connected = true
		f.mu.Unlock()
		f.goLive()
	case pq.ListenerEventDisconnected:
		f.mu.Lock()
		f.connected = false
		f.live.Store(false)
		f.mu.Unlock()
		f.reset()
		if !f.closed.Load() {
			f.log.Warn("change feed: disconnected; pages read the database until it is back", "error", err)
		}
	case pq.ListenerEventReconnected:
		f.mu.Lock()
		f.connected = true
		f.mu.Unlock()
		f.goLive()
		f.log.Info("change feed: reconnected")
	case pq.ListenerEventConnectionAttemptFailed:
		f.log.Warn("change feed: connection attempt failed", "error", err)
	}
}

// goLive, once the connection is up and listening, resets the handlers
// (what was missed is unknown) and then serves. Fences issued so far are
// moot: nothing read before them is kept.
func (f *Feed) goLive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed.Load() || !f.connected || !f.listening {
		return
	}
	for _, h := range f.handlers {
		h.Reset()
	}
	f.caught.Store(f.issued.Load())
	f.heard.Store(time.Now().UnixNano())
	f.live.Store(true)
}

func (f *Feed) reset() {
	f.mu.Lock()
	hs := f.handlers
	f.mu.Unlock()
	for _, h := range hs {
		h.Reset()
	}
}

// receive hands notifications to the handlers and pings the connection.
func (f *Feed) receive() {
	defer f.wg.Done()
	tick := time.NewTicker(PingEvery)
	defer tick.Stop()
	for {
		select {
		case <-f.done:
			return
		case n := <-f.listener.Notify:
			if n == nil {
				continue // after a reconnection, which goLive handled
			}
			f.heard.Store(time.Now().UnixNano())
			f.dispatch(n.Extra)
		case <-tick.C:
			if err := f.listener.Ping(); err == nil {
				f.heard.Store(time.Now().UnixNano())
			}
		}
	}
}

func (f *Feed) dispatch(payload string) {
	if payload == "" {
		return
	}
	if payload[0] == 'f' {
		inst, n, ok := strings.Cut(payload[1:], ":")
		if !ok || inst != f.instance {
			return
		}
		if v, err := strconv.ParseInt(n, 10, 64); err == nil {
			for {
				cur := f.caught.Load()
				if v <= cur || f.caught.CompareAndSwap(cur, v) {
					break
				}
			}
		}
		return
	}
	f.mu.Lock()
	hs := f.handlers
	f.mu.Unlock()
	for _, h := range hs {
		h.Changed(payload[0], payload[1:])
	}
}

// fences sends the newest fence asked for, again after a failure.
func (f *Feed) fences() {
	defer f.wg.Done()
	var sent int64
	backoff := 250 * time.Millisecond
	retry := time.NewTimer(0)
	<-retry.C
	for {
		select {
		case <-f.done:
			return
		case <-f.wake:
		case <-retry.C:
		}
		n := f.issued.Load()
		if n <= sent {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := f.pool.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, "f"+f.instance+":"+strconv.FormatInt(n, 10))
		cancel()
		if err != nil {
			// Until one gets through, pages read the database.
			if !f.closed.Load() {
				f.log.Warn("change feed: fence", "error", err, "retry_in", backoff)
			}
			retry.Reset(backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		sent, backoff = n, 250*time.Millisecond
	}
}

// ApplicationName names the listening session in pg_stat_activity.
const ApplicationName = "aftercare change feed"

// named sets the listening session's application_name, unless dsn (a URL
// or key=value pairs) sets one.
func named(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn // pq reports it
		}
		q := u.Query()
		if q.Get("application_name") == "" {
			q.Set("application_name", ApplicationName)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	if strings.Contains(dsn, "application_name=") {
		return dsn
	}
	return dsn + " application_name='" + ApplicationName + "'"
}

// instanceID names this process's fences apart from other instances'.
func instanceID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return fmt.Sprintf("%x", b)
}

// keepAliveDialer dials the listening connection with TCP keep-alives: it
// sits idle between notifications, and a peer that vanished is noticed.
type keepAliveDialer struct{}

func (keepAliveDialer) Dial(network, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}
	return d.Dial(network, address)
}

func (keepAliveDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: 15 * time.Second}
	return d.Dial(network, address)
}
