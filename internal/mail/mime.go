package mail

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"mime"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// The MIME message is written by hand, straight into a reused buffer, in
// the form go-mail gave it (header fields sorted, then From, To and
// Reply-To; quoted-printable UTF-8 parts; a multipart/alternative of text
// and HTML): go-mail's message object, its maps and its per-part writers
// cost about as much CPU per email as the SMTP conversation itself.

// maxHeaderLine is where header fields are folded (go-mail's
// MaxHeaderLength; RFC 5322 recommends 78).
const maxHeaderLine = 76

// maxKeptBuffer bounds the buffers kept for the next message, so that one
// huge message does not pin its memory.
const maxKeptBuffer = 256 << 10

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	b := bufferPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxKeptBuffer {
		bufferPool.Put(b)
	}
}

// field is one header field before sorting.
type field struct{ name, value string }

// writeMessage writes m, from from to to, dated now, as RFC 5322 data with
// CRLF line ends into b. A header of m with a line break or a bad Reply-To
// is a Permanent error.
func writeMessage(b *bytes.Buffer, from, to *netmail.Address, m Message, now time.Time) error {
	var replyTo *netmail.Address
	var fixed [8]field
	fields := fixed[:0]
	var date [40]byte
	var id [64]byte
	// A Message-ID fixed per message lets a receiving server drop a
	// duplicate if a retry resends what it already accepted.
	msgID := append(id[:0], "<aftercare."...)
	msgID = strconv.AppendInt(msgID, m.ID, 10)
	msgID = append(msgID, '.')
	msgID = strconv.AppendInt(msgID, m.CreatedAt.UnixNano(), 10)
	msgID = append(msgID, '@')
	msgID = append(msgID, domainOf(from.Address)...)
	msgID = append(msgID, '>')
	fields = append(fields,
		field{"Date", string(now.AppendFormat(date[:0], time.RFC1123Z))},
		field{"MIME-Version", "1.0"},
		field{"Message-ID", string(msgID)},
		field{"Subject", encodeWord(m.Subject)},
	)
	for name, value := range m.Headers {
		if name == "" || strings.ContainsAny(name, "\r\n") || strings.ContainsAny(value, "\r\n") {
			return Permanent(fmt.Errorf("mail: header %q has a line break", name))
		}
		if strings.EqualFold(name, "Reply-To") {
			a, err := netmail.ParseAddress(value)
			if err != nil {
				return Permanent(fmt.Errorf("mail: Reply-To %q: %w", value, err))
			}
			replyTo = a
			continue
		}
		// A header of the message's own replaces the sender's of that name.
		if i := slices.IndexFunc(fields, func(f field) bool { return f.name == name }); i >= 0 {
			fields[i].value = encodeWord(value)
			continue
		}
		fields = append(fields, field{name, encodeWord(value)})
	}
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.name, b.name) })
	for _, f := range fields {
		writeHeader(b, f.name, f.value)
	}
	writeHeader(b, "From", from.String())
	writeHeader(b, "To", to.String())
	if replyTo != nil {
		writeHeader(b, "Reply-To", replyTo.String())
	}
	if m.HTML == "" {
		writePart(b, "text/plain", m.Text)
		return nil
	}
	var boundary [60]byte
	randomBoundary(boundary[:])
	b.WriteString("Content-Type: multipart/alternative;\r\n boundary=")
	b.Write(boundary[:])
	b.WriteString("\r\n\r\n--")
	b.Write(boundary[:])
	b.WriteString("\r\n")
	writePart(b, "text/plain", m.Text)
	b.WriteString("\r\n--")
	b.Write(boundary[:])
	b.WriteString("\r\n")
	writePart(b, "text/html", m.HTML)
	b.WriteString("\r\n--")
	b.Write(boundary[:])
	b.WriteString("--\r\n")
	return nil
}

// encodeWord is s as RFC 2047 encoded words when it is not plain ASCII.
func encodeWord(s string) string {
	return mime.QEncoding.Encode("UTF-8", s)
}

// writeHeader writes the field name: value, folded before a word that
// would take its line past maxHeaderLine.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(": ")
	room := maxHeaderLine - 4 - len(name)
	for {
		word, rest, more := strings.Cut(value, " ")
		if word != "" && room-len(word) <= 1 {
			// Drop the space before the break: the fold's own is enough.
			b.Truncate(b.Len() - 1)
			b.WriteString("\r\n ")
			room = maxHeaderLine - 3
		}
		b.WriteString(word)
		room -= len(word)
		if !more {
			break
		}
		b.WriteByte(' ')
		room--
		value = rest
	}
	b.WriteString("\r\n")
}

// writePart writes the header and quoted-printable UTF-8 body of a text
// part of the type contentType.
func writePart(b *bytes.Buffer, contentType, body string) {
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\nContent-Type: ")
	b.WriteString(contentType)
	b.WriteString("; charset=UTF-8\r\n\r\n")
	// Encoded in the buffer's free space, grown first for an HTML body
	// heavy with '=' (each one three bytes); the rare larger one grows it
	// by append, then Write copies it in.
	b.Grow(len(body) + len(body)/2 + 64)
	b.Write(appendQuotedPrintable(b.AvailableBuffer(), body)) //nolint:errcheck // a bytes.Buffer does not fail
}

// qpMaxLine is the longest line of quoted-printable text, its soft line
// break's "=" included (RFC 2045 6.7).
const qpMaxLine = 76

// qpLiteral marks the bytes quoted-printable text carries as they are:
// printable ASCII but "=", and space and tab (encoded only at the end of
// a line).
var qpLiteral = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = c != '='
	}
	t[' '], t['\t'] = true, true
	return t
}()

// appendQuotedPrintable appends src quoted-printable encoded to dst, byte
// for byte what mime/quotedprintable's Writer writes for it (text mode:
// each CRLF, LF or lone CR a CRLF) and Close. The Writer copies its output
// a line at a time through a 78-byte array after looking at every byte
// twice, about 5% of the delivery's CPU; this copies runs of plain text
// in one go, straight into the message.
func appendQuotedPrintable(dst []byte, src string) []byte {
	line := len(dst) // where the current output line starts
	cr := false      // the last line break was a CR (a following LF is part of it)
	for len(src) > 0 {
		c := src[0]
		switch {
		case qpLiteral[c]:
			n := 1
			for n < len(src) && qpLiteral[src[n]] {
				n++
			}
			run := src[:n]
			src = src[n:]
			for len(run) > 0 {
				if len(dst)-line == qpMaxLine-1 {
					dst = append(dst, "=\r\n"...)
					line = len(dst)
				}
				k := min(len(run), qpMaxLine-1-(len(dst)-line))
				dst = append(dst, run[:k]...)
				run = run[k:]
			}
			cr = false
		case c == '\r' || c == '\n':
			src = src[1:]
			if cr && c == '\n' {
				cr = false
				continue
			}
			cr = c == '\r'
			dst = qpEncodeTrailingSpace(dst, &line)
			dst = append(dst, "\r\n"...)
			line = len(dst)
		default:
			// As the Writer does, an encoded byte leaves cr as it was.
			src = src[1:]
			dst = qpEncode(dst, &line, c)
		}
	}
	return qpEncodeTrailingSpace(dst, &line)
}

// qpEncode appends c as =XX to the line that starts at dst[*line], after a
// soft line break when the line has no room left for it.
func qpEncode(dst []byte, line *int, c byte) []byte {
	const upperhex = "0123456789ABCDEF"
	if qpMaxLine-1-(len(dst)-*line) < 3 {
		dst = append(dst, "=\r\n"...)
		*line = len(dst)
	}
	return append(dst, '=', upperhex[c>>4], upperhex[c&0x0f])
}

// qpEncodeTrailingSpace encodes the last byte of the line that starts at
// dst[*line] when it is a space or a tab, which a line must not end with.
func qpEncodeTrailingSpace(dst []byte, line *int) []byte {
	if n := len(dst); n > *line && (dst[n-1] == ' ' || dst[n-1] == '\t') {
		return qpEncode(dst[:n-1], line, dst[n-1])
	}
	return dst
}

// randomBoundary fills dst with hex digits no message body is expected to
// hold on a line of its own.
func randomBoundary(dst []byte) {
	const hex = "0123456789abcdef"
	var r uint64
	for i := range dst {
		if i%16 == 0 {
			r = rand.Uint64()
		}
		dst[i] = hex[r&15]
		r >>= 4
	}
}

// unsafeString is b as a string without a copy, for a string that is read
// only while b is not written to.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
