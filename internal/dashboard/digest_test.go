package dashboard

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
)

func TestTheDigestGoesOnceADayToActiveStaffWithWhatWaits(t *testing.T) {
	db := fixture(t)
	for _, q := range []string{
		`INSERT INTO staff (id, email, name, role) VALUES (1, 'sue@example.com', 'Sue Support', 'support'), (2, 'old@example.com', 'Old Hand', 'admin')`,
		`UPDATE staff SET disabled_at = now() WHERE id = 2`,
		`UPDATE return_requests SET status_changed_at = '2026-03-04T09:00:00Z'`, // requested, untouched for days
		`INSERT INTO webhook_events (provider, event_id, body, last_error) VALUES ('shopify', 'e1', '\x00', 'boom')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	queue, err := jobs.New(db.DB, jobs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	d := NewDigest(db, mail.NewOutbox(queue), r, "https://shop.example/")
	ctx := context.Background()
	early := time.Date(2026, 3, 4, 5, 30, 0, 0, time.UTC) // 06:30 in Berlin
	if err := d.Queue(ctx, early); err != nil {
		t.Fatal(err)
	}
	wantCount(t, db, `SELECT count(*) FROM messages WHERE kind = 'staff_digest'`, 0)
	morning := time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC) // 09:00 in Berlin: the digest of 6 March
	for range 2 {
		if err := d.Queue(ctx, morning); err != nil {
			t.Fatal(err)
		}
	}
	wantCount(t, db, `SELECT count(*) FROM messages WHERE kind = 'staff_digest' AND to_address = 'sue@example.com' AND dedupe_key = 'staff_digest:2026-03-06:1'`, 1)
	wantCount(t, db, `SELECT count(*) FROM messages WHERE kind = 'staff_digest'`, 1)

	c, err := d.Compose(ctx, mail.Message{ID: 1, Kind: DigestKind, DedupeKey: "staff_digest:2026-03-03:1", To: "sue@example.com", CreatedAt: morning})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Hi Sue", "Returns untouched for more than 48 hours: 1", "Failed webhooks: 1", "Failed emails (last 24 hours): 0",
		"Currency: EUR, Orders: 1", "https://shop.example/admin?from=2026-03-03&to=2026-03-03"} {
		if !strings.Contains(c.Text, want) {
			t.Errorf("digest lacks %q:\n%s", want, c.Text)
		}
	}
	if !strings.Contains(c.Subject, "2026-03-03") || !strings.Contains(c.HTML, "Open the dashboard") {
		t.Errorf("subject %q / html lacks the button", c.Subject)
	}
	if _, err := d.Compose(ctx, mail.Message{ID: 2, Kind: DigestKind, DedupeKey: "staff_digest:2026-03-03:2", To: "old@example.com", CreatedAt: morning}); err == nil {
		t.Error("a disabled member's digest was composed")
	}
}
