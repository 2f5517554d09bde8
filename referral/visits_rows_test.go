package referral

import (
	"context"
	"testing"
	"time"
)

// insertVisitRows writes the arrays' text by hand: every visit comes back
// as it was, whatever its device id holds (ids from cookies are checked by
// validDevice, but the writer must not depend on it), with its time to the
// microsecond.
func TestVisitRowsArriveAsTheyWere(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	joe := w.referrer("joe@example.com", "Joe Bloggs", order{})
	at := time.Date(2026, 11, 26, 16, 0, 0, 123456789, time.UTC)
	devices := []string{`plain-device_1`, `with "quotes"`, `back\slash\`, `comma,and{braces}`, `NULL`, ` spaced `, `ünïcode`, ``}
	var visits []visit
	for i, d := range devices {
		code := jane.ID
		if i%2 == 1 {
			code = joe.ID
		}
		visits = append(visits, visit{codeID: code, deviceID: d, at: at.Add(time.Duration(i) * time.Second), newDevice: true})
	}
	if err := insertVisitRows(context.Background(), w.db, visits); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		CodeID    int64     `db:"code_id"`
		DeviceID  string    `db:"device_id"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := w.db.Select(&rows, `SELECT code_id, device_id, created_at FROM referral_visits ORDER BY created_at`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(visits) {
		t.Fatalf("%d rows for %d visits", len(rows), len(visits))
	}
	for i, r := range rows {
		v := visits[i]
		if r.CodeID != v.codeID || r.DeviceID != v.deviceID || !r.CreatedAt.Equal(v.at.Round(time.Microsecond)) {
			t.Errorf("row %d: %d %q %v, want %d %q %v", i, r.CodeID, r.DeviceID, r.CreatedAt, v.codeID, v.deviceID, v.at.Round(time.Microsecond))
		}
	}
}

// TestVisitsFollowTheirCodes checks what the dropped foreign key did
// (migration 00016): a visit of a code deleted since it was read is
// skipped without failing the others written with it, by either path, and
// deleting a code deletes its visits, and only its.
func TestVisitsFollowTheirCodes(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	joe := w.referrer("joe@example.com", "Joe Bloggs", order{})
	gone := w.referrer("gus@example.com", "Gus Gone", order{})
	w.exec(`DELETE FROM referral_codes WHERE id = $1`, gone.ID)

	ctx, at := context.Background(), time.Now()
	fresh := []visit{{codeID: jane.ID, deviceID: "d1", at: at, newDevice: true}, {codeID: gone.ID, deviceID: "d2", at: at, newDevice: true},
		{codeID: joe.ID, deviceID: "d3", at: at, newDevice: true}}
	if err := insertVisitRows(ctx, w.db, fresh); err != nil {
		t.Fatal(err)
	}
	known := []visit{{codeID: gone.ID, deviceID: "d1", at: at}, {codeID: joe.ID, deviceID: "d1", at: at}}
	if err := insertVisitRows(ctx, w.db, known); err != nil {
		t.Fatal(err)
	}
	if err := recordVisit(ctx, w.db, gone.ID, "d4", at); err != nil {
		t.Fatal(err)
	}
	if n := w.count(`SELECT count(*) FROM referral_visits WHERE code_id = $1`, gone.ID); n != 0 {
		t.Fatalf("%d visits of a deleted code stored", n)
	}
	if n := w.count(`SELECT count(*) FROM referral_visits`); n != 3 {
		t.Fatalf("%d visits stored, want jane's and joe's 3", n)
	}

	w.exec(`DELETE FROM referral_codes WHERE id = $1`, joe.ID)
	if n := w.count(`SELECT count(*) FROM referral_visits WHERE code_id = $1`, joe.ID); n != 0 {
		t.Fatalf("%d visits of joe's deleted code left", n)
	}
	if n := w.count(`SELECT count(*) FROM referral_visits WHERE code_id = $1`, jane.ID); n != 1 {
		t.Fatalf("jane has %d visits, want 1", n)
	}
}
