package mail_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
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
	s := newSender(t, srv)
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
	s := newSender(t, srv)
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

// TestSMTPSenderSendsBodiesIntact sends, over a real SMTP conversation
// (pipelined: the test server offers PIPELINING), bodies with lines that
// start with dots, which the data transfer must double and the server undo,
// and a text without a last line break; each arrives as written, from and
// to the envelope addresses alone.
func TestSMTPSenderSendsBodiesIntact(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := mail.NewSMTPSender(srv.URL()+"?timeout=5s", "Shop <hello@shop.test>")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	texts := []string{
		".starts with a dot\n..two dots\nmiddle . dot\n.\nend\n",
		"no last line break\n.",
	}
	for i, text := range texts {
		m := mail.Message{ID: int64(i + 1), To: "Ada <ada@example.com>", Subject: "dots", Text: text}
		if i == 0 {
			m.HTML = "<p>\n.dot</p>" // the other, text alone, ends without a line break
		}
		if err := s.Send(context.Background(), "", m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != len(texts) {
		t.Fatalf("%d messages arrived, want %d", len(msgs), len(texts))
	}
	for i, msg := range msgs {
		if msg.From != "hello@shop.test" || len(msg.To) != 1 || msg.To[0] != "ada@example.com" {
			t.Fatalf("message %d: envelope from %q to %q", i, msg.From, msg.To)
		}
		parts, err := msg.Parts()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(texts[i], "\n", "\r\n")
		if !strings.HasSuffix(want, "\r\n") {
			want += "\r\n" // SMTP data ends with a line break
		}
		if parts["text/plain"] != want || i == 0 && parts["text/html"] != "<p>\r\n.dot</p>" {
			t.Fatalf("message %d: parts %q, want text %q", i, parts, want)
		}
		h, err := msg.Header()
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Get("Message-Id"); !strings.HasPrefix(got, fmt.Sprintf("<aftercare.%d.", i+1)) || !strings.HasSuffix(got, "@shop.test>") {
			t.Fatalf("message %d: Message-ID %q", i, got)
		}
	}
}

// scriptedSMTP is a minimal SMTP server for one connection that offers the
// extensions caps (besides 8BITMIME) and records the conversation's lines;
// a BDAT chunk is recorded as "chunk: " and its bytes. Without PIPELINING
// in caps, a command sent before the reply to the last ends the
// conversation with a line saying so. The returned function sends
// mail.Message m through it and returns the conversation.
func scriptedSMTP(t *testing.T, caps ...string) func(m mail.Message) []string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	pipelining := slices.Contains(caps, "PIPELINING")
	got := make(chan []string, 1)
	go func() {
		var lines []string
		defer func() { got <- lines }()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		reply := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
		reply("220 localhost ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\r\n")
			lines = append(lines, line)
			var size int
			switch {
			case inData && line == ".":
				inData = false
				reply("250 queued")
			case inData:
			case r.Buffered() > 0 && !pipelining:
				lines = append(lines, "(a command sent before the reply to the last)")
				return
			case strings.HasPrefix(line, "EHLO"):
				ext := append([]string{"localhost"}, caps...)
				for _, e := range ext {
					reply("250-" + e)
				}
				reply("250 8BITMIME")
			case strings.HasPrefix(line, "DATA"):
				inData = true
				reply("354 go ahead")
			case strings.HasPrefix(line, "BDAT"):
				if _, err := fmt.Sscanf(line, "BDAT %d LAST", &size); err != nil {
					reply("501 bad BDAT")
					continue
				}
				chunk := make([]byte, size)
				if _, err := io.ReadFull(r, chunk); err != nil {
					return
				}
				lines = append(lines, "chunk: "+string(chunk))
				reply("250 queued")
			case strings.HasPrefix(line, "QUIT"):
				reply("221 bye")
				return
			default:
				reply("250 ok")
			}
		}
	}()
	return func(m mail.Message) []string {
		s, err := mail.NewSMTPSender("smtp://"+l.Addr().String()+"?tls=none&timeout=5s", "hello@shop.test")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), "", m); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return <-got
	}
}

// TestSMTPSenderSendsDataDotStuffed: a server that does not offer both
// PIPELINING and CHUNKING gets DATA and the message dot-stuffed and ended
// with a lone dot. Without PIPELINING each command waits for its reply
// (CHUNKING alone is not used: BDAT would be sent blind); with it, MAIL,
// RCPT and DATA go together.
func TestSMTPSenderSendsDataDotStuffed(t *testing.T) {
	for _, offers := range [][]string{{"CHUNKING"}, {"PIPELINING"}} {
		send := scriptedSMTP(t, offers...)
		lines := send(mail.Message{To: "ada@example.com", Subject: "dots", Text: ".hi\n"})
		want := []string{"MAIL FROM:<hello@shop.test> BODY=8BITMIME", "RCPT TO:<ada@example.com>", "DATA"}
		i := slices.Index(lines, want[0])
		if i < 0 || len(lines) < i+3 || !slices.Equal(lines[i:i+3], want) {
			t.Fatalf("offering %v: conversation %q, want %q in it", offers, lines, want)
		}
		if !slices.Contains(lines, "..hi") || !slices.Contains(lines, ".") || !slices.Contains(lines, "QUIT") {
			t.Fatalf("offering %v: conversation %q: no dot-stuffed body line, final dot or QUIT", offers, lines)
		}
	}
}

// TestSMTPSenderSendsChunksWhenOffered: a server that offers PIPELINING
// and CHUNKING gets MAIL, RCPT and BDAT LAST with the message as it is (no
// dot-stuffing: BDAT counts its bytes), and no DATA.
func TestSMTPSenderSendsChunksWhenOffered(t *testing.T) {
	send := scriptedSMTP(t, "PIPELINING", "CHUNKING")
	lines := send(mail.Message{To: "ada@example.com", Subject: "dots", Text: ".hi\n..two\nend"})
	i := slices.Index(lines, "MAIL FROM:<hello@shop.test> BODY=8BITMIME")
	if i < 0 || len(lines) < i+4 || lines[i+1] != "RCPT TO:<ada@example.com>" || !strings.HasPrefix(lines[i+2], "BDAT ") {
		t.Fatalf("conversation %q, want MAIL, RCPT and BDAT in it", lines)
	}
	chunk, ok := strings.CutPrefix(lines[i+3], "chunk: ")
	if !ok || lines[i+2] != fmt.Sprintf("BDAT %d LAST", len(chunk)) || slices.Contains(lines, "DATA") {
		t.Fatalf("conversation %q: no single last chunk of the message's size, or a DATA", lines)
	}
	if !strings.Contains(chunk, "\r\n.hi\r\n..two\r\nend\r\n") || !strings.HasSuffix(chunk, "end\r\n") || !strings.Contains(chunk, "Subject: dots\r\n") {
		t.Fatalf("chunk %q: not the message as written, ending with a line break", chunk)
	}
}
