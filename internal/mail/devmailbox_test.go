package mail_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

func TestKeptMailShowsInTheDevMailbox(t *testing.T) {
	h := start(t, nil)
	h.queue(t, mail.Queued{Kind: "note", DedupeKey: "note:dev", To: "ada@example.com"})
	if got := h.waitState(t, "note:dev"); got.Status != mail.StatusKept || got.Attempts != 0 {
		t.Fatalf("message = %+v, want kept without a send attempt", got)
	}
	var id int64
	if err := h.db.Get(&id, `SELECT id FROM messages WHERE dedupe_key = 'note:dev'`); err != nil {
		t.Fatal(err)
	}
	// The HTML part carries a link, as the real emails do.
	if _, err := h.db.Exec(`UPDATE messages SET html_body = '<html><head></head><body><a href="http://shop.test/m/abc">Open</a></body></html>',
		text_body = text_body || ' Open: http://shop.test/m/abc.' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}

	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: h.db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Views: engine})
	mail.DevMailbox(h.db).Routes(app)
	path := "/dev/mail/" + strconv.FormatInt(id, 10)

	tests := []struct {
		name, path string
		status     int
		body       []string
		headers    map[string]string
	}{
		{"the list shows the kept message", "/dev/mail", 200,
			[]string{"Dev mailbox", "ada@example.com", "Your note from Test Shop", `href="` + path + `"`, "Kept"}, nil},
		{"a message shows its parts and its working links", path, 200,
			[]string{"Your note from Test Shop", `src="` + path + `/html"`, "sandbox=", "Hello in plain text.",
				`<a href="http://shop.test/m/abc">http://shop.test/m/abc</a>`}, nil},
		{"the HTML part is served framed by us only and without scripts", path + "/html", 200,
			[]string{`<head><base target="_top"></head>`, `href="http://shop.test/m/abc"`},
			map[string]string{"X-Frame-Options": "SAMEORIGIN", "Content-Type": "text/html; charset=utf-8"}},
		{"an unknown message is not found", "/dev/mail/999999", 404, nil, nil},
		{"a malformed id is not found", "/dev/mail/abc", 404, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := app.Test(httptest.NewRequest("GET", tt.path, nil), -1)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d\n%s", resp.StatusCode, tt.status, b)
			}
			for _, want := range tt.body {
				if !strings.Contains(string(b), want) {
					t.Errorf("body lacks %q:\n%s", want, b)
				}
			}
			for k, want := range tt.headers {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if strings.HasSuffix(tt.path, "/html") {
				csp := resp.Header.Get("Content-Security-Policy")
				if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") ||
					!strings.Contains(csp, "style-src 'unsafe-inline'") || !strings.Contains(csp, "frame-ancestors 'self'") {
					t.Errorf("CSP = %q, want inline styles, no scripts, framed by us only", csp)
				}
			}
		})
	}
}
