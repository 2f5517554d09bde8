// Package settings reads and writes the store's settings row: branding and
// time zone used by pages and emails.
package settings

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Store is the store's identity as shoppers see it.
type Store struct {
	StoreName    string `db:"store_name"`
	StoreURL     string `db:"store_url"`
	LogoURL      string `db:"logo_url"`
	AccentColor  string `db:"accent_color"`
	SupportEmail string `db:"support_email"`
	TimeZone     string `db:"time_zone"`
}

// Location returns the store's time zone, or UTC when it is unknown.
func (s Store) Location() *time.Location {
	if loc, ok := Zone(s.TimeZone); ok {
		return loc
	}
	return time.UTC
}

// Zone is time.LoadLocation kept in memory: LoadLocation reads and parses
// the zone database on every call, which was 9% of the order page's CPU
// (pages ask for the zone in several places). Zone names are few.
func Zone(name string) (*time.Location, bool) {
	if z, ok := locations.Load(name); ok {
		return z.(zone).loc, z.(zone).ok
	}
	loc, err := time.LoadLocation(name)
	locations.Store(name, zone{loc, err == nil})
	return loc, err == nil
}

type zone struct {
	loc *time.Location
	ok  bool
}

var locations sync.Map // name -> zone

// Load returns the settings.
// A request that began with Cache.Begin is served from the cache.
func Load(ctx context.Context, q sqlx.QueryerContext) (Store, error) {
	v := cached(ctx, q)
	if v == nil {
		return loadStore(ctx, q)
	}
	var s Store
	hit, keep := v.c.lookup(v, func() bool {
		if v.c.store != nil {
			s = *v.c.store
		}
		return v.c.store != nil
	})
	if hit {
		return s, nil
	}
	s, err := loadStore(ctx, q)
	if err == nil && keep {
		v.c.keep(v.epochs.Settings, func() { v.c.store = &s })
	}
	return s, err
}

func loadStore(ctx context.Context, q sqlx.QueryerContext) (Store, error) {
	var s Store
	err := sqlx.GetContext(ctx, q, &s, `SELECT store_name, store_url, logo_url, accent_color, support_email, time_zone FROM settings`)
	if err != nil {
		return s, fmt.Errorf("settings: load: %w", err)
	}
	return s, nil
}

// Save replaces the settings; the caller validates them.
func Save(ctx context.Context, q sqlx.ExecerContext, s Store) error {
	if _, err := time.LoadLocation(s.TimeZone); err != nil {
		return fmt.Errorf("settings: unknown time zone %q", s.TimeZone)
	}
	markDirty(ctx)
	_, err := q.ExecContext(ctx, `UPDATE settings SET store_name = $1, store_url = $2, logo_url = $3, accent_color = $4,
		support_email = $5, time_zone = $6, updated_at = now()`,
		s.StoreName, s.StoreURL, s.LogoURL, s.AccentColor, s.SupportEmail, s.TimeZone)
	if err != nil {
		return fmt.Errorf("settings: save: %w", err)
	}
	return nil
}
