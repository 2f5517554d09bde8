package bench

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/aftercare/aftercare/internal/mail"
)

// TestSinkCountsWhatTheSenderSends sends messages to the sink with the
// product's SMTP sender (a real conversation, pipelined and chunked, over
// one kept connection) and checks that the sink counts each once.
func TestSinkCountsWhatTheSenderSends(t *testing.T) {
	s, err := StartSink()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sender, err := mail.NewSMTPSender(s.URL()+"?tls=none&timeout=5s", "shop@example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	for i := range 5 {
		m := mail.Message{ID: int64(i), To: fmt.Sprintf("ada%d@example.com", i), Subject: "hi", Text: "hello\n", HTML: "<p>hello</p>"}
		if err := sender.Send(context.Background(), "", m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := s.Count(); n != 5 {
		t.Fatalf("the sink counted %d messages, want 5", n)
	}
}

// recordingConn is a net.Conn that records each write and reads nothing.
type recordingConn struct {
	net.Conn
	writes []string
	closed bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return len(p), nil
}
func (c *recordingConn) Read([]byte) (int, error) { return 0, nil }
func (c *recordingConn) Close() error             { c.closed = true; return nil }

// TestBatchedConnWritesRepliesWhenItReads: replies written one by one go
// out together, in order, in one write when the server next reads, and a
// last one at Close.
func TestBatchedConnWritesRepliesWhenItReads(t *testing.T) {
	rc := &recordingConn{}
	c := &batchedConn{Conn: rc}
	c.Write([]byte("250 ok\r\n"))     //nolint:errcheck // recorded
	c.Write([]byte("250 ok too\r\n")) //nolint:errcheck // recorded
	if len(rc.writes) != 0 {
		t.Fatalf("replies written before the server read: %q", rc.writes)
	}
	c.Read(make([]byte, 8))        //nolint:errcheck // reads nothing
	c.Read(make([]byte, 8))        //nolint:errcheck // nothing more to write
	c.Write([]byte("221 bye\r\n")) //nolint:errcheck // recorded
	c.Close()                      //nolint:errcheck // recorded
	if want := []string{"250 ok\r\n250 ok too\r\n", "221 bye\r\n"}; !slices.Equal(rc.writes, want) || !rc.closed {
		t.Fatalf("writes %q (closed %v), want %q and closed", rc.writes, rc.closed, want)
	}
}
