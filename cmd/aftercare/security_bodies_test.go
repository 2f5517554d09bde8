package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The live product takes its body limit from AFTERCARE_MAX_BODY_BYTES and
// has a read timeout; internal/server's TestSecuritySlowBodiesAreCutAtTheReadTimeout
// shows a dripped body is cut at it.
func TestSecurityBodiesOverTheLimitAre413(t *testing.T) {
	l := startLiveWith(t, map[string]string{"AFTERCARE_MAX_BODY_BYTES": "4096"})
	if rt := l.HTTP.Config().ReadTimeout; rt <= 0 || rt > time.Minute {
		t.Fatalf("read timeout %s: a slow client could hold a connection", rt)
	}
	big := strings.Repeat("a", 5000)
	for path, ctype := range map[string]string{
		"/api/v1/orders":    "application/json",
		"/signin":           "application/x-www-form-urlencoded",
		"/webhooks/shopify": "application/json",
		"/orders/1/return":  "multipart/form-data; boundary=x",
	} {
		req, _ := http.NewRequest("POST", l.base+path, strings.NewReader(`{"x":"`+big+`"}`))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+l.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		raw := make([]byte, 8192)
		n, _ := resp.Body.Read(raw)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw[:n]), "larger than this server accepts") {
			t.Errorf("POST %s with %d bytes: %d %q, want 413 with a message", path, len(big), resp.StatusCode, raw[:n])
		}
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}
