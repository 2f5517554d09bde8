package settings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// LoadSection reads a feature's settings (a JSON document) into v, a pointer
// to a struct already holding the defaults: stored fields override them, and
// fields added in later versions keep their defaults.
//
// A request that began with Cache.Begin is served from the cache.
func LoadSection(ctx context.Context, q sqlx.QueryerContext, section string, v any) error {
	var raw []byte
	var err error
	if vw := cached(ctx, q); vw == nil {
		raw, err = loadSection(ctx, q, section)
	} else {
		hit, keep := vw.c.lookup(vw, func() bool {
			r, ok := vw.c.sections[section]
			raw = r
			return ok
		})
		if !hit {
			raw, err = loadSection(ctx, q, section)
			if err == nil && keep {
				vw.c.keep(vw.epochs.Settings, func() { vw.c.sections[section] = raw })
			}
		}
	}
	if err != nil || raw == nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("settings: decode %s: %w", section, err)
	}
	return nil
}

// loadSection reads the stored document of section; nil when there is none.
func loadSection(ctx context.Context, q sqlx.QueryerContext, section string) ([]byte, error) {
	var raw []byte
	err := sqlx.GetContext(ctx, q, &raw, `SELECT value FROM store_settings WHERE section = $1`, section)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("settings: load %s: %w", section, err)
	}
	return raw, nil
}

// SaveSection stores v as section's settings; the caller has validated it.
func SaveSection(ctx context.Context, q sqlx.ExecerContext, section string, v any, by string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("settings: encode %s: %w", section, err)
	}
	markDirty(ctx)
	_, err = q.ExecContext(ctx, `INSERT INTO store_settings (section, value, updated_by) VALUES ($1, $2, $3)
		ON CONFLICT (section) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()`,
		section, raw, by)
	if err != nil {
		return fmt.Errorf("settings: save %s: %w", section, err)
	}
	return nil
}
