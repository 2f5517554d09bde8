package bench

import (
	"io"
	"net"
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
	go s.srv.Serve(l) //nolint:errcheck // ends with Close
	return s, nil
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
