package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// SMTPSender sends messages to one SMTP server over go-mail. Connections are
// kept open between messages (a few, for a short while), because dialling,
// EHLO, STARTTLS and AUTH for every message cost more than the message.
type SMTPSender struct {
	host    string
	options []gomail.Option
	from    *netmail.Address
	client  *gomail.Client // the configuration connections are dialled with
	timeout time.Duration  // of each command on a connection

	mu   sync.Mutex
	idle []idleConn
}

// idleConn is an open SMTP connection waiting for the next message.
type idleConn struct {
	c     *smtp.Client
	since time.Time
}

const (
	// maxIdleConns bounds the open connections kept between messages. It
	// exceeds the messages delivery sends at once (DeliveryOptions'
	// MaxSending, 10 by default): with 8, the two connections above it
	// were closed at the end of every batch and dialled again (EHLO and
	// all) for the next.
	maxIdleConns = 16
	// idleConnFor is how long an unused connection is kept: less than the
	// few minutes servers wait before dropping a silent client.
	idleConnFor = 30 * time.Second
)

// NewSMTPSender configures a sender from a URL:
//
//	smtp://user:pass@host:587   STARTTLS when the server offers it (tls=mandatory to insist, tls=none to never)
//	smtps://user:pass@host:465  TLS from the first byte
//
// Credentials, when given, are sent with AUTH PLAIN (auth=login, cram-md5,
// scram-sha-256 or autodiscover choose another mechanism); go-mail refuses to
// send them unencrypted except to localhost. timeout=30s bounds each
// connection. from is the default sender address. It returns an error for a
// malformed URL or address.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("mail: SMTP URL must look like smtp://user:pass@host:587")
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	q := u.Query()
	timeout := 30 * time.Second
	if t := q.Get("timeout"); t != "" {
		if timeout, err = time.ParseDuration(t); err != nil || timeout <= 0 {
			return nil, fmt.Errorf("mail: SMTP URL: bad timeout %q", t)
		}
	}
	opts := []gomail.Option{gomail.WithTimeout(timeout)}
	port := 587
	switch u.Scheme {
	case "smtp":
		policy, err := tlsPolicy(q.Get("tls"))
		if err != nil {
			return nil, err
		}
		opts = append(opts, gomail.WithTLSPolicy(policy))
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("mail: SMTP URL: bad port %q", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		mech, err := authType(q.Get("auth"))
		if err != nil {
			return nil, err
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(user), gomail.WithPassword(pass))
	}
	s := &SMTPSender{host: u.Hostname(), options: opts, from: addr, timeout: timeout}
	// Build the client once now, so that a bad option fails at start-up.
	if s.client, err = gomail.NewClient(s.host, s.options...); err != nil {
		return nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	return s, nil
}

func tlsPolicy(v string) (gomail.TLSPolicy, error) {
	switch strings.ToLower(v) {
	case "", "opportunistic":
		return gomail.TLSOpportunistic, nil
	case "mandatory", "starttls":
		return gomail.TLSMandatory, nil
	case "none":
		return gomail.NoTLS, nil
	}
	return 0, fmt.Errorf("mail: SMTP URL: tls must be opportunistic, mandatory or none, not %q", v)
}

func authType(v string) (gomail.SMTPAuthType, error) {
	switch strings.ToLower(v) {
	case "", "plain":
		return gomail.SMTPAuthPlain, nil
	case "login":
		return gomail.SMTPAuthLogin, nil
	case "cram-md5":
		return gomail.SMTPAuthCramMD5, nil
	case "scram-sha-256":
		return gomail.SMTPAuthSCRAMSHA256, nil
	case "autodiscover":
		return gomail.SMTPAuthAutoDiscover, nil
	}
	return "", fmt.Errorf("mail: SMTP URL: unknown auth %q", v)
}

// Send delivers m from the address from (the sender's default when empty)
// as a multipart/alternative message with a text and an HTML part. A
// recipient refused for good (5xx to RCPT TO) is a Permanent error; any
// other failure may be retried.
func (s *SMTPSender) Send(ctx context.Context, from string, m Message) error {
	sender := s.from
	if from != "" {
		a, err := netmail.ParseAddress(from)
		if err != nil {
			return Permanent(fmt.Errorf("mail: sender address %q: %w", from, err))
		}
		sender = a
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return Permanent(fmt.Errorf("mail: recipient %q: %w", m.To, err))
	}
	msg, wire := getBuffer(), getBuffer()
	defer putBuffer(msg)
	defer putBuffer(wire)
	if err := writeMessage(msg, sender, to, m, time.Now()); err != nil {
		return err
	}
	conn, reused := s.take()
	if conn == nil {
		if conn, err = s.client.DialToSMTPClientWithContext(ctx); err != nil {
			return fmt.Errorf("mail: SMTP connect: %w", err)
		}
	}
	envFrom, rcpt := angleAddr(sender), angleAddr(to)
	stage, err := s.transact(conn, envFrom, rcpt, msg.Bytes(), wire)
	if err != nil && reused && stage == stageMail && closedConn(err) {
		// The kept connection had died (the server closed it, or went
		// away): the server accepted nothing on it (no message without
		// its MAIL), so dial once more.
		conn.Close() //nolint:errcheck // already dead
		if conn, err = s.client.DialToSMTPClientWithContext(ctx); err != nil {
			return fmt.Errorf("mail: SMTP connect: %w", err)
		}
		stage, err = s.transact(conn, envFrom, rcpt, msg.Bytes(), wire)
	}
	if err != nil {
		conn.Close() //nolint:errcheck // a connection in an unknown state is not reused
		var te *textproto.Error
		if stage == stageRcpt && errors.As(err, &te) && te.Code >= 500 {
			return Permanent(fmt.Errorf("mail: SMTP RCPT TO: %w", err))
		}
		return fmt.Errorf("mail: SMTP %s: %w", stage, err)
	}
	s.put(conn)
	return nil
}

// closedConn reports whether err, the failure of a transaction's first
// command, says the connection is gone rather than the server refusing the
// mail: no reply at all, or 421 (the server is closing the connection).
func closedConn(err error) bool {
	var te *textproto.Error
	return !errors.As(err, &te) || te.Code == 421
}

// The stages of an SMTP mail transaction, for what a failure means.
const (
	stageMail = "MAIL FROM"    // nothing sent yet
	stageRcpt = "RCPT TO"      // a recipient refused
	stageData = "DATA"         // the message not accepted (or unknown when the connection broke)
	stageDone = "(after DATA)" // never returned with an error
)

// transact sends msg (RFC 5322 data, CRLF line ends) from envFrom to rcpt
// as one mail transaction on conn, composing what goes on the wire in
// wire: MAIL, RCPT, the message, and nothing more. A transaction ends with
// the server's reply to the message, so the next one needs no RSET, and a
// kept connection needs no NOOP first: a dead one fails at MAIL, and the
// server accepts no message without it. It returns the stage a failure
// happened in.
//
// When the server offers PIPELINING (RFC 2920) and CHUNKING (RFC 3030),
// as Postfix, Exchange and Gmail do, the commands and the message go in one
// write and their three replies come back together: BDAT carries the
// message by its length, so it needs no dot-stuffing and no DATA
// intermediate reply, one round trip a message. With PIPELINING alone
// the three commands go together and the message after DATA's reply: two
// round trips (go-mail's way took six); without it, four.
func (s *SMTPSender) transact(conn *smtp.Client, envFrom, rcpt string, msg []byte, wire *bytes.Buffer) (string, error) {
	if err := conn.UpdateDeadline(s.timeout); err != nil {
		return stageMail, err
	}
	mailCmd := "MAIL FROM:" + envFrom
	if ok, _ := conn.Extension("8BITMIME"); ok {
		mailCmd += " BODY=8BITMIME"
	}
	if ok, _ := conn.Extension("SMTPUTF8"); ok {
		mailCmd += " SMTPUTF8" // as go-mail's Mail did
	}
	t := conn.Text
	pipelining, _ := conn.Extension("PIPELINING")
	if chunking, _ := conn.Extension("CHUNKING"); pipelining && chunking {
		// A message ends with a line break, as DATA's end adds one.
		end := ""
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			end = "\r\n"
		}
		wire.Reset()
		wire.Grow(len(mailCmd) + len(rcpt) + len(msg) + 48)
		wire.WriteString(mailCmd)
		wire.WriteString("\r\nRCPT TO:")
		wire.WriteString(rcpt)
		wire.WriteString("\r\nBDAT ")
		wire.WriteString(strconv.Itoa(len(msg) + len(end)))
		wire.WriteString(" LAST\r\n")
		wire.Write(msg)
		wire.WriteString(end)
		// The buffer is empty between transactions: a message larger than
		// it goes to the connection in one write.
		t.W.Write(wire.Bytes()) //nolint:errcheck // a bufio.Writer's error sticks until Flush
		if err := t.W.Flush(); err != nil {
			return stageMail, err // nothing can have been accepted without its reply
		}
		// Every reply is read, so the connection stays in step even when
		// one is a refusal (a server reads a refused BDAT's chunk and
		// refuses it too); the first refusal says what failed.
		return readPipelined(t, 250, stageDone)
	}
	// The body of DATA, dot-stuffed and ended, made whole before it is
	// sent so that it goes out in one write: through the connection's 4 KB
	// buffer a 12 KB email took three or four system calls.
	wire.Reset()
	wire.Grow(len(msg) + len(msg)/64 + 8)
	writeDotStuffed(wire, msg)
	if pipelining {
		if err := t.PrintfLine("%s\r\nRCPT TO:%s\r\nDATA", mailCmd, rcpt); err != nil {
			return stageMail, err
		}
		if stage, err := readPipelined(t, 354, stageData); err != nil {
			return stage, err
		}
	} else {
		if _, _, err := cmd(t, 250, mailCmd); err != nil {
			return stageMail, err
		}
		if _, _, err := cmd(t, 25, "RCPT TO:"+rcpt); err != nil {
			return stageRcpt, err
		}
		if _, _, err := cmd(t, 354, "DATA"); err != nil {
			return stageData, err
		}
	}
	// The buffer is empty after the commands' replies: a body larger than
	// it goes to the connection in one write.
	t.W.Write(wire.Bytes()) //nolint:errcheck // a bufio.Writer's error sticks until Flush
	if err := t.W.Flush(); err != nil {
		return stageData, err // the caller drops the connection, unfinished
	}
	// The reply to the final dot is the server accepting the message.
	if _, _, err := t.ReadResponse(250); err != nil {
		return stageData, err
	}
	return stageDone, nil
}

// cmd sends one command line and reads its reply.
func cmd(t *textproto.Conn, code int, line string) (int, string, error) {
	if err := t.PrintfLine("%s", line); err != nil {
		return 0, "", err
	}
	return t.ReadResponse(code)
}

// writeDotStuffed writes data as the body of DATA (RFC 5321 4.5.2): a dot
// doubled at the start of a line, a CRLF added when data lacks a last one,
// and the final dot. textproto's DotWriter does the same a byte at a time,
// which was most of the cost of handing a message over.
func writeDotStuffed(w *bytes.Buffer, data []byte) {
	// A bytes.Buffer's writes do not fail (they panic when out of memory).
	if len(data) > 0 && data[0] == '.' {
		w.WriteByte('.') //nolint:errcheck // as above
	}
	for {
		i := bytes.Index(data, []byte("\n."))
		if i < 0 {
			break
		}
		w.Write(data[:i+2]) //nolint:errcheck // as above
		w.WriteByte('.')    //nolint:errcheck // as above
		data = data[i+2:]
	}
	w.Write(data) //nolint:errcheck // as above
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		w.WriteString("\r\n") //nolint:errcheck // as above
	}
	w.WriteString(".\r\n") //nolint:errcheck // as above
}

// take returns a kept connection, closing those kept too long, or nil.
func (s *SMTPSender) take() (*smtp.Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.idle) > 0 {
		last := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if time.Since(last.since) < idleConnFor {
			return last.c, true
		}
		go last.c.Quit() //nolint:errcheck // polite goodbye to a stale connection
	}
	return nil, false
}

// put keeps conn for the next message, or says goodbye when enough are kept.
func (s *SMTPSender) put(conn *smtp.Client) {
	s.mu.Lock()
	if len(s.idle) < maxIdleConns {
		s.idle = append(s.idle, idleConn{c: conn, since: time.Now()})
		conn = nil
	}
	s.mu.Unlock()
	if conn != nil {
		conn.Quit() //nolint:errcheck // best effort
	}
}

// Close says goodbye on every kept connection.
func (s *SMTPSender) Close() {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, ic := range idle {
		ic.c.Quit() //nolint:errcheck // best effort at shutdown
	}
}

// angleAddr is a's address alone, in angle brackets, for MAIL FROM and
// RCPT TO. Its line breaks are refused by the address parser already.
func angleAddr(a *netmail.Address) string {
	return (&netmail.Address{Address: a.Address}).String()
}

func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 && i < len(address)-1 {
		return address[i+1:]
	}
	return "localhost"
}

// readPipelined reads the replies to a pipelined MAIL, RCPT and DATA (or
// BDAT, whose reply is the message's) and returns the stage of the first
// refusal, or ok when there was none. Every reply is read, so the
// connection stays in step even after a refusal.
func readPipelined(t *textproto.Conn, dataCode int, ok string) (string, error) {
	_, _, mailErr := t.ReadResponse(250)
	_, _, rcptErr := t.ReadResponse(25)
	_, _, dataErr := t.ReadResponse(dataCode)
	switch {
	case mailErr != nil:
		return stageMail, mailErr
	case rcptErr != nil:
		return stageRcpt, rcptErr
	case dataErr != nil:
		return stageData, dataErr
	}
	return ok, nil
}
