package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newApp(t *testing.T, o server.Options) *fiber.App {
	t.Helper()
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.DB == nil {
		o.DB = pgtest.DB(t)
	}
	o.Views = views
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.BaseURL = "http://example.test"
	app := server.New(o)
	app.Get("/api/v1/boom", func(c *fiber.Ctx) error { return errors.New("pq: secret internal detail") })
	app.Get("/api/v1/bad", func(c *fiber.Ctx) error { return fault.Field("items[0].quantity", "must be at least 1") })
	app.Get("/page/boom", func(c *fiber.Ctx) error { return errors.New("pq: secret internal detail") })
	app.Get("/api/v1/down", func(c *fiber.Ctx) error {
		return fmt.Errorf("commerce: upsert order: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	})
	app.Get("/page/missing", func(c *fiber.Ctx) error { return fault.Errorf(fault.NotFound, "No such order.") })
	app.Post("/form", func(c *fiber.Ctx) error { return c.SendString("accepted") })
	app.Post("/api/v1/echo", func(c *fiber.Ctx) error { return c.SendString("ok") })
	return app
}

func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestErrorsBecomeStatusesAndNeverLeakInternals(t *testing.T) {
	app := newApp(t, server.Options{})
	tests := []struct {
		name, path, wantType string
		wantStatus           int
		wantText             string
	}{
		{"an API internal error is a plain 500 problem", "/api/v1/boom", "application/problem+json", 500, "Something went wrong"},
		{"an API field error names the field", "/api/v1/bad", "application/problem+json", 422, "items[0].quantity"},
		{"an unknown API route is a 404 problem", "/api/v1/nothing-here", "application/problem+json", 404, "Not found"},
		{"an unreachable database is a 503 problem to retry", "/api/v1/down", "application/problem+json", 503, "try again"},
		{"a page internal error is an apology page", "/page/boom", "text/html; charset=utf-8", 500, "Something went wrong on our side"},
		{"a page domain error shows its message", "/page/missing", "text/html; charset=utf-8", 404, "No such order."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, app, httptest.NewRequest("GET", tt.path, nil))
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("content type %q, want %q", got, tt.wantType)
			}
			if !strings.Contains(body, tt.wantText) {
				t.Errorf("body lacks %q: %s", tt.wantText, body)
			}
			if strings.Contains(body, "secret internal detail") {
				t.Errorf("internal error text leaked: %s", body)
			}
			if tt.wantStatus == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("a 503 without Retry-After")
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no request id header")
			}
		})
	}
}

func TestProblemDocumentShape(t *testing.T) {
	app := newApp(t, server.Options{})
	_, body := do(t, app, httptest.NewRequest("GET", "/api/v1/bad", nil))
	var p server.Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "items[0].quantity" || p.Instance != "/api/v1/bad" || p.RequestID == "" {
		t.Fatalf("unexpected problem %+v", p)
	}
}

func TestOversizedBodyIs413Problem(t *testing.T) {
	app := newApp(t, server.Options{MaxBodyBytes: 1024})
	// app.Test refuses large bodies itself, so this goes through a real listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { app.Shutdown() })
	resp, err := http.Post("http://"+ln.Addr().String()+"/api/v1/echo", "application/json", strings.NewReader(strings.Repeat("x", 4096)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != 413 || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestCSRF(t *testing.T) {
	app := newApp(t, server.Options{})
	resp, _ := do(t, app, httptest.NewRequest("GET", "/healthz", nil))
	var token string
	for _, c := range resp.Cookies() {
		if c.Name == "aftercare_csrf" {
			token = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("csrf cookie flags: %+v", c)
			}
		}
	}
	if token == "" {
		t.Fatal("no csrf cookie set")
	}
	post := func(field, origin string, cookie bool) int {
		req := httptest.NewRequest("POST", "/form", strings.NewReader(url.Values{"_csrf": {field}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if cookie {
			req.AddCookie(&http.Cookie{Name: "aftercare_csrf", Value: token})
		}
		resp, _ := do(t, app, req)
		return resp.StatusCode
	}
	t.Run("a form with the matching token passes", func(t *testing.T) {
		if s := post(token, "http://example.test", true); s != 200 {
			t.Fatalf("status %d", s)
		}
	})
	t.Run("a form without the token is refused", func(t *testing.T) {
		if s := post("", "", true); s != 403 {
			t.Fatalf("status %d", s)
		}
	})
	t.Run("a form with another token is refused", func(t *testing.T) {
		if s := post(strings.Repeat("A", 43), "", true); s != 403 {
			t.Fatalf("status %d", s)
		}
	})
	t.Run("a form from another origin is refused", func(t *testing.T) {
		if s := post(token, "https://evil.test", true); s != 403 {
			t.Fatalf("status %d", s)
		}
	})
	t.Run("a form without the cookie is refused", func(t *testing.T) {
		if s := post(token, "", false); s != 403 {
			t.Fatalf("status %d", s)
		}
	})
	t.Run("the API is exempt", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/v1/echo", nil)
		if resp, _ := do(t, app, req); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestHealthReadinessMetricsAndHeaders(t *testing.T) {
	app := newApp(t, server.Options{})
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := do(t, app, httptest.NewRequest("GET", path, nil)); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, _ := do(t, app, httptest.NewRequest("GET", "/page/missing", nil))
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
	_, body := do(t, app, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(body, `aftercare_http_requests_total{method="GET",route="/page/missing",status="404"} 1`) {
		t.Errorf("metrics lack the request counter:\n%s", body)
	}
}

func TestReadinessFailsWithoutDatabase(t *testing.T) {
	d := pgtest.DB(t)
	app := newApp(t, server.Options{DB: d})
	d.Close()
	resp, _ := do(t, app, httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 {
		t.Fatalf("readyz with a closed pool: %d", resp.StatusCode)
	}
}
