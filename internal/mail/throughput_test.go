package mail_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/settings"
)

// startWith runs a job queue with a delivery worker configured by opts.
func startWith(t *testing.T, d *sqlx.DB, sender mail.Sender, composers map[string]mail.Composer, opts mail.DeliveryOptions) *harness {
	t.Helper()
	q, err := jobs.New(d.DB, jobs.Options{PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: d, q: q, outbox: mail.NewOutbox(q), states: make(chan string, 100)}
	if opts.OnState == nil {
		opts.OnState = func(kind, state string) { h.states <- kind + ":" + state }
	}
	mail.NewDelivery(d, sender, composers, opts).Register(q)
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		q.Stop(sctx) //nolint:errcheck // test teardown
		cancel()
	})
	return h
}

// TestDeliveryReadsTheSettingsOfTheMomentThroughItsCache renders two emails
// with the store's name through the settings cache, with the name changed
// in between: the second says the new name, so the cache serving the first
// did not outlive the change.
func TestDeliveryReadsTheSettingsOfTheMomentThroughItsCache(t *testing.T) {
	d := pgtest.DB(t)
	var renders atomic.Int32
	composers := map[string]mail.Composer{"note": composerFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) {
		renders.Add(1)
		s, err := settings.Load(ctx, d) // through the pool, so the cache may serve it
		if err != nil {
			return mail.Content{}, err
		}
		return mail.Content{Subject: "News from " + s.StoreName, Text: "hi"}, nil
	})}
	h := startWith(t, d, nil, composers, mail.DeliveryOptions{Settings: settings.NewCache(d)})
	ctx := context.Background()
	save := func(name string) {
		t.Helper()
		s, err := settings.Load(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		s.StoreName = name
		if err := settings.Save(ctx, d, s); err != nil {
			t.Fatal(err)
		}
	}
	save("First Shop")
	for i, name := range []string{"First Shop", "First Shop", "Second Shop"} {
		if i == 2 {
			save("Second Shop")
		}
		key := "note:cache:" + string(rune('a'+i))
		h.queue(t, mail.Queued{Kind: "note", DedupeKey: key, To: "ada@example.com"})
		got := h.waitState(t, key)
		if got.Status != mail.StatusKept || got.Subject != "News from "+name {
			t.Fatalf("email %d = %q (%s), want %q", i, got.Subject, got.Status, "News from "+name)
		}
	}
	if n := renders.Load(); n != 3 {
		t.Errorf("composed %d times, want 3", n)
	}
}

// slowSender records how many messages it holds at once.
type slowSender struct {
	mu        sync.Mutex
	now, most int
	sent      int
}

func (s *slowSender) Send(ctx context.Context, _ string, _ mail.Message) error {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	s.mu.Unlock()
	// Long enough for the other workers to reach the sender meanwhile.
	time.Sleep(30 * time.Millisecond)
	s.mu.Lock()
	s.now--
	s.sent++
	s.mu.Unlock()
	return nil
}

// TestMaxSendingBoundsTheMessagesAtTheMailServer queues more messages than
// MaxSending with many delivery workers: every message goes out, and never
// more than MaxSending were with the mail server at once, so a slow mail
// server holds at most that many database connections.
func TestMaxSendingBoundsTheMessagesAtTheMailServer(t *testing.T) {
	d := pgtest.DB(t)
	sender := &slowSender{}
	note := &noteComposer{}
	h := startWith(t, d, sender, map[string]mail.Composer{"note": note}, mail.DeliveryOptions{MaxSending: 2})
	const n = 12
	keys := make([]string, n)
	for i := range n {
		keys[i] = "note:slow:" + string(rune('a'+i))
		h.queue(t, mail.Queued{Kind: "note", DedupeKey: keys[i], To: "ada@example.com"})
	}
	for _, k := range keys {
		if got := h.waitState(t, k); got.Status != mail.StatusSent {
			t.Fatalf("%s = %s, want sent", k, got.Status)
		}
	}
	sender.mu.Lock()
	defer sender.mu.Unlock()
	if sender.sent != n {
		t.Errorf("sender got %d messages, want %d", sender.sent, n)
	}
	if sender.most > 2 || sender.most < 1 {
		t.Errorf("%d messages were at the mail server at once, want at most MaxSending (2)", sender.most)
	}
}

// TestDeliveryJobsRunInTheMailQueue: the outbox puts delivery jobs in the
// mail queue, which has its own workers.
func TestDeliveryJobsRunInTheMailQueue(t *testing.T) {
	h := start(t, nil)
	h.queue(t, mail.Queued{Kind: "note", DedupeKey: "note:queue", To: "ada@example.com"})
	if got := h.waitState(t, "note:queue"); got.Status != mail.StatusKept {
		t.Fatalf("message = %s, want kept", got.Status)
	}
	var queue string
	if err := h.db.Get(&queue, `SELECT queue FROM river_job WHERE kind = 'mail.deliver'`); err != nil {
		t.Fatal(err)
	}
	if queue != jobs.QueueMail {
		t.Errorf("delivery job in queue %q, want %q", queue, jobs.QueueMail)
	}
}
