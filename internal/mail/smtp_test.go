package mail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
)

func TestNewSMTPSenderChecksItsConfiguration(t *testing.T) {
	tests := []struct {
		name, url, from, want string
	}{
		{"STARTTLS submission with credentials", "smtp://user:pass@mail.example.com:587", "shop@example.com", ""},
		{"implicit TLS on the default port", "smtps://user:pass@mail.example.com", "Shop <shop@example.com>", ""},
		{"a chosen mechanism and timeout", "smtp://u:p@mail.example.com?auth=login&tls=mandatory&timeout=5s", "shop@example.com", ""},
		{"another scheme", "http://mail.example.com", "shop@example.com", "scheme"},
		{"no host", "smtp://", "shop@example.com", "smtp://user:pass@host:587"},
		{"a bad port", "smtp://mail.example.com:99999", "shop@example.com", "port"},
		{"an unknown TLS policy", "smtp://mail.example.com?tls=sometimes", "shop@example.com", "tls must be"},
		{"an unknown mechanism", "smtp://u:p@mail.example.com?auth=magic", "shop@example.com", "unknown auth"},
		{"a bad timeout", "smtp://mail.example.com?timeout=soon", "shop@example.com", "timeout"},
		{"a bad sender", "smtp://mail.example.com", "shop at example", "sender address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.NewSMTPSender(tt.url, tt.from)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestSMTPSenderKeepsConnectionsBetweenMessages sends messages one after
// another over one kept connection, and dials again by itself when the kept
// connection has died.
func TestSMTPSenderKeepsConnectionsBetweenMessages(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := mail.NewSMTPSender(srv.URL(), "hello@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	send := func(i int) {
		t.Helper()
		m := mail.Message{To: fmt.Sprintf("ada%d@example.com", i), Subject: fmt.Sprint("note ", i), Text: "hi", HTML: "<p>hi</p>"}
		if err := s.Send(ctx, "", m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := 0; i < 5; i++ {
		send(i)
	}
	if got := len(srv.Messages()); got != 5 {
		t.Fatalf("%d messages arrived, want 5", got)
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("5 messages in a row used %d connections, want 1", n)
	}
	// A refused message closes its connection; the next one dials anew.
	srv.FailNext(1)
	if err := s.Send(ctx, "", mail.Message{To: "bob@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Fatal("a refused message reported as sent")
	}
	send(6)
	if got, n := len(srv.Messages()), srv.Connections(); got != 6 || n != 2 {
		t.Fatalf("after a refusal: %d messages over %d connections, want 6 over 2", got, n)
	}
}

// TestSMTPSenderDialsAgainWhenTheServerDroppedItsConnection: a kept
// connection that the server closed meanwhile fails at the first command of
// the next message, before anything is sent; the sender dials again and the
// message arrives once.
func TestSMTPSenderDialsAgainWhenTheServerDroppedItsConnection(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := mail.NewSMTPSender(srv.URL(), "hello@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 2 {
		if i == 1 {
			srv.DropConnections()
		}
		m := mail.Message{To: fmt.Sprintf("ada%d@example.com", i), Subject: fmt.Sprint("note ", i), Text: "hi"}
		if err := s.Send(ctx, "", m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 2 || msgs[1].To[0] != "ada1@example.com" {
		t.Fatalf("server got %d messages (%+v), want each of 2 once", len(msgs), msgs)
	}
	if n := srv.Connections(); n != 2 {
		t.Fatalf("%d connections, want 2: the dropped one and its replacement", n)
	}
}
