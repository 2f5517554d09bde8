package referral

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/aftercare/aftercare/referral/program"
)

// DefaultCacheTTL is how long the landing's code and program reads are
// kept in process (Options.CacheTTL). A change made on this instance (a code
// switched off, the program saved) drops them at once; one made on another
// instance, or in the database directly, shows within this time. Five
// seconds of a paused program still showing its offer is harmless: the claim
// (POST /r/{code}) and attribution always read the database.
//
// Codes and the program in use are read again in the background in the
// second half of their five seconds (codes in batches), so a landing in use
// does not wait for its read; a refreshed entry's five seconds count from its
// new read.
const DefaultCacheTTL = 5 * time.Second

// refreshGather is the TTL over how long the background refresh waits for
// more keys before a read (see refreshDue).
const refreshGather = 20

// maxCachedCodes bounds the memory of the code cache; past it, expired
// entries go first, then arbitrary ones (a scan of random codes cannot grow
// it without bound).
const maxCachedCodes = 10000

// ttlCache keeps loaded values for a short time, at most max of them, and
// loads a missing key once however many requests ask for it at the same
// moment (the others wait for that load).
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	items map[K]ttlItem[V]
	calls map[K]*ttlCall[V]
	// gen moves with every forget, so a load that began before it does not
	// store what it read.
	gen uint64

	// refresh, when set, reads keys again in one call: a key asked for in
	// the second half of its life is read again in the background (see
	// refreshDue), so a key in use does not expire and no request waits for
	// its read. The age of a refreshed value still counts from before the
	// read. It returns the values of the keys it found; the others expire.
	refresh    func(ctx context.Context, keys []K) (map[K]V, error)
	due        map[K]struct{}
	refreshing bool
	log        *slog.Logger
}

type ttlItem[V any] struct {
	v     V
	until time.Time
}

type ttlCall[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func newTTLCache[K comparable, V any](ttl time.Duration, max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, max: max, now: time.Now, items: map[K]ttlItem[V]{}, calls: map[K]*ttlCall[V]{}}
}

// get returns k's value, loading it with load when missing or expired.
// Errors are not cached.
func (c *ttlCache[K, V]) get(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	now := c.now()
	if it, ok := c.items[k]; ok && now.Before(it.until) {
		if c.refresh != nil && it.until.Sub(now) < c.ttl/2 {
			c.schedule(k)
		}
		c.mu.Unlock()
		return it.v, nil
	}
	if call, ok := c.calls[k]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.v, call.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	call := &ttlCall[V]{done: make(chan struct{})}
	c.calls[k] = call
	gen := c.gen
	c.mu.Unlock()

	// The load serves every request waiting on it, so the first one's
	// cancellation must not fail the others; it gets a deadline of its own.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	call.v, call.err = load(lctx)
	cancel()

	c.mu.Lock()
	if c.calls[k] == call {
		delete(c.calls, k)
	}
	if call.err == nil && gen == c.gen {
		if len(c.items) >= c.max {
			c.evict(now)
		}
		// The entry's age counts from before the read, so nothing is served
		// more than ttl after the database said it.
		c.items[k] = ttlItem[V]{v: call.v, until: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	close(call.done)
	return call.v, call.err
}

// schedule queues k for the background refresh, starting it when it is
// not running. Called with mu held.
func (c *ttlCache[K, V]) schedule(k K) {
	if _, ok := c.due[k]; ok {
		return
	}
	if c.due == nil {
		c.due = map[K]struct{}{}
	}
	c.due[k] = struct{}{}
	if !c.refreshing {
		c.refreshing = true
		go c.refreshDue()
	}
}

// refreshDue reads the keys queued by schedule, all of them in one call,
// until none is left: keys queued during a read go in the next one. A
// failed read leaves its keys to expire (the next request reads them
// itself) and pauses the refresh a moment.
//
// Each read first waits refreshGather (a twentieth of the TTL) for more
// keys to fall due: codes become due one by one as they are asked for,
// and reading them as they came made about 65 reads a second of four codes
// each under the bench's load over 1,000 codes, 6% of the server's CPU
// (about 3 reads a second and under half a percent with the wait). A key
// is queued with at least half its TTL left, so the wait never lets it
// expire; keys read together expire together, and are read again
// together.
func (c *ttlCache[K, V]) refreshDue() {
	for {
		time.Sleep(c.ttl / refreshGather)
		c.mu.Lock()
		if len(c.due) == 0 {
			c.refreshing = false
			c.mu.Unlock()
			return
		}
		keys := make([]K, 0, len(c.due))
		for k := range c.due {
			keys = append(keys, k)
		}
		clear(c.due)
		gen, start := c.gen, c.now()
		c.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		vals, err := c.refresh(ctx, keys)
		cancel()
		if err != nil {
			if c.log != nil {
				c.log.Warn("referral: read the kept landing data again (each entry is read when it expires)", "error", err)
			}
			time.Sleep(c.ttl / 10)
			continue
		}
		until := start.Add(c.ttl)
		c.mu.Lock()
		if gen == c.gen {
			for k, v := range vals {
				// A read made since by a request may be newer.
				if it, ok := c.items[k]; !ok || it.until.Before(until) {
					if !ok && len(c.items) >= c.max {
						c.evict(start)
					}
					c.items[k] = ttlItem[V]{v: v, until: until}
				}
			}
		}
		c.mu.Unlock()
	}
}

// evict makes room: expired entries first, then arbitrary ones (Go's map
// order) down to three quarters of max. Called with mu held.
func (c *ttlCache[K, V]) evict(now time.Time) {
	for k, it := range c.items {
		if !now.Before(it.until) {
			delete(c.items, k)
		}
	}
	for k := range c.items {
		if len(c.items) < c.max*3/4 {
			break
		}
		delete(c.items, k)
	}
}

// peek returns k's value when it is held and fresh, without loading.
func (c *ttlCache[K, V]) peek(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok && c.now().Before(it.until) {
		return it.v, true
	}
	var zero V
	return zero, false
}

// put stores v under k for the TTL.
func (c *ttlCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.items[k]; !ok && len(c.items) >= c.max {
		c.evict(now)
	}
	c.items[k] = ttlItem[V]{v: v, until: now.Add(c.ttl)}
}

// forget drops every entry and makes loads under way not store theirs:
// the next request reads the database.
func (c *ttlCache[K, V]) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.items)
	clear(c.calls)
}

// landingCode is what the landing needs of a code: the code and its
// referrer's name, or known false for a code that does not exist (kept too,
// so a mistyped or guessed code does not cost a read per hit).
type landingCode struct {
	code Code
	// first is the first word of the referrer's name, as the landing shows it.
	first string
	known bool
}

// programView is the program with what the landing and the order page's
// panel show of it, worked out once per load.
type programView struct {
	p      program.Settings
	offer  string
	reward string
	// terms is the first line of the terms, the one the landing shows.
	terms []string
}

func newProgramView(p program.Settings) programView {
	return programView{p: p, offer: p.Friend.Describe(p.Currency), reward: p.DescribeReward(p.Referrer), terms: p.Terms(0)[:1]}
}

// landingCache holds the landing's reads of codes and of the program.
type landingCache struct {
	ttl      time.Duration
	codes    *ttlCache[string, landingCode]
	programs *ttlCache[struct{}, programView]
}

// newLandingCache is the cache over db; codes and the program in use are
// read again in the background before they expire, codes in batches.
func newLandingCache(db *sqlx.DB, log *slog.Logger, ttl time.Duration) *landingCache {
	lc := &landingCache{ttl: ttl, codes: newTTLCache[string, landingCode](ttl, maxCachedCodes),
		programs: newTTLCache[struct{}, programView](ttl, 1)}
	lc.codes.log, lc.programs.log = log, log
	lc.codes.refresh = func(ctx context.Context, keys []string) (map[string]landingCode, error) {
		return loadLandingCodes(ctx, db, keys)
	}
	lc.programs.refresh = func(ctx context.Context, _ []struct{}) (map[struct{}]programView, error) {
		p, err := program.Load(ctx, db)
		if err != nil {
			return nil, err
		}
		return map[struct{}]programView{{}: newProgramView(p)}, nil
	}
	return lc
}

// setClock makes both caches tell time by now (tests).
func (lc *landingCache) setClock(now func() time.Time) {
	lc.codes.now, lc.programs.now = now, now
}

// plausibleCode reports whether normalized s could be a code at all (the
// table's check allows A-Z, 2-9 and one dash, at most 21 characters); other
// strings are unknown without a read and without taking a cache entry.
func plausibleCode(s string) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; !(b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
			return false
		}
	}
	return true
}

// landingCodeRow is a code and its referrer's name.
type landingCodeRow struct {
	Code
	Name string `db:"name"`
}

func (r landingCodeRow) landingCode() landingCode {
	return landingCode{code: r.Code, first: firstName(r.Name), known: true}
}

// loadLandingCode reads a code and its referrer's name in one statement.
func loadLandingCode(ctx context.Context, q sqlx.QueryerContext, code string) (landingCode, error) {
	var row landingCodeRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT c.id, c.customer_id, c.code, c.disabled_at, c.created_at, u.name
		FROM referral_codes c JOIN customers u ON u.id = c.customer_id WHERE c.code = $1`, code)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return landingCode{}, nil
		}
		return landingCode{}, fmt.Errorf("referral: code %q: %w", code, err)
	}
	return row.landingCode(), nil
}

// loadLandingCodes is loadLandingCode of many codes in one statement; a code
// that does not exist is there as unknown.
//
// The name is a subquery per code, not a join: for the ~200 codes of a
// background refresh PostgreSQL hashed the whole customers table for the
// join (5-8 ms a read on the medium store, 1.5 ms this way, and the table
// only grows). A code always has its customer (a foreign key that cascades).
func loadLandingCodes(ctx context.Context, q sqlx.QueryerContext, codes []string) (map[string]landingCode, error) {
	var rows []landingCodeRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT c.id, c.customer_id, c.code, c.disabled_at, c.created_at,
			(SELECT u.name FROM customers u WHERE u.id = c.customer_id) AS name
		FROM referral_codes c WHERE c.code = ANY($1)`, pq.Array(codes))
	if err != nil {
		return nil, fmt.Errorf("referral: %d codes: %w", len(codes), err)
	}
	out := make(map[string]landingCode, len(codes))
	for _, c := range codes {
		out[c] = landingCode{}
	}
	for _, r := range rows {
		out[r.Code.Code] = r.landingCode()
	}
	return out, nil
}
