package mail

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/wneessen/go-mail/smtp"
)

// TestSMTPSenderKeepsAConnectionPerMessageSentAtOnce: the connections of
// as many messages as delivery sends at once by default are all kept when
// they come back together, and reused, none dialled anew.
func TestSMTPSenderKeepsAConnectionPerMessageSentAtOnce(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := NewSMTPSender(srv.URL()+"?timeout=5s", "shop@example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := defaultMaxSending
	conns := make([]*smtp.Client, n)
	for i := range conns {
		if conns[i], err = s.client.DialToSMTPClientWithContext(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		s.put(c)
	}
	for i := range n {
		if c, reused := s.take(); c == nil || !reused {
			t.Fatalf("connection %d of %d was not kept", i+1, n)
		}
	}
	if got := srv.Connections(); got != n {
		t.Fatalf("%d connections, want %d", got, n)
	}
}
