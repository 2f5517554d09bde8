package mail_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// noteComposer renders a fixed note and counts its calls.
type noteComposer struct {
	calls atomic.Int32
	err   error
}

func (c *noteComposer) Compose(_ context.Context, m mail.Message) (mail.Content, error) {
	n := c.calls.Add(1)
	if c.err != nil {
		return mail.Content{}, c.err
	}
	return mail.Content{
		Subject: "Your note from Test Shop",
		Text:    "Hello in plain text. Render " + string('0'+rune(n)) + ".",
		HTML:    "<p>Hello in <b>HTML</b>.</p>",
		Headers: map[string]string{
			"X-Aftercare-Kind":      m.Kind,
			"Reply-To":              "help@shop.test",
			"List-Unsubscribe":      "<https://shop.test/u/abc>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}, nil
}

type harness struct {
	db     *sqlx.DB
	q      *jobs.Queue
	outbox *mail.Outbox
	note   *noteComposer
	states chan string
}

// start runs a job queue with the delivery worker over sender (nil keeps mail).
func start(t *testing.T, sender mail.Sender) *harness {
	t.Helper()
	note := &noteComposer{}
	composers := map[string]mail.Composer{
		"note": note,
		"gone": composerFunc(func(context.Context, mail.Message) (mail.Content, error) {
			return mail.Content{}, mail.Skip(errors.New("the customer was erased"))
		}),
		"broken": composerFunc(func(context.Context, mail.Message) (mail.Content, error) {
			return mail.Content{}, mail.Permanent(errors.New("the template cannot render this"))
		}),
	}
	h := startWith(t, pgtest.DB(t), sender, composers, mail.DeliveryOptions{From: "Test Shop <hello@shop.test>"})
	h.note = note
	return h
}

func (h *harness) queue(t *testing.T, m mail.Queued) {
	t.Helper()
	err := db.InTx(context.Background(), h.db, func(tx *sqlx.Tx) error {
		return h.outbox.Queue(context.Background(), tx, m)
	})
	if err != nil {
		t.Fatalf("queue: %v", err)
	}
}

// waitState waits for the first message with dedupeKey to leave "queued".
func (h *harness) waitState(t *testing.T, dedupeKey string) mail.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var m struct {
			Status    string `db:"status"`
			Attempts  int    `db:"attempts"`
			LastError string `db:"last_error"`
			Subject   string `db:"subject"`
		}
		err := h.db.Get(&m, `SELECT status, attempts, last_error, subject FROM messages WHERE dedupe_key = $1`, dedupeKey)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if err == nil && m.Status != mail.StatusQueued {
			return mail.Message{Status: m.Status, Attempts: m.Attempts, LastError: m.LastError, Subject: m.Subject}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s still %q after 15s (attempts %d, last error %q)", dedupeKey, m.Status, m.Attempts, m.LastError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t *testing.T, d *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeliveryOverSMTP(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.RequireAuth("shop", "s3cret")
	sender, err := mail.NewSMTPSender(srv.URL(), "Test Shop <hello@shop.test>")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, sender)
	h.queue(t, mail.Queued{Kind: "note", DedupeKey: "note:1", To: "Ada Lovelace <ada@example.com>"})

	got := h.waitState(t, "note:1")
	if got.Status != mail.StatusSent || got.Attempts != 1 || got.LastError != "" {
		t.Fatalf("message = %+v, want sent after 1 attempt", got)
	}
	msgs := srv.Wait(t, 1, 5*time.Second)
	time.Sleep(200 * time.Millisecond) // a second delivery would show up by now
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("server got %d messages, want exactly 1", n)
	}
	m := msgs[0]
	if m.User != "shop" || m.From != "hello@shop.test" || len(m.To) != 1 || m.To[0] != "ada@example.com" {
		t.Errorf("envelope = user %q from %q to %v", m.User, m.From, m.To)
	}
	hdr, err := m.Header()
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := m.Subject()
	for name, want := range map[string]string{
		"Subject": "Your note from Test Shop", "To": "<ada@example.com>", "X-Aftercare-Kind": "note",
		"Reply-To": "<help@shop.test>", "List-Unsubscribe": "<https://shop.test/u/abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	} {
		v := hdr.Get(name)
		if name == "Subject" {
			v = subject
		}
		if v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if from := hdr.Get("From"); !strings.Contains(from, "hello@shop.test") || !strings.Contains(from, "Test Shop") {
		t.Errorf("From = %q", from)
	}
	if id := hdr.Get("Message-Id"); !strings.HasPrefix(id, "<aftercare.") || !strings.HasSuffix(id, "@shop.test>") {
		t.Errorf("Message-ID = %q", id)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	parts, err := m.Parts()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(parts["text/plain"], "Hello in plain text.") || !strings.Contains(parts["text/html"], "<b>HTML</b>") {
		t.Errorf("parts = %q", parts)
	}
	if s := <-h.states; s != "note:sent" {
		t.Errorf("OnState = %q, want note:sent", s)
	}
}

func TestDeliveryRetriesUntilTheServerRecovers(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.FailNext(3)
	h := start(t, newSender(t, srv))
	h.queue(t, mail.Queued{Kind: "note", DedupeKey: "note:retry", To: "ada@example.com"})

	got := h.waitState(t, "note:retry")
	if got.Status != mail.StatusSent || got.Attempts != 4 {
		t.Fatalf("message = %+v, want sent on attempt 4", got)
	}
	if !strings.Contains(got.LastError, "451") {
		t.Errorf("last error = %q, want the server's 451", got.LastError)
	}
	time.Sleep(200 * time.Millisecond)
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want exactly 1", len(msgs))
	}
	if n := h.note.calls.Load(); n != 1 {
		t.Errorf("composed %d times, want once: a retry resends the stored content", n)
	}
	parts, _ := msgs[0].Parts()
	if !strings.Contains(parts["text/plain"], "Render 1.") {
		t.Errorf("text = %q, want the first rendering", parts["text/plain"])
	}
	var retries int
	for len(h.states) > 0 {
		if <-h.states == "note:retry" {
			retries++
		}
	}
	if retries != 3 {
		t.Errorf("OnState saw %d retries, want 3", retries)
	}
}
