package settings

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
)

// Epochs are the numbers that move with every change to the settings
// (settings, store_settings) and to the catalog (products, pairings, staff);
// triggers move them in the writing transaction (migration 00013).
type Epochs struct {
	Settings int64 `db:"settings"`
	Catalog  int64 `db:"catalog"`
}

// Cache serves Load and LoadSection from memory to requests that began with
// Begin, for as long as the settings epoch read at Begin is the newest the
// cache has seen. Each request pays one small read (the epochs) instead of
// one per section each part of the page reads, and still sees a change made
// by any instance as soon as it is committed.
type Cache struct {
	epochs *db.Stmt

	mu       sync.Mutex
	read     Epochs    // the newest epochs Begin read
	readAt   time.Time // when
	epoch    int64
	store    *Store
	sections map[string][]byte // nil: no row, the defaults apply
}

// NewCache returns an empty cache over db.
func NewCache(pool *sqlx.DB) *Cache {
	return &Cache{epochs: db.NewStmt(pool, epochsSQL), epoch: -1, sections: map[string][]byte{}}
}

// view is one request's look at the cache.
type view struct {
	c      *Cache
	epochs Epochs
	// dirty is set when the request itself saved settings: from then on it
	// reads them from the database, never from what it cached before.
	dirty atomic.Bool
	// pending is set while a view begun with Defer has no epochs yet; it
	// serves nothing from the cache until Settle or SettleNow.
	pending atomic.Bool
	settle  func(context.Context) error
}

type viewKey struct{}

// Begin reads the epochs and returns ctx carrying a view of the cache at
// them, for Load and LoadSection.
func (c *Cache) Begin(ctx context.Context) (context.Context, Epochs, error) {
	var e Epochs
	if err := c.epochs.GetContext(ctx, &e); err != nil {
		return ctx, e, fmt.Errorf("settings: epochs: %w", err)
	}
	c.saw(e)
	return context.WithValue(ctx, viewKey{}, &view{c: c, epochs: e}), e, nil
}

// RelaxedAge is how old the epochs BeginRelaxed reuses may be.
const RelaxedAge = time.Second

// BeginRelaxed is Begin for pages that may show settings up to RelaxedAge
// old (anonymous landing pages that cache more than that anyway): it
// reuses the epochs another request read within RelaxedAge instead of
// reading them again.
func (c *Cache) BeginRelaxed(ctx context.Context) (context.Context, Epochs, error) {
	c.mu.Lock()
	e, fresh := c.read, !c.readAt.IsZero() && time.Since(c.readAt) < RelaxedAge
	c.mu.Unlock()
	if !fresh {
		return c.Begin(ctx)
	}
	return context.WithValue(ctx, viewKey{}, &view{c: c, epochs: e}), e, nil
}

// Defer returns ctx carrying a view of the cache whose epochs are read
// later, in the statement that reads the session (auth.Sessions.Load), to
// save the request a round trip: that statement joins EpochJoin and
// calls Settle, which then calls onSettle (the server puts the store's
// branding in the view locals there). Until settled the view serves
// nothing from memory, and EpochsFrom reports none.
func (c *Cache) Defer(ctx context.Context, onSettle func(context.Context) error) context.Context {
	v := &view{c: c, settle: onSettle}
	v.pending.Store(true)
	return context.WithValue(ctx, viewKey{}, v)
}

// EpochJoin joins the epochs to a statement that selects one row, for
// Settle, as one row per epoch with the columns EpochJoinColumns: the
// caller reads them together with what it reads itself (one snapshot, one
// round trip) and folds them with Epochs.Set. One scan of the table's one
// page costs PostgreSQL less than a subquery per epoch (two index scans).
// It is a LEFT JOIN so that the statement's own row comes back even
// without the table's rows (the epochs are then 0).
const EpochJoin = `LEFT JOIN cache_epochs epochs ON true`

// EpochJoinColumns are EpochJoin's columns, epoch_name and epoch (both
// NULL without rows).
const EpochJoinColumns = `epochs.name AS epoch_name, epochs.epoch AS epoch`

// Set keeps epoch as the one named name, one of EpochJoin's rows; other
// names are ignored.
func (e *Epochs) Set(name []byte, epoch int64) {
	switch string(name) {
	case "settings":
		e.Settings = epoch
	case "catalog":
		e.Catalog = epoch
	}
}

// Pending reports whether ctx carries a view begun with Defer and not
// settled yet.
func Pending(ctx context.Context) bool {
	v, ok := ctx.Value(viewKey{}).(*view)
	return ok && v.pending.Load()
}

// Settle gives the deferred view in ctx the epochs e, read (EpochJoin)
// by the caller's own statement during this request, and runs what Defer
// was given to run then. It does nothing for a view that is not pending.
func Settle(ctx context.Context, e Epochs) error {
	v, ok := ctx.Value(viewKey{}).(*view)
	if !ok || !v.pending.Load() {
		return nil
	}
	v.c.saw(e)
	v.epochs = e
	v.pending.Store(false)
	if v.settle != nil {
		return v.settle(ctx)
	}
	return nil
}

// SettleNow reads the epochs for the deferred view in ctx, when the
// statement that would have read them does not run (no session cookie).
func SettleNow(ctx context.Context) error {
	v, ok := ctx.Value(viewKey{}).(*view)
	if !ok || !v.pending.Load() {
		return nil
	}
	var e Epochs
	if err := v.c.epochs.GetContext(ctx, &e); err != nil {
		return fmt.Errorf("settings: epochs: %w", err)
	}
	return Settle(ctx, e)
}

// saw notes epochs read by a request, for BeginRelaxed.
func (c *Cache) saw(e Epochs) {
	c.mu.Lock()
	if e.Settings >= c.read.Settings {
		c.read, c.readAt = e, time.Now()
	}
	c.mu.Unlock()
}

const epochsSQL = `SELECT
	COALESCE((SELECT epoch FROM cache_epochs WHERE name = 'settings'), 0) AS settings,
	COALESCE((SELECT epoch FROM cache_epochs WHERE name = 'catalog'), 0) AS catalog`

// EpochsFrom returns the epochs Begin read for this request.
func EpochsFrom(ctx context.Context) (Epochs, bool) {
	if v, ok := ctx.Value(viewKey{}).(*view); ok && !v.pending.Load() {
		return v.epochs, true
	}
	return Epochs{}, false
}

// cached returns the request's view when q may be served from the cache: a
// request that began with Begin, reading through the pool (a transaction
// may have changed the settings itself, or need them locked), and that has
// not saved settings itself.
func cached(ctx context.Context, q any) *view {
	v, ok := ctx.Value(viewKey{}).(*view)
	if !ok || v.dirty.Load() || v.pending.Load() {
		return nil
	}
	if _, pool := q.(*sqlx.DB); !pool {
		return nil
	}
	return v
}

// markDirty notes that the request saved settings.
func markDirty(ctx context.Context) {
	if v, ok := ctx.Value(viewKey{}).(*view); ok {
		v.dirty.Store(true)
	}
}

// lookup calls get, under the cache's lock, to read what the cache holds
// for the view's epoch. A view newer
// than the cache empties it; an older one (a request that began before a
// change another request has seen) is served from the database.
func (c *Cache) lookup(v *view, get func() bool) (hit, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case v.epochs.Settings < c.epoch:
		return false, false
	case v.epochs.Settings > c.epoch:
		c.epoch, c.store, c.sections = v.epochs.Settings, nil, map[string][]byte{}
		return false, true
	}
	return get(), true
}

// keep stores what was read for epoch, unless the cache moved on meanwhile.
func (c *Cache) keep(epoch int64, fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch == epoch {
		fn()
	}
}
