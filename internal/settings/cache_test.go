package settings

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

type testSection struct {
	Days int `json:"days"`
}

// TestCacheServesCurrentSettingsOnly checks the settings cache against
// changes made behind its back (another instance, psql): a request that
// begins after a change sees it; one that saved settings itself reads them
// back from the database; reads inside a transaction are never cached.
func TestCacheServesCurrentSettingsOnly(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	c := NewCache(db)
	begin := func() context.Context {
		t.Helper()
		rctx, _, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rctx
	}
	name := func(rctx context.Context) string {
		t.Helper()
		s, err := Load(rctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return s.StoreName
	}
	days := func(rctx context.Context) int {
		t.Helper()
		v := testSection{Days: 30}
		if err := LoadSection(rctx, db, "test", &v); err != nil {
			t.Fatal(err)
		}
		return v.Days
	}
	if _, err := db.Exec(`UPDATE settings SET store_name = 'One'`); err != nil {
		t.Fatal(err)
	}
	r1 := begin()
	if name(r1) != "One" || days(r1) != 30 {
		t.Fatalf("first read: %q %d", name(r1), days(r1))
	}
	// Changed behind the cache's back: the next request sees it.
	if _, err := db.Exec(`UPDATE settings SET store_name = 'Two'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO store_settings (section, value, updated_by) VALUES ('test', '{"days": 14}', 't')`); err != nil {
		t.Fatal(err)
	}
	r2 := begin()
	if name(r2) != "Two" || days(r2) != 14 {
		t.Fatalf("after a change: %q %d", name(r2), days(r2))
	}
	// A request that saves reads its own write.
	r3 := begin()
	_ = days(r3)
	if err := SaveSection(r3, db, "test", testSection{Days: 7}, "t"); err != nil {
		t.Fatal(err)
	}
	if days(r3) != 7 {
		t.Fatal("a request did not read back the section it saved")
	}
	// A transaction reads through itself, uncommitted writes included,
	// and its reads are not kept for others.
	r4 := begin()
	tx := db.MustBegin()
	if _, err := tx.Exec(`UPDATE settings SET store_name = 'Uncommitted'`); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(r4, tx); err != nil || s.StoreName != "Uncommitted" {
		t.Fatalf("in a transaction: %q %v", s.StoreName, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := name(begin()); got != "Two" {
		t.Fatalf("after the rollback: %q", got)
	}
	// A request that began before a change (an old epoch) is not served the
	// cache's newer state as its own, and does not overwrite it.
	if _, err := db.Exec(`UPDATE settings SET store_name = 'Three'`); err != nil {
		t.Fatal(err)
	}
	if got := name(begin()); got != "Three" {
		t.Fatalf("after a third change: %q", got)
	}
	if got := name(r2); got != "Three" {
		t.Fatalf("an old request read %q; it reads the database, which says Three", got)
	}
	if got := name(begin()); got != "Three" {
		t.Fatalf("the old request overwrote the cache: %q", got)
	}
}

// TestBeginRelaxedReusesRecentEpochs checks that a relaxed request makes no
// read while another read the epochs within RelaxedAge, and reads them when
// none did: a change shows on relaxed pages within RelaxedAge.
func TestBeginRelaxedReusesRecentEpochs(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	c := NewCache(db)
	_, first, err := c.BeginRelaxed(ctx) // nothing read yet: reads
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE settings SET store_name = 'Moved'`); err != nil {
		t.Fatal(err)
	}
	_, reused, err := c.BeginRelaxed(ctx)
	if err != nil || reused != first {
		t.Fatalf("within RelaxedAge: %+v, want the epochs read before %+v (%v)", reused, first, err)
	}
	_, strict, err := c.Begin(ctx)
	if err != nil || strict.Settings <= first.Settings {
		t.Fatalf("Begin did not read the moved epoch: %+v (%v)", strict, err)
	}
	// A strict read refreshes what relaxed requests reuse.
	if _, again, _ := c.BeginRelaxed(ctx); again != strict {
		t.Fatalf("relaxed after a strict read: %+v, want %+v", again, strict)
	}
	c.mu.Lock()
	c.readAt = c.readAt.Add(-2 * RelaxedAge)
	c.mu.Unlock()
	if _, err := db.Exec(`UPDATE settings SET store_name = 'Moved again'`); err != nil {
		t.Fatal(err)
	}
	if _, aged, _ := c.BeginRelaxed(ctx); aged.Settings <= strict.Settings {
		t.Fatalf("older than RelaxedAge, the epochs were not read again: %+v", aged)
	}
}
