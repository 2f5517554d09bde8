package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river/rivertype"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// manyNotes composes its messages together and counts how.
type manyNotes struct {
	mu          sync.Mutex
	one, many   int
	largestMany int
}

func (c *manyNotes) content(m Message) Content {
	return Content{Subject: fmt.Sprintf("Note %d", m.ID), Text: "for " + m.To, HTML: "<p>" + m.To + "</p>"}
}

func (c *manyNotes) Compose(_ context.Context, m Message) (Content, error) {
	c.mu.Lock()
	c.one++
	c.mu.Unlock()
	return c.content(m), nil
}

func (c *manyNotes) ComposeMany(_ context.Context, ms []Message) ([]Content, []error) {
	c.mu.Lock()
	c.many++
	c.largestMany = max(c.largestMany, len(ms))
	c.mu.Unlock()
	cs := make([]Content, len(ms))
	for i, m := range ms {
		cs[i] = c.content(m)
	}
	return cs, make([]error, len(ms))
}

type fixedComposer struct {
	c   Content
	err error
}

func (f fixedComposer) Compose(context.Context, Message) (Content, error) { return f.c, f.err }

// recordingSender keeps what it was handed.
type recordingSender struct {
	mu   sync.Mutex
	sent map[int64]Message
}

func (s *recordingSender) Send(_ context.Context, _ string, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[m.ID] = m
	return nil
}

// TestABatchGivesEveryMessageItsOwnOutcome runs one batch over messages
// of every kind of fate: composed together, composed alone with content
// that needs quoting in a statement, skipped, failing for a retry,
// marketing (sent back to be delivered alone), already sent, and missing.
// Each ends as it would alone, with one statement for all outcomes.
func TestABatchGivesEveryMessageItsOwnOutcome(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	insert := func(kind, key string, marketing bool, status string) int64 {
		t.Helper()
		var id int64
		err := d.Get(&id, `INSERT INTO messages (kind, dedupe_key, to_address, marketing, status) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			kind, key, key+"@example.com", marketing, status)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	notes := []int64{insert("note", "n1", false, StatusQueued), insert("note", "n2", false, StatusQueued), insert("note", "n3", false, StatusQueued)}
	tricky := insert("tricky", "tricky", false, StatusQueued)
	gone := insert("gone", "gone", false, StatusQueued)
	flaky := insert("flaky", "flaky", false, StatusQueued)
	promo := insert("note", "promo", true, StatusQueued)
	done := insert("note", "done", false, StatusSent)
	const missing = int64(1 << 40)

	trickyContent := Content{Subject: `Say "hi" \ {now}, NULL`, Text: "a\\b \"c\"\n{d,e}\nNULL\n", HTML: `<p class="x">\"</p>`,
		Headers: map[string]string{"X-Q": `"q" \ {}`}}
	many := &manyNotes{}
	sender := &recordingSender{sent: map[int64]Message{}}
	states := map[string]int{}
	var mu sync.Mutex
	dl := NewDelivery(d, sender, map[string]Composer{
		"note":   many,
		"tricky": fixedComposer{c: trickyContent},
		"gone":   fixedComposer{err: Skip(errors.New("the customer was erased"))},
		"flaky":  fixedComposer{err: errors.New("the order service is away")},
	}, DeliveryOptions{OnState: func(kind, state string) { mu.Lock(); states[kind+":"+state]++; mu.Unlock() }})

	var batch []*pending
	for _, id := range append(append([]int64{}, notes...), tricky, gone, flaky, promo, done, missing) {
		batch = append(batch, &pending{id: id, done: make(chan error, 1)})
	}
	results := dl.batchResults(ctx, batch)

	var cancel *rivertype.JobCancelError
	for _, id := range append(append([]int64{}, notes...), tricky, done) {
		if results[id] != nil {
			t.Errorf("message %d: %v, want nil", id, results[id])
		}
	}
	if !errors.As(results[gone], &cancel) || !errors.As(results[missing], &cancel) {
		t.Errorf("gone: %v, missing: %v; want both cancelled", results[gone], results[missing])
	}
	if err := results[flaky]; err == nil || errors.As(err, &cancel) {
		t.Errorf("flaky: %v, want an error River retries", err)
	}
	if !errors.Is(results[promo], errOneByOne) {
		t.Errorf("marketing: %v, want it sent back to be delivered alone", results[promo])
	}

	if many.one != 0 || many.many != 1 || many.largestMany != 3 {
		t.Errorf("notes composed %d alone and %d times together (at most %d), want once, all 3", many.one, many.many, many.largestMany)
	}
	if len(sender.sent) != 4 {
		t.Errorf("sender got %d messages, want the 3 notes and the tricky one", len(sender.sent))
	}
	for _, id := range notes {
		m := mustGet(t, d, id)
		want := many.content(m)
		if m.Status != StatusSent || m.Attempts != 1 || m.Subject != want.Subject || m.Text != want.Text || !m.RenderedAt.Valid || !m.SentAt.Valid {
			t.Errorf("note %d = %s after %d attempts, %q %q", id, m.Status, m.Attempts, m.Subject, m.Text)
		}
		if s := sender.sent[id]; s.Subject != want.Subject {
			t.Errorf("note %d went out as %q, want %q", id, s.Subject, want.Subject)
		}
	}
	m := mustGet(t, d, tricky)
	if m.Status != StatusSent || m.Subject != trickyContent.Subject || m.Text != trickyContent.Text || m.HTML != trickyContent.HTML || m.Headers["X-Q"] != trickyContent.Headers["X-Q"] {
		t.Errorf("tricky stored as %s %q %q %q %v, want what was sent", m.Status, m.Subject, m.Text, m.HTML, m.Headers)
	}
	if m := mustGet(t, d, gone); m.Status != StatusSkipped || m.Attempts != 0 || !strings.Contains(m.LastError, "erased") {
		t.Errorf("gone = %s, %d attempts, %q", m.Status, m.Attempts, m.LastError)
	}
	if m := mustGet(t, d, flaky); m.Status != StatusQueued || m.Attempts != 0 || m.RenderedAt.Valid || !strings.Contains(m.LastError, "away") {
		t.Errorf("flaky = %s, %d attempts, rendered %v, %q", m.Status, m.Attempts, m.RenderedAt.Valid, m.LastError)
	}
	if m := mustGet(t, d, promo); m.Status != StatusQueued || m.RenderedAt.Valid || m.Attempts != 0 {
		t.Errorf("marketing = %s, rendered %v, touched by the batch", m.Status, m.RenderedAt.Valid)
	}
	if m := mustGet(t, d, done); m.Status != StatusSent || m.Attempts != 0 {
		t.Errorf("already sent = %s, %d attempts", m.Status, m.Attempts)
	}
	for state, want := range map[string]int{"note:sent": 3, "tricky:sent": 1, "gone:skipped": 1, "flaky:retry": 1} {
		if states[state] != want {
			t.Errorf("OnState %s seen %d times, want %d (all: %v)", state, states[state], want, states)
		}
	}
}

func mustGet(t *testing.T, d *sqlx.DB, id int64) Message {
	t.Helper()
	m, err := getMessage(context.Background(), d, id, false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// raceComposer renders its message, but another worker stores its own
// rendering first (through the pool, while the batch composes).
type raceComposer struct{ d *sqlx.DB }

func (c raceComposer) Compose(ctx context.Context, m Message) (Content, error) {
	// Waits forever (here: 5 s) if the batch composes under its row locks.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.d.ExecContext(ctx, `UPDATE messages SET subject = 'The other worker''s', text_body = 'theirs', rendered_at = now() WHERE id = $1`, m.ID); err != nil {
		return Content{}, err
	}
	return Content{Subject: "This batch's", Text: "ours"}, nil
}

// TestABatchComposesOutsideItsLocksAndYieldsToAnEarlierRendering: a batch
// composes before it locks its messages (composing writes sign-in links
// through other connections, which must never wait on the batch), and
// when another worker stored a rendering meanwhile, that one is sent and
// kept, so every retry sends the same words.
func TestABatchComposesOutsideItsLocksAndYieldsToAnEarlierRendering(t *testing.T) {
	d := pgtest.DB(t)
	var id int64
	if err := d.Get(&id, `INSERT INTO messages (kind, dedupe_key, to_address) VALUES ('race', 'race:1', 'ada@example.com') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	sender := &recordingSender{sent: map[int64]Message{}}
	dl := NewDelivery(d, sender, map[string]Composer{"race": raceComposer{d: d}}, DeliveryOptions{})
	if err := dl.batchResults(context.Background(), []*pending{{id: id, done: make(chan error, 1)}})[id]; err != nil {
		t.Fatal(err)
	}
	m := mustGet(t, d, id)
	if m.Status != StatusSent || m.Subject != "The other worker's" || m.Text != "theirs" {
		t.Errorf("stored %s %q %q, want sent with the other worker's rendering", m.Status, m.Subject, m.Text)
	}
	if s := sender.sent[id]; s.Subject != "The other worker's" {
		t.Errorf("sent %q, want the stored rendering", s.Subject)
	}
}

// BenchmarkRecordMany records the outcome of a batch of 100 rendered
// messages (8 KB of bodies each) in a transaction it rolls back; its
// B/op is mostly what lib/pq allocates to send the bodies.
func BenchmarkRecordMany(b *testing.B) {
	d := pgtest.DB(b)
	ctx := context.Background()
	const n = 100
	var ids []int64
	if err := d.Select(&ids, `INSERT INTO messages (kind, dedupe_key, to_address)
		SELECT 'note', 'bench:' || g, 'ada@example.com' FROM generate_series(1, $1) g RETURNING id`, n); err != nil {
		b.Fatal(err)
	}
	c := Content{Subject: "Your order", HTML: strings.Repeat(`<p class="x">Kettle \ mug</p>`, 200), Text: strings.Repeat("Kettle, mug\n", 170),
		Headers: map[string]string{"List-Unsubscribe": "<https://shop.test/u>"}}
	outs := map[int64]*outcome{}
	for _, id := range ids {
		outs[id] = &outcome{write: true, status: StatusSent, attempted: true, store: &c}
	}
	s := newDeliveryStatements(d)
	b.ReportAllocs()
	for b.Loop() {
		tx, err := d.BeginTxx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.recordMany(ctx, tx, ids, outs, time.Now()); err != nil {
			b.Fatal(err)
		}
		tx.Rollback() //nolint:errcheck // nothing to keep
	}
}

// gateSender blocks every send until open is closed, and tells started
// of the first one.
type gateSender struct {
	recordingSender
	once    sync.Once
	started chan struct{}
	open    chan struct{}
}

func (s *gateSender) Send(ctx context.Context, from string, m Message) error {
	s.once.Do(func() { close(s.started) })
	<-s.open
	return s.recordingSender.Send(ctx, from, m)
}

// TestMessagesWaitingBesideARunningBatchGoTogether: while a batch runs
// (held at the mail server here), messages that arrive are not sent off
// as a small batch of their own beside it: less than a full batch waits
// for the running one to end and then goes as one batch. (River hands
// the jobs of one fetch to deliver one by one, and a second loop used to
// run the stragglers as batches of one to three emails, each with all of
// a batch's statements and commits.)
func TestMessagesWaitingBesideARunningBatchGoTogether(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	var ids []int64
	if err := d.Select(&ids, `INSERT INTO messages (kind, dedupe_key, to_address)
		SELECT 'note', 'together:' || g, 'ada' || g || '@example.com' FROM generate_series(1, 5) g RETURNING id`); err != nil {
		t.Fatal(err)
	}
	many := &manyNotes{}
	sender := &gateSender{recordingSender: recordingSender{sent: map[int64]Message{}}, started: make(chan struct{}), open: make(chan struct{})}
	dl := NewDelivery(d, sender, map[string]Composer{"note": many}, DeliveryOptions{})
	b := dl.batches

	results := make(chan error, len(ids))
	go func() { results <- b.deliver(ctx, ids[0], false) }()
	<-sender.started // the first batch, of one, is at the mail server
	for _, id := range ids[1:] {
		go func() { results <- b.deliver(ctx, id, false) }()
	}
	// Wait until the four have arrived, or another batch took them.
	var waiting, running int
	for {
		b.mu.Lock()
		waiting, running = len(b.waiting), b.running
		b.mu.Unlock()
		if waiting == 4 || running > 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if running != 1 || waiting != 4 {
		t.Errorf("beside the running batch: %d batch loops, %d messages waiting; want 1 loop, all 4 waiting", running, waiting)
	}
	close(sender.open)
	for range ids {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if many.one != 1 || many.many != 1 || many.largestMany != 4 {
		t.Errorf("composed %d alone and %d times together (at most %d at once), want the first alone, then the other 4 together",
			many.one, many.many, many.largestMany)
	}
	if len(sender.sent) != len(ids) {
		t.Errorf("sent %d messages, want %d", len(sender.sent), len(ids))
	}
}

// TestABatchStoresContentAsItWasSent: the contents of a batch go to
// PostgreSQL joined by a delimiter of control characters; whatever the
// content holds (control characters, non-ASCII, nothing at all, which
// PostgreSQL splits into no element) is stored as it was sent, alone in
// a batch or with others.
func TestABatchStoresContentAsItWasSent(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	contents := []Content{
		{Subject: "Ünïcode ✓ \x1f\x1e\x1d", Text: "", HTML: "<p>€ 5,00</p>"},
		{Subject: "", Text: "line\x1fone\r\n\x1etwo", HTML: ""},
		{Subject: `{"a","b"}`, Text: `\x1f`, HTML: "\x1f\x1e", Headers: map[string]string{"X-Ctl": "a\x1fb"}},
	}
	for _, batch := range [][]int{{0}, {1}, {0, 1, 2}} {
		sender := &recordingSender{sent: map[int64]Message{}}
		composers := map[string]Composer{}
		var pend []*pending
		want := map[int64]Content{}
		for _, i := range batch {
			kind := fmt.Sprintf("c%d", i)
			var id int64
			if err := d.Get(&id, `INSERT INTO messages (kind, dedupe_key, to_address) VALUES ($1, $2, 'ada@example.com') RETURNING id`,
				kind, fmt.Sprintf("content:%v:%d", batch, i)); err != nil {
				t.Fatal(err)
			}
			composers[kind] = fixedComposer{c: contents[i]}
			pend = append(pend, &pending{id: id, done: make(chan error, 1)})
			want[id] = contents[i]
		}
		dl := NewDelivery(d, sender, composers, DeliveryOptions{})
		for id, err := range dl.batchResults(ctx, pend) {
			if err != nil {
				t.Fatalf("batch %v, message %d: %v", batch, id, err)
			}
		}
		for id, c := range want {
			m := mustGet(t, d, id)
			if m.Status != StatusSent || m.Subject != c.Subject || m.Text != c.Text || m.HTML != c.HTML || m.Headers["X-Ctl"] != c.Headers["X-Ctl"] {
				t.Errorf("batch %v: stored %s %q %q %q %v, want %q %q %q %v", batch, m.Status, m.Subject, m.Text, m.HTML, m.Headers,
					c.Subject, c.Text, c.HTML, c.Headers)
			}
			if s := sender.sent[id]; s.Subject != c.Subject || s.HTML != c.HTML {
				t.Errorf("batch %v: sent %q %q", batch, s.Subject, s.HTML)
			}
		}
	}
}
