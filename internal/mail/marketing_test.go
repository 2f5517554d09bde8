package mail_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// recorder is a Sender that keeps what it sends.
type recorder struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (r *recorder) Send(_ context.Context, _ string, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return nil
}

// pacer drives delivery by hand with a fake clock.
type pacer struct {
	t      *testing.T
	db     *sqlx.DB
	outbox *mail.Outbox
	d      *mail.Delivery
	now    time.Time
	sender *recorder
}

func newPacer(t *testing.T) *pacer {
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p := &pacer{t: t, db: d, outbox: mail.NewOutbox(q), sender: &recorder{}}
	ny, _ := time.LoadLocation("America/New_York")
	p.now = time.Date(2026, 3, 2, 10, 0, 0, 0, ny)
	note := composerFunc(func(context.Context, mail.Message) (mail.Content, error) {
		return mail.Content{Subject: "A note", Text: "Hello."}, nil
	})
	p.d = mail.NewDelivery(d, p.sender, map[string]mail.Composer{"note": note}, mail.DeliveryOptions{Now: func() time.Time { return p.now }})
	for _, q := range []string{
		`UPDATE settings SET time_zone = 'America/New_York'`,
		`INSERT INTO customers (id, email, marketing_consent) VALUES (1, 'yes@example.com', true), (2, 'no@example.com', false)`,
		`INSERT INTO customers (id, email, marketing_consent, unsubscribed_at) VALUES (3, 'gone@example.com', true, now())`,
	} {
		if _, err := d.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *pacer) queue(key string, customer int64, to string, marketing bool) int64 {
	p.t.Helper()
	var id int64
	err := db.InTx(context.Background(), p.db, func(tx *sqlx.Tx) error {
		var err error
		id, err = p.outbox.QueueID(context.Background(), tx, mail.Queued{Kind: "note", DedupeKey: key, To: to, CustomerID: customer, Marketing: marketing})
		return err
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// deliver works message id's job once and returns River's answer.
func (p *pacer) deliver(id int64) error {
	job := &river.Job[mail.DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 12}, Args: mail.DeliverArgs{MessageID: id}}
	return p.d.Worker().Work(context.Background(), job)
}

func (p *pacer) status(id int64) string {
	p.t.Helper()
	var s string
	if err := p.db.Get(&s, `SELECT status FROM messages WHERE id = $1`, id); err != nil {
		p.t.Fatal(err)
	}
	return s
}

func snoozed(err error) time.Duration {
	var s *rivertype.JobSnoozeError
	if errors.As(err, &s) {
		return s.Duration
	}
	return -1
}

func TestMarketingMailNeedsConsent(t *testing.T) {
	p := newPacer(t)
	tests := []struct {
		name       string
		customer   int64
		to         string
		marketing  bool
		wantStatus string
	}{
		{"a consenting customer gets it", 1, "yes@example.com", true, mail.StatusSent},
		{"a customer who never agreed does not", 2, "no@example.com", true, mail.StatusSkipped},
		{"an unsubscribed customer does not", 3, "gone@example.com", true, mail.StatusSkipped},
		{"an order update goes without consent", 2, "no@example.com", false, mail.StatusSent},
		{"an address of a consenting customer counts as them", 0, "YES@example.com", true, mail.StatusSent},
		{"an address nobody consented with gets nothing", 0, "stranger@example.com", true, mail.StatusSkipped},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.now = p.now.Add(24 * time.Hour) // clear of the cap
			id := p.queue("consent:"+string(rune('a'+i)), tt.customer, tt.to, tt.marketing)
			err := p.deliver(id)
			if got := p.status(id); got != tt.wantStatus {
				t.Fatalf("status = %s (%v), want %s", got, err, tt.wantStatus)
			}
			var cancel *rivertype.JobCancelError
			if tt.wantStatus == mail.StatusSkipped && !errors.As(err, &cancel) {
				t.Errorf("a skipped message's job should be cancelled, got %v", err)
			}
		})
	}
}

func TestMarketingMailIsDeferredNotDropped(t *testing.T) {
	p := newPacer(t)
	p.now = p.now.Add(8 * time.Hour) // 18:00
	first := p.queue("m:1", 1, "yes@example.com", true)
	if err := p.deliver(first); err != nil || p.status(first) != mail.StatusSent {
		t.Fatalf("first marketing email: %v, %s", err, p.status(first))
	}

	p.now = p.now.Add(2 * time.Hour) // 20:00
	second := p.queue("m:2", 1, "yes@example.com", true)
	update := p.queue("u:1", 1, "yes@example.com", false)
	if wait := snoozed(p.deliver(second)); wait != 14*time.Hour {
		t.Fatalf("second marketing email snoozed %s, want 14h (the 16-hour cap)", wait)
	}
	if err := p.deliver(update); err != nil || p.status(update) != mail.StatusSent {
		t.Fatalf("an order update must not wait for the cap: %v, %s", err, p.status(update))
	}
	var deferred time.Time
	if err := p.db.Get(&deferred, `SELECT deferred_until FROM messages WHERE id = $1`, second); err != nil || !deferred.Equal(p.now.Add(14*time.Hour)) {
		t.Errorf("deferred_until = %s (%v)", deferred, err)
	}
	if p.status(second) != mail.StatusQueued {
		t.Fatalf("a deferred message must stay queued, is %s", p.status(second))
	}
	p.now = p.now.Add(14 * time.Hour) // 10:00 the next day
	if err := p.deliver(second); err != nil || p.status(second) != mail.StatusSent {
		t.Fatalf("when the cap is over: %v, %s", err, p.status(second))
	}

	p.now = p.now.Add(11*time.Hour + 30*time.Minute) // 21:30: the cap ends at 02:00, in the night
	third := p.queue("m:3", 1, "yes@example.com", true)
	if wait := snoozed(p.deliver(third)); wait != 10*time.Hour+30*time.Minute {
		t.Fatalf("third snoozed %s, want 10h30m (until 08:00)", wait)
	}
	p.now = p.now.Add(10*time.Hour + 30*time.Minute)
	if err := p.deliver(third); err != nil || p.status(third) != mail.StatusSent {
		t.Fatalf("at 08:00: %v, %s", err, p.status(third))
	}
	if n := len(p.sender.sent); n != 4 {
		t.Errorf("%d emails sent, want 4", n)
	}
}

func TestConsentIsCheckedAgainWhenADeferredMessageGoes(t *testing.T) {
	p := newPacer(t)
	p.now = p.now.Add(13 * time.Hour) // 23:00
	id := p.queue("late", 1, "yes@example.com", true)
	if wait := snoozed(p.deliver(id)); wait != 9*time.Hour {
		t.Fatalf("snoozed %s, want 9h", wait)
	}
	if _, err := p.db.Exec(`UPDATE customers SET unsubscribed_at = now() WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	p.now = p.now.Add(9 * time.Hour)
	p.deliver(id) //nolint:errcheck // the status tells
	if got := p.status(id); got != mail.StatusSkipped || len(p.sender.sent) != 0 {
		t.Fatalf("status %s, %d sent: an unsubscribe while waiting must stop it", got, len(p.sender.sent))
	}
}
