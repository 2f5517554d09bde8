package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// The access log written by hand (server.LogHandler) must be the JSON slog
// writes: one object per line, the same keys, in the same order, with the
// same values, whatever the request's strings hold.
func TestAccessLogLinesAreSlogsJSON(t *testing.T) {
	var out lockedBuffer
	log := slog.New(server.NewLogHandler(&out, nil))
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: pgtest.DB(t), Views: views, Logger: log, BaseURL: "http://example.test"})
	app.Get("/orders/:id", func(c *fiber.Ctx) error { return c.SendString("page") })
	app.Get("/boom", func(c *fiber.Ctx) error { return fault.Errorf(fault.Internal, "boom") })

	ids := []string{"plain-id_1", "", strings.Repeat("x", 65), "a\"b"}
	for _, id := range ids {
		req := httptest.NewRequest("GET", "/orders/12", nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		do(t, app, req)
	}
	do(t, app, httptest.NewRequest("GET", "/boom", nil))
	log.Info("not a request", "k", "v") // slog's own line, same writer

	type line struct {
		keys   []string
		fields map[string]any
	}
	var lines []line
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		raw := sc.Bytes()
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, raw)
		}
		keys, err := jsonKeys(raw)
		if err != nil {
			t.Fatal(err)
		}
		if fields["msg"] == "request failed" {
			continue // the error handler's own line for the 500, through slog
		}
		lines = append(lines, line{keys, fields})
	}
	if len(lines) != len(ids)+2 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(ids)+2, out.String())
	}
	want := []string{"time", "level", "msg", "request_id", "method", "path", "status", "duration_ms", "ip"}
	// slog's own line for the same record, for the keys and their order.
	var ref bytes.Buffer
	slog.New(slog.NewJSONHandler(&ref, nil)).Info("request", "request_id", "x", "method", "GET", "path", "/orders/:id",
		"status", 200, "duration_ms", 0.5, "ip", "0.0.0.0")
	refKeys, err := jsonKeys(bytes.TrimSpace(ref.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(refKeys, ",") != strings.Join(want, ",") {
		t.Fatalf("slog writes keys %v", refKeys)
	}
	hexID := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for i, l := range lines[:len(ids)+1] {
		if strings.Join(l.keys, ",") != strings.Join(want, ",") {
			t.Errorf("line %d keys %v, want %v", i, l.keys, want)
		}
		if _, err := time.Parse(time.RFC3339Nano, l.fields["time"].(string)); err != nil {
			t.Errorf("line %d time: %v", i, err)
		}
		if l.fields["msg"] != "request" || l.fields["method"] != "GET" || l.fields["ip"] != "0.0.0.0" {
			t.Errorf("line %d: %v", i, l.fields)
		}
		if d, ok := l.fields["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("line %d duration: %v", i, l.fields["duration_ms"])
		}
	}
	for i, id := range ids {
		f := lines[i].fields
		if f["path"] != "/orders/:id" || f["status"] != float64(200) || f["level"] != "INFO" {
			t.Errorf("line %d: %v", i, f)
		}
		got, _ := f["request_id"].(string)
		if i == 0 && got != id {
			t.Errorf("the caller's request id %q was not kept: %q", id, got)
		}
		if i > 0 && !hexID.MatchString(got) {
			t.Errorf("request id %q (sent %q) is not a new one", got, id)
		}
	}
	if f := lines[len(ids)].fields; f["status"] != float64(500) || f["level"] != "ERROR" || f["path"] != "/boom" {
		t.Errorf("failed request's line: %v", f)
	}
	if f := lines[len(ids)+1].fields; f["msg"] != "not a request" || f["k"] != "v" {
		t.Errorf("slog's own line: %v", f)
	}
}

// jsonKeys returns the top-level keys of a JSON object in their order.
func jsonKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// With the log level above Info, request lines are left out as slog would.
func TestAccessLogFollowsTheLevel(t *testing.T) {
	var out lockedBuffer
	log := slog.New(server.NewLogHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: pgtest.DB(t), Views: views, Logger: log, BaseURL: "http://example.test"})
	app.Get("/ok", func(c *fiber.Ctx) error { return c.SendString("page") })
	app.Get("/boom", func(c *fiber.Ctx) error { return fault.Errorf(fault.Internal, "boom") })
	do(t, app, httptest.NewRequest("GET", "/ok", nil))
	do(t, app, httptest.NewRequest("GET", "/boom", nil))
	s := out.String()
	if strings.Contains(s, `"path":"/ok"`) || !strings.Contains(s, `"path":"/boom","status":500`) {
		t.Fatalf("log at Warn:\n%s", s)
	}
}

// Every response has its own request id and CSP nonce, the nonce the page
// was given, and the security headers; a NUL in the query is refused.
func TestEachRequestHasItsOwnIDNonceAndHeaders(t *testing.T) {
	app := newApp(t, server.Options{})
	app.Get("/nonce", func(c *fiber.Ctx) error {
		n, _ := c.Locals("cspNonce").(string)
		return c.SendString(server.RequestID(c) + " " + n)
	})
	seen := map[string]bool{}
	for range 3 {
		resp, body := do(t, app, httptest.NewRequest("GET", "/nonce", nil))
		id, nonce, _ := strings.Cut(body, " ")
		if resp.Header.Get("X-Request-Id") != id || len(id) != 24 || len(nonce) != 22 {
			t.Fatalf("id %q (header %q), nonce %q", id, resp.Header.Get("X-Request-Id"), nonce)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if want := "style-src 'self' 'nonce-" + nonce + "'; script-src 'self' 'nonce-" + nonce + "';"; !strings.Contains(csp, want) {
			t.Fatalf("CSP %q lacks %q", csp, want)
		}
		if !strings.HasPrefix(csp, "default-src 'self';") || !strings.HasSuffix(csp, "object-src 'none'") {
			t.Fatalf("CSP %q", csp)
		}
		for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Cross-Origin-Opener-Policy": "same-origin", "Referrer-Policy": "strict-origin-when-cross-origin",
			"Permissions-Policy": "camera=(), microphone=(), geolocation=()"} {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("%s: %q, want %q", h, got, v)
			}
		}
		if seen[id] || seen[nonce] {
			t.Fatalf("id or nonce repeated: %q %q", id, nonce)
		}
		seen[id], seen[nonce] = true, true
	}
	resp, _ := do(t, app, httptest.NewRequest("GET", "/m/abc", nil))
	if resp.Header.Get("Referrer-Policy") != "same-origin" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("magic link headers: %v", resp.Header)
	}
	req := httptest.NewRequest("GET", "/nonce", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	if resp, _ := do(t, app, req); resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over https")
	}
	for _, q := range []string{"?q=a%00b", "?q=%00"} {
		if resp, _ := do(t, app, httptest.NewRequest("GET", "/nonce"+q, nil)); resp.StatusCode != 400 {
			t.Errorf("%s: status %d", q, resp.StatusCode)
		}
	}
}

// The request counter is per route, method and status, however many
// requests share them.
func TestMetricsCountEachRouteAndStatus(t *testing.T) {
	app := newApp(t, server.Options{})
	app.Get("/thing/:id", func(c *fiber.Ctx) error {
		if c.Params("id") == "0" {
			return fault.Errorf(fault.NotFound, "none")
		}
		return c.SendString("ok")
	})
	for _, p := range []string{"/thing/1", "/thing/2", "/thing/0", "/thing/3", "/nowhere", "/nowhere/else"} {
		do(t, app, httptest.NewRequest("GET", p, nil))
	}
	do(t, app, httptest.NewRequest("HEAD", "/thing/1", nil))
	_, body := do(t, app, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`aftercare_http_requests_total{method="GET",route="/thing/:id",status="200"} 3`,
		`aftercare_http_requests_total{method="GET",route="/thing/:id",status="404"} 1`,
		`aftercare_http_requests_total{method="HEAD",route="/thing/:id",status="200"} 1`,
		`aftercare_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`aftercare_http_request_duration_seconds_count{method="GET",route="/thing/:id"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
