package mail

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TestWriteMessageIsWhatGoMailWrote compares the hand-written MIME message
// byte for byte with what go-mail, which composed messages before, writes
// for the same message (less go-mail's User-Agent and X-Mailer, and with
// the same boundary).
func TestWriteMessageIsWhatGoMailWrote(t *testing.T) {
	from, err := netmail.ParseAddress("Shop Ü <hello@shop.test>")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 14, 13, 30, 0, time.FixedZone("", 3600))
	long := "Your order ✓ is on its way, a long subject line that goes on and on beyond seventy-eight characters for sure"
	tests := []struct {
		name string
		m    Message
	}{
		{"text and HTML", Message{ID: 42, To: "Ada Lovelace <ada@example.com>", Subject: "Your order", Text: "Hello Ada,\r\nsee you\n", HTML: "<p>Hi</p>\n<a href=\"https://x.test/m?t=abc=def\">x</a>"}},
		{"many short words", Message{ID: 8, To: "ada@example.com", Subject: strings.Repeat("ab ", 60) + "end", Text: "x",
			Headers: map[string]string{"X-Pad": strings.Repeat("w ", 90) + "end", "X-Tab": "a\tb  c"}}},
		{"text only", Message{ID: 7, To: "ada@example.com", Subject: "plain", Text: "no trailing newline"}},
		{"encoded and folded", Message{ID: 9, To: "Zoë <zoe@example.com>", Subject: long,
			Text: "line with = sign and ümlaut and a very long line that is longer than seventy six characters for sure, yes indeed  \n\ttabbed\n",
			HTML: strings.Repeat("<td style=\"padding:0\">cell ✓</td>", 20),
			Headers: map[string]string{
				"List-Unsubscribe":      "<https://shop.test/u/" + strings.Repeat("abcdef0123", 9) + ">",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"Reply-To":              "Help Desk <help@shop.test>",
				"X-Kind":                "order ü with several words to fold somewhere past the end of the line",
				"Auto-Submitted":        "auto-generated",
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.CreatedAt = time.Unix(1700000000, 5)
			var got bytes.Buffer
			if err := writeMessage(&got, from, mustAddress(t, tt.m.To), tt.m, now); err != nil {
				t.Fatal(err)
			}
			boundary := ""
			if b := regexp.MustCompile(`boundary=([0-9a-f]{60})\r\n`).FindSubmatch(got.Bytes()); b != nil {
				boundary = string(b[1])
			} else if tt.m.HTML != "" {
				t.Fatalf("no boundary in\n%s", got.String())
			}
			want := goMailMessage(t, from, tt.m, now, boundary)
			if got.String() != want {
				t.Fatalf("got\n%s\nwant (go-mail)\n%s", got.String(), want)
			}
		})
	}
}

func mustAddress(t *testing.T, s string) *netmail.Address {
	t.Helper()
	a, err := netmail.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// goMailMessage is m as go-mail composed it.
func goMailMessage(t *testing.T, from *netmail.Address, m Message, now time.Time, boundary string) string {
	t.Helper()
	var opts []gomail.MsgOption
	if boundary != "" {
		opts = append(opts, gomail.WithBoundary(boundary))
	}
	msg := gomail.NewMsg(opts...)
	msg.FromMailAddress(from)
	if err := msg.To(m.To); err != nil {
		t.Fatal(err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue("aftercare." + itoa(m.ID) + "." + itoa(m.CreatedAt.UnixNano()) + "@" + domainOf(from.Address))
	for name, value := range m.Headers {
		if name == "Reply-To" {
			if err := msg.ReplyTo(value); err != nil {
				t.Fatal(err)
			}
			continue
		}
		msg.SetGenHeader(gomail.Header(name), value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(b.String(), "\r\n") {
		if !strings.HasPrefix(line, "User-Agent:") && !strings.HasPrefix(line, "X-Mailer:") {
			out.WriteString(line)
		}
	}
	return out.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTidyText checks the one-pass tidyText against the straightforward
// split-trim-join it replaced.
func TestTidyText(t *testing.T) {
	old := func(s string) string {
		lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		var out []string
		blank := 0
		for _, l := range lines {
			if l != "-- " {
				l = strings.TrimRight(l, " \t")
			}
			if l == "" {
				blank++
				if blank > 1 || len(out) == 0 {
					continue
				}
			} else {
				blank = 0
			}
			out = append(out, l)
		}
		return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
	}
	for _, s := range []string{
		"", "\n", "a", "a\n", "\n\n  \nHello Ada,  \n\n\n\nline\t\n-- \nShop\n\n\n",
		"one\r\ntwo \r\n\r\n\r\nthree\r", "x\n \t\n\ty\n", "-- ", " -- \n--  \n",
	} {
		if got, want := tidyText(s), old(s); got != want {
			t.Errorf("tidyText(%q) = %q, want %q", s, got, want)
		}
	}
}

// qpCases are bodies for the quoted-printable encoder: line ends of every
// kind, spaces and tabs before them and at the end, "=" and UTF-8 at every
// place of a line, lines of exactly the length where a soft break falls.
var qpCases = []string{
	"", "a", " ", "\t", "=", "\r", "\n", "\r\n", "\n\r", "\r\r\n", " \r\n", "a \n", "a\t\r\nb", "a \rb", "\r=\n",
	"trailing space ", "trailing tab\t", "ü", "= \n=", "x  \n\n  \n",
	strings.Repeat("a", 75), strings.Repeat("a", 76), strings.Repeat("a", 77), strings.Repeat("a", 74) + " ",
	strings.Repeat("a", 75) + " ", strings.Repeat("a", 72) + "=", strings.Repeat("a", 73) + "=", strings.Repeat("a", 74) + "ü",
	strings.Repeat("a", 72) + " \n", strings.Repeat("a", 73) + " \n", strings.Repeat("a", 74) + "\t\r\n",
	strings.Repeat("<td style=\"padding:0\">cell ✓</td>", 40),
	strings.Repeat("word ", 100) + "\n" + strings.Repeat("=", 200) + "\r\n" + strings.Repeat(" ", 160),
}

// stdQuotedPrintable is src as mime/quotedprintable's Writer encodes it.
func stdQuotedPrintable(src string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(src)) //nolint:errcheck // a bytes.Buffer does not fail
	w.Close()            //nolint:errcheck // a bytes.Buffer does not fail
	return b.String()
}

// checkQuotedPrintable checks appendQuotedPrintable on src: the Writer's
// bytes exactly (after a prefix it must leave alone), lines of at most 76
// bytes ending in CRLF with no space or tab before a line end, and the
// Reader giving src back (line ends as CRLF).
func checkQuotedPrintable(t *testing.T, src string) {
	t.Helper()
	got := string(appendQuotedPrintable([]byte("prefix\r\n"), src))
	if !strings.HasPrefix(got, "prefix\r\n") {
		t.Fatalf("%q: the prefix was changed: %q", src, got)
	}
	got = got[len("prefix\r\n"):]
	if want := stdQuotedPrintable(src); got != want {
		t.Fatalf("%q: encoded as\n%q\nwant (mime/quotedprintable)\n%q", src, got, want)
	}
	for i, l := range strings.Split(got, "\r\n") {
		if len(l) > qpMaxLine || strings.ContainsAny(l, "\r\n") || strings.HasSuffix(l, " ") || strings.HasSuffix(l, "\t") {
			t.Fatalf("%q: line %d of the encoding is %q", src, i, l)
		}
		for _, c := range []byte(l) {
			if c >= 0x80 {
				t.Fatalf("%q: line %d of the encoding has a raw non-ASCII byte: %q", src, i, l)
			}
		}
	}
	back, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got)))
	if err != nil {
		t.Fatalf("%q: decoding %q: %v", src, got, err)
	}
	// The Reader gives every line end back as CRLF. A lone CR is a line
	// end too, but the Writer takes an LF after it and encoded bytes as
	// part of it ("\r=\n" is "\r\n=3D"): those are left out here.
	if strings.Count(src, "\r") == strings.Count(src, "\r\n") {
		if want := strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\n", "\r\n"); string(back) != want {
			t.Fatalf("%q: decodes to %q", src, back)
		}
	}
}

// TestAppendQuotedPrintable checks the hand-written encoder against
// mime/quotedprintable on bodies chosen for its edges.
func TestAppendQuotedPrintable(t *testing.T) {
	for _, src := range qpCases {
		checkQuotedPrintable(t, src)
	}
}

// FuzzAppendQuotedPrintable checks the encoder against mime/quotedprintable
// on any body (go test -fuzz FuzzAppendQuotedPrintable ./internal/mail).
func FuzzAppendQuotedPrintable(f *testing.F) {
	for _, src := range qpCases {
		f.Add(src)
	}
	f.Fuzz(checkQuotedPrintable)
}
