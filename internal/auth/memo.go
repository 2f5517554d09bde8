package auth

import (
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aftercare/aftercare/internal/pagecache"
	"github.com/aftercare/aftercare/internal/settings"
)

// Feed is what the memo needs of internal/changefeed's Feed.
type Feed interface {
	// Live reports whether changes are being heard: what is read may be kept.
	Live() bool
	// Ready reports whether what is kept may be served.
	Ready() bool
}

// MemoSize is how many sessions, orders and customers the memo keeps each:
// those of the shoppers active now. An entry is about 100 bytes.
const MemoSize = 20000

// ringSize is how many recent invalidations a read's fill is checked
// against; a read that saw more go by keeps nothing.
const ringSize = 4096

// memo keeps what the session reads read (the session, the store's cache
// epochs, and the order page's versions) while the change feed says none
// of it has changed, so that a signed-in page can be answered without a
// round trip to the database. It is a changefeed.Handler.
//
// A read fills the memo only with what no invalidation heard since the read
// began has touched: every invalidation is numbered, and the last ringSize
// are kept to check a fill against.
type memo struct {
	feed Feed
	max  int

	mu        sync.Mutex
	seq       uint64
	ring      [ringSize]invalidation
	sessions  map[string]memoSession // by SHA-256 of the session id
	orders    map[int64]memoOrder
	customers map[int64]int64 // page_version
	epochs    settings.Epochs
	hasEpochs bool
}

type memoSession struct {
	customer          int64
	expires, lastSeen time.Time
}

type memoOrder struct {
	owner, version int64
}

// invalidation is one key a notification named: kind 's' (key), 'o' or
// 'c' (id), 'e' or '*'.
type invalidation struct {
	seq  uint64
	kind byte
	id   int64
	key  string
}

func newMemo(feed Feed, max int) *memo {
	m := &memo{feed: feed, max: max}
	m.clear()
	return m
}

func (m *memo) clear() {
	m.sessions = map[string]memoSession{}
	m.orders = map[int64]memoOrder{}
	m.customers = map[int64]int64{}
	m.hasEpochs = false
}

// memoHit is what a lookup found.
type memoHit struct {
	customer        int64
	lastSeen        time.Time
	epochs          settings.Epochs
	orderVersion    int64
	customerVersion int64
}

// lookup returns what the memo keeps for the session hash (with the epochs
// when epochs is set, and order's versions when order > 0), or false when
// anything is missing, the session has expired at now, or the feed is not
// ready.
func (m *memo) lookup(hash []byte, epochs bool, order int64, now time.Time) (memoHit, bool) {
	pagecache.MemoLookups.Add(1)
	if !m.feed.Ready() {
		return memoHit{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(hash)]
	if !ok || !now.Before(s.expires) {
		return memoHit{}, false
	}
	h := memoHit{customer: s.customer, lastSeen: s.lastSeen}
	if epochs {
		if !m.hasEpochs {
			return memoHit{}, false
		}
		h.epochs = m.epochs
	}
	if order > 0 {
		o, ok := m.orders[order]
		if !ok || o.owner != s.customer {
			return memoHit{}, false
		}
		cv, ok := m.customers[s.customer]
		if !ok {
			return memoHit{}, false
		}
		h.orderVersion, h.customerVersion = o.version, cv
	}
	pagecache.MemoHits.Add(1)
	return h, true
}

// begin numbers a read about to be made, for fill.
func (m *memo) begin() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// memoFill is what a read found: a live session, and what else it read.
type memoFill struct {
	hash              []byte
	customer          int64
	expires, lastSeen time.Time
	epochs            *settings.Epochs
	order             int64 // 0: no order read
	orderVersion      int64
	customerVersion   int64
}

// fill keeps what a read begun at token found, but nothing an invalidation
// heard since then names.
func (m *memo) fill(token uint64, f memoFill) {
	if !m.feed.Live() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seq-token >= ringSize {
		return
	}
	session, epochs, order, customer := true, f.epochs != nil, f.order > 0, f.order > 0
	for s := token + 1; s <= m.seq; s++ {
		inv := &m.ring[s%ringSize]
		switch inv.kind {
		case '*':
			return
		case 's':
			session = session && inv.key != string(f.hash)
		case 'e':
			epochs = false
		case 'o':
			order = order && inv.id != f.order
		case 'c':
			customer = customer && inv.id != f.customer
		}
	}
	if session {
		room(m.sessions, m.max)
		m.sessions[string(f.hash)] = memoSession{customer: f.customer, expires: f.expires, lastSeen: f.lastSeen}
	}
	if epochs {
		m.epochs, m.hasEpochs = *f.epochs, true
	}
	if order {
		room(m.orders, m.max)
		m.orders[f.order] = memoOrder{owner: f.customer, version: f.orderVersion}
	}
	if customer {
		room(m.customers, m.max)
		m.customers[f.customer] = f.customerVersion
	}
}

// touched notes that the session hash's expiry slid at now (or that
// another instance slid it: either way it need not be tried again soon).
func (m *memo) touched(hash []byte, now, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[string(hash)]; ok {
		s.lastSeen = now
		if expires.After(s.expires) {
			s.expires = expires
		}
		m.sessions[string(hash)] = s
	}
}

// forget drops the session hash at once (sign-out on this instance).
func (m *memo) forget(hash []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.note('s', 0, string(hash))
	delete(m.sessions, string(hash))
}

// room makes room for one more entry in a full map by dropping one.
func room[K comparable, V any](mp map[K]V, max int) {
	if len(mp) < max {
		return
	}
	for k := range mp {
		delete(mp, k)
		return
	}
}

// note numbers one invalidation (m.mu held).
func (m *memo) note(kind byte, id int64, key string) {
	m.seq++
	m.ring[m.seq%ringSize] = invalidation{seq: m.seq, kind: kind, id: id, key: key}
}

// Changed is changefeed.Handler's: it drops what a notification names.
func (m *memo) Changed(kind byte, keys string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch kind {
	case 'e':
		m.note('e', 0, "")
		m.hasEpochs = false
		return
	case 'o', 'c', 's':
	default: // '*', or a kind this build does not know: forget everything
		m.note('*', 0, "")
		m.clear()
		return
	}
	for keys != "" {
		var key string
		key, keys, _ = strings.Cut(keys, ",")
		if kind == 's' {
			raw, err := hex.DecodeString(key)
			if err != nil {
				m.note('*', 0, "")
				m.clear()
				return
			}
			m.note('s', 0, string(raw))
			delete(m.sessions, string(raw))
			continue
		}
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			m.note('*', 0, "")
			m.clear()
			return
		}
		m.note(kind, id, "")
		if kind == 'o' {
			delete(m.orders, id)
		} else {
			delete(m.customers, id)
		}
	}
}

// Reset is changefeed.Handler's: it forgets everything.
func (m *memo) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.note('*', 0, "")
	m.clear()
}
