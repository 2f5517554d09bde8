package mail_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
)

// newSender is an SMTP sender to srv, closed when the test ends.
func newSender(t *testing.T, srv *mailtest.Server) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(srv.URL(), "hello@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestRolledBackTransactionSendsNothing(t *testing.T) {
	srv := mailtest.NewServer(t)
	h := start(t, newSender(t, srv))
	errBoom := errors.New("the order failed to save")
	err := db.InTx(context.Background(), h.db, func(tx *sqlx.Tx) error {
		if err := h.outbox.Queue(context.Background(), tx, mail.Queued{Kind: "note", DedupeKey: "note:rollback", To: "ada@example.com"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("InTx = %v", err)
	}
	// A committed message goes out within a few polls; give it ten times that.
	h.queue(t, mail.Queued{Kind: "note", DedupeKey: "note:after", To: "bob@example.com"})
	h.waitState(t, "note:after")
	time.Sleep(300 * time.Millisecond)

	if n := count(t, h.db, `SELECT count(*) FROM messages WHERE dedupe_key = 'note:rollback'`); n != 0 {
		t.Errorf("%d rolled-back messages stored", n)
	}
	if n := count(t, h.db, `SELECT count(*) FROM river_job WHERE kind = 'mail.deliver'`); n != 1 {
		t.Errorf("%d delivery jobs, want only the committed one", n)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "bob@example.com" {
		t.Errorf("server got %d messages (%+v), want only bob's", len(msgs), msgs)
	}
}

func TestDuplicateDedupeKeyQueuesOnce(t *testing.T) {
	srv := mailtest.NewServer(t)
	h := start(t, newSender(t, srv))
	m := mail.Queued{Kind: "note", DedupeKey: "note:once", To: "ada@example.com"}
	h.queue(t, m)
	h.queue(t, m)
	err := db.InTx(context.Background(), h.db, func(tx *sqlx.Tx) error {
		for range 2 {
			if err := h.outbox.Queue(context.Background(), tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("a repeated Queue failed: %v", err)
	}
	h.waitState(t, "note:once")
	time.Sleep(300 * time.Millisecond)
	if n := count(t, h.db, `SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
	if n := count(t, h.db, `SELECT count(*) FROM river_job WHERE kind = 'mail.deliver'`); n != 1 {
		t.Errorf("%d delivery jobs, want 1", n)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}

func TestQueueValidatesTheMessage(t *testing.T) {
	h := start(t, nil)
	tests := []struct {
		name  string
		m     mail.Queued
		field string
	}{
		{"a recipient that is not an address", mail.Queued{Kind: "note", DedupeKey: "k", To: "not an address"}, "to"},
		{"an empty recipient", mail.Queued{Kind: "note", DedupeKey: "k"}, "to"},
		{"no kind", mail.Queued{DedupeKey: "k", To: "ada@example.com"}, "kind"},
		{"no dedupe key", mail.Queued{Kind: "note", To: "ada@example.com"}, "dedupe_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.InTx(context.Background(), h.db, func(tx *sqlx.Tx) error {
				return h.outbox.Queue(context.Background(), tx, tt.m)
			})
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || len(fe.Fields) != 1 || fe.Fields[0].Field != tt.field {
				t.Fatalf("err = %#v, want an invalid %q field", err, tt.field)
			}
		})
	}
	if n := count(t, h.db, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// composerFunc adapts a function for tests of composer failures.
type composerFunc func(context.Context, mail.Message) (mail.Content, error)

func (f composerFunc) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	return f(ctx, m)
}

func TestComposerFailures(t *testing.T) {
	srv := mailtest.NewServer(t)
	h := start(t, newSender(t, srv))
	tests := []struct {
		name, kind, status string
	}{
		{"a message whose customer is gone is skipped", "gone", mail.StatusSkipped},
		{"a permanent composer error fails the message", "broken", mail.StatusFailed},
		{"a kind nobody composes fails the message", "unheard_of", mail.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.queue(t, mail.Queued{Kind: tt.kind, DedupeKey: tt.kind + ":1", To: "ada@example.com"})
			got := h.waitState(t, tt.kind+":1")
			if got.Status != tt.status || got.LastError == "" || got.Attempts != 0 {
				t.Errorf("message = %+v, want %s with the reason and no send attempt", got, tt.status)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server got %d messages, want none", n)
	}
	// River records a job's end just after the worker returns.
	cancelled := func() int {
		return count(t, h.db, `SELECT count(*) FROM river_job WHERE kind = 'mail.deliver' AND state = 'cancelled'`)
	}
	for deadline := time.Now().Add(5 * time.Second); cancelled() < len(tests) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := cancelled(); n != len(tests) {
		t.Errorf("%d cancelled jobs, want %d: a permanent failure is not retried", n, len(tests))
	}
}

func TestDeliveryGivesUpAfterTheLastAttempt(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.FailNext(100)
	h := start(t, newSender(t, srv))
	var id int64
	if err := h.db.Get(&id, `INSERT INTO messages (kind, dedupe_key, to_address) VALUES ('note', 'note:doomed', 'ada@example.com') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := h.q.Insert(context.Background(), mail.DeliverArgs{MessageID: id}, &river.InsertOpts{MaxAttempts: 3}); err != nil {
		t.Fatal(err)
	}
	got := h.waitState(t, "note:doomed")
	if got.Status != mail.StatusFailed || got.Attempts != 3 {
		t.Errorf("message = %+v, want failed after 3 attempts", got)
	}
}
