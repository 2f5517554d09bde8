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
