package settings_test

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/settings"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type policy struct {
	WindowDays int      `json:"window_days"`
	Reasons    []string `json:"reasons"`
	NewField   string   `json:"new_field"`
}

func TestSectionsKeepDefaultsForWhatWasNeverSaved(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	p := policy{WindowDays: 30, NewField: "default"}
	if err := settings.LoadSection(ctx, d, "returns", &p); err != nil || p.WindowDays != 30 {
		t.Fatalf("unsaved section: %+v, %v", p, err)
	}
	if _, err := d.ExecContext(ctx, `INSERT INTO store_settings (section, value) VALUES ('returns', '{"window_days": 14, "reasons": ["damaged"]}')`); err != nil {
		t.Fatal(err)
	}
	p = policy{WindowDays: 30, NewField: "default"}
	if err := settings.LoadSection(ctx, d, "returns", &p); err != nil {
		t.Fatal(err)
	}
	if p.WindowDays != 14 || len(p.Reasons) != 1 || p.NewField != "default" {
		t.Fatalf("loaded %+v", p)
	}
	p.WindowDays = 21
	if err := settings.SaveSection(ctx, d, "returns", p, "staff:1"); err != nil {
		t.Fatal(err)
	}
	var back policy
	if err := settings.LoadSection(ctx, d, "returns", &back); err != nil || back.WindowDays != 21 {
		t.Fatalf("after save: %+v, %v", back, err)
	}
}

func TestStoreSettingsRoundTrip(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	s, err := settings.Load(ctx, d)
	if err != nil || s.TimeZone != "UTC" {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
	s.TimeZone, s.StoreName = "Europe/Berlin", "Kaffee"
	if err := settings.Save(ctx, d, s); err != nil {
		t.Fatal(err)
	}
	if got, _ := settings.Load(ctx, d); got.StoreName != "Kaffee" || got.Location().String() != "Europe/Berlin" {
		t.Fatalf("after save: %+v", got)
	}
	s.TimeZone = "Mars/Olympus"
	if err := settings.Save(ctx, d, s); err == nil {
		t.Fatal("an unknown time zone was saved")
	}
}
