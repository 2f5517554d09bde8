package mail

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
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
	qp := quotedprintable.NewWriter(b)
	qp.Write(unsafeBytes(body)) //nolint:errcheck // a bytes.Buffer does not fail
	qp.Close()                  //nolint:errcheck // a bytes.Buffer does not fail
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

// unsafeBytes is s as a byte slice without a copy, for writers that only
// read what they are given (quotedprintable.Writer has no WriteString, and
// a copy of every body was a large share of the sender's garbage).
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// unsafeString is b as a string without a copy, for a string that is read
// only while b is not written to.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
