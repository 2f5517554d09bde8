package mailtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
)

// Message is one accepted message: its envelope and raw RFC 5322 data.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	User string   // the authenticated user, if any
	Data []byte
}

// Header returns the parsed header fields of the message.
func (m Message) Header() (netmail.Header, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, fmt.Errorf("mailtest: parse message: %w", err)
	}
	return msg.Header, nil
}

// Subject returns the decoded Subject header.
func (m Message) Subject() (string, error) {
	h, err := m.Header()
	if err != nil {
		return "", err
	}
	return new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
}

// Parts returns the decoded body of every leaf part, keyed by media type
// ("text/plain", "text/html"); a type seen twice keeps the first.
func (m Message) Parts() (map[string]string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, fmt.Errorf("mailtest: parse message: %w", err)
	}
	parts := map[string]string{}
	err = collect(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, parts)
	return parts, err
}

func collect(contentType, encoding string, body io.Reader, parts map[string]string) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType, params = "text/plain", nil
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mailtest: read part: %w", err)
			}
			if err := collect(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, parts); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("mailtest: decode %s part: %w", mediaType, err)
	}
	if _, seen := parts[mediaType]; !seen {
		parts[mediaType] = string(b)
	}
	return nil
}

// newlineStripper drops CR and LF so base64 lines decode as one stream.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
