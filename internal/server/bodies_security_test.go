package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/server"
)

// serve runs app on a real port until the test ends.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)                                        //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { app.ShutdownWithTimeout(time.Second) }) //nolint:errcheck // best effort
	return ln.Addr().String()
}

func TestSecurityOversizedBodiesAre413WithAMessage(t *testing.T) {
	app := newApp(t, server.Options{MaxBodyBytes: 2048})
	addr := serve(t, app)
	body := strings.Repeat("x", 2049)
	for path, want := range map[string]string{"/api/v1/echo": "larger than this server accepts", "/form": "larger than this server accepts"} {
		resp, err := http.Post("http://"+addr+path, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), want) {
			t.Errorf("POST %s with %d bytes: %d %q, want 413 with a message", path, len(body), resp.StatusCode, raw)
		}
	}
	// At the limit, the body is read.
	resp, err := http.Post("http://"+addr+"/api/v1/echo", "application/json", strings.NewReader(body[:2048]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a body at the limit: %d", resp.StatusCode)
	}
}

func TestSecuritySlowBodiesAreCutAtTheReadTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	app := newApp(t, server.Options{ReadTimeout: timeout})
	addr := serve(t, app)
	for name, headers := range map[string]string{
		"dripped body":    "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
		"dripped headers": "GET /healthz HTTP/1.1\r\nHost: x\r\n",
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := io.WriteString(conn, headers); err != nil {
			t.Fatal(err)
		}
		// Drip a byte every 50 ms while watching for the server to hang up.
		closed := make(chan time.Duration, 1)
		go func() {
			io.Copy(io.Discard, bufio.NewReader(conn)) //nolint:errcheck // EOF or reset: either is the cut
			closed <- time.Since(start)
		}()
		var cut time.Duration
	drip:
		for i := 0; i < 100; i++ { // 5 s at most
			select {
			case cut = <-closed:
				break drip
			case <-time.After(50 * time.Millisecond):
				fmt.Fprint(conn, "x") //nolint:errcheck // fails once the server hung up
			}
		}
		conn.Close()
		if cut == 0 {
			t.Errorf("%s: the server still held the connection after 5 s (read timeout %s)", name, timeout)
			continue
		}
		if cut < timeout/2 {
			t.Errorf("%s: cut after %s, before the read timeout %s", name, cut, timeout)
		}
		t.Logf("%s: cut after %s", name, cut)
	}
}
