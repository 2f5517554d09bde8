package referral

import (
	"context"
	"testing"
	"time"
)

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
