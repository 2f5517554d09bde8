package server_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// lockedBuffer is a log that handlers may write from more than one goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestQuietPathsLogOnlyTheirFailures(t *testing.T) {
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	app := server.New(server.Options{DB: pgtest.DB(t), Views: views, Logger: slog.New(slog.NewTextHandler(&log, nil)),
		BaseURL: "http://example.test", QuietPaths: []string{"/r/"}})
	app.Get("/r/ok", func(c *fiber.Ctx) error { return c.SendString("landing") })
	app.Get("/r/gone", func(c *fiber.Ctx) error { return fault.Errorf(fault.NotFound, "No such code.") })
	app.Post("/r/ok", func(c *fiber.Ctx) error { return c.SendString("claimed") })
	app.Get("/loud", func(c *fiber.Ctx) error { return c.SendString("page") })

	for _, r := range []struct{ method, path string }{{"GET", "/r/ok"}, {"GET", "/r/gone"}, {"POST", "/r/ok"}, {"GET", "/loud"}} {
		req := httptest.NewRequest(r.method, r.path, nil)
		req.Header.Set("Cookie", "aftercare_csrf="+strings.Repeat("t", 43))
		req.Header.Set("X-CSRF-Token", strings.Repeat("t", 43))
		do(t, app, req)
	}
	lines := log.String()
	for _, want := range []string{"method=GET path=/r/gone status=404", "method=POST path=/r/ok status=200", "method=GET path=/loud status=200"} {
		if !strings.Contains(lines, want) {
			t.Errorf("no log line with %q:\n%s", want, lines)
		}
	}
	if strings.Contains(lines, "method=GET path=/r/ok") {
		t.Errorf("a quiet page's success was logged:\n%s", lines)
	}
}
