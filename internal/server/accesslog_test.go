package server

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// The hand-written access line is byte for byte what slog's JSON handler
// writes for the same record, whatever the strings and durations.
func TestAccessLineIsWhatSlogWrites(t *testing.T) {
	at := time.Date(2026, 11, 26, 16, 30, 1, 123456789, time.UTC)
	cases := []struct {
		level                 slog.Level
		id, method, route, ip string
		status                int
		d                     time.Duration
	}{
		{slog.LevelInfo, "0123456789abcdef01234567", "GET", "/orders/:id", "127.0.0.1", 200, 1234567 * time.Nanosecond},
		{slog.LevelError, "req-1", "POST", "/r/:code", "::1", 500, 0},
		{slog.LevelInfo, "x", "GET", "/", "10.0.0.1", 404, 3 * time.Microsecond},
		{slog.LevelInfo, "x", "GET", "/", "10.0.0.1", 302, 42 * time.Second},
		{slog.LevelInfo, `quote" back\slash`, "GET", "/tab\there\nline\r\x01\x1f\x7f", "ünï<>&", 200, time.Millisecond},
		{slog.LevelInfo, "bad\xffutf8", "GET", "sep\u2028\u2029", "", 200, 999 * time.Microsecond},
	}
	for _, tc := range cases {
		var want bytes.Buffer
		r := slog.NewRecord(at, tc.level, "request", 0)
		r.AddAttrs(slog.String("request_id", tc.id), slog.String("method", tc.method), slog.String("path", tc.route),
			slog.Int("status", tc.status), slog.Float64("duration_ms", float64(tc.d.Microseconds())/1000), slog.String("ip", tc.ip))
		if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		got := appendAccessLine(nil, at, tc.level, tc.id, tc.method, tc.route, tc.status, float64(tc.d.Microseconds())/1000, tc.ip)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("hand-written:\n%s\nslog:\n%s", got, want.Bytes())
		}
	}
}
