package mail

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

type countComposer struct{ calls atomic.Int32 }

func (c *countComposer) Compose(context.Context, Message) (Content, error) {
	c.calls.Add(1)
	return Content{Subject: "A second rendering", Text: "composed again"}, nil
}

type countSender struct{ calls atomic.Int32 }

func (s *countSender) Send(context.Context, string, Message) error {
	s.calls.Add(1)
	return nil
}

// TestAnAcceptedMessageWhoseCommitFailedIsRecordedWithWhatWasSent: a
// message rendered for an attempt is stored only with that attempt's
// outcome. When the mail server accepted it and that commit failed (the
// database went away), the retry in this process must neither send it
// again nor compose it again: it records "sent" with the content the
// shopper got.
func TestAnAcceptedMessageWhoseCommitFailedIsRecordedWithWhatWasSent(t *testing.T) {
	d := pgtest.DB(t)
	ctx := context.Background()
	var id int64
	if err := d.Get(&id, `INSERT INTO messages (kind, dedupe_key, to_address) VALUES ('note', 'note:unrecorded', 'ada@example.com') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	composer, sender := &countComposer{}, &countSender{}
	dl := NewDelivery(d, sender, map[string]Composer{"note": composer}, DeliveryOptions{})
	// What send leaves behind when the commit after the server's "250" fails.
	dl.remember(id, &Content{Subject: "What the shopper got", Text: "the first rendering", Headers: map[string]string{"X-Try": "1"}})

	if err := dl.deliver(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	m, err := getMessage(ctx, d, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusSent || m.Subject != "What the shopper got" || m.Text != "the first rendering" || m.Headers["X-Try"] != "1" || !m.RenderedAt.Valid {
		t.Errorf("stored %s %q %q %v (rendered %v), want sent with the content sent", m.Status, m.Subject, m.Text, m.Headers, m.RenderedAt.Valid)
	}
	if n := sender.calls.Load(); n != 0 {
		t.Errorf("sent %d more times, want none", n)
	}
	if n := composer.calls.Load(); n != 0 {
		t.Errorf("composed %d times, want none", n)
	}
	if _, ok := dl.acceptedBefore(id); ok {
		t.Error("still remembered after its sent was recorded")
	}
}
