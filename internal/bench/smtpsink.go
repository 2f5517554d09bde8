package bench

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is an SMTP server that accepts every message, keeps none and counts
// them: the mail server of the journey benchmark.
type Sink struct {
	srv  *smtp.Server
	addr string
	n    atomic.Int64
}

// StartSink listens on a free loopback port.
func StartSink() (*Sink, error) {
	s := &Sink{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{s: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(replyBatching{l}) //nolint:errcheck // ends with Close
	return s, nil
}

// replyBatching hands out connections that write the server's replies when
// it next waits for input (or closes), as Postfix's smtpd does: the
// replies to commands a client pipelined (RFC 2920) go back together.
// go-smtp writes each reply with a system call of its own, three a
// message for MAIL, RCPT and BDAT sent together, which made the sink, a
// stand-in for a mail server on another machine, a third as costly in CPU
// as the server it measures. The conversation is the same.
type replyBatching struct{ net.Listener }

func (l replyBatching) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &batchedConn{Conn: c}, nil
}

// batchedConn keeps what is written until the next Read or Close.
type batchedConn struct {
	net.Conn
	mu  sync.Mutex // Close may come from the server's Close, in another goroutine
	out []byte
}

func (c *batchedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *batchedConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.out)
	c.out = c.out[:0]
	return err
}

func (c *batchedConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *batchedConn) Close() error {
	c.flush() //nolint:errcheck // a last reply (221, 421) is best effort
	return c.Conn.Close()
}

// URL is the smtp:// URL for AFTERCARE_SMTP_URL.
func (s *Sink) URL() string { return "smtp://" + s.addr }

// Count is the number of messages accepted so far.
func (s *Sink) Count() int64 { return s.n.Load() }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

type sinkSession struct{ s *Sink }

func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.n.Add(1)
	return nil
}
