package server

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
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

// syncBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Access lines of successful requests wait to be written together; every
// other line goes out at once, after them, so the log stays in order.
func TestAccessLinesAreWrittenTogetherAndInOrder(t *testing.T) {
	var out syncBuffer
	h := NewLogHandler(&out, nil)
	log := slog.New(h)
	a := newAccessLog(log)
	ctx := context.Background()
	for i := range 3 {
		a.write(ctx, slog.LevelInfo, "id"+strconv.Itoa(i), "GET", "/orders/:id", 200, time.Millisecond, "127.0.0.1")
	}
	if got := out.String(); got != "" {
		t.Fatalf("access lines written at once:\n%s", got)
	}
	// A warning (a 5xx's access line, or any slog line) is not held back,
	// and the lines before it go first.
	a.write(ctx, slog.LevelError, "id3", "GET", "/boom", 500, time.Millisecond, "127.0.0.1")
	if !strings.Contains(out.String(), `"request_id":"id3"`) {
		t.Fatalf("an error's access line waits:\n%s", out.String())
	}
	log.Info("after")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), out.String())
	}
	for i, want := range []string{`"request_id":"id0"`, `"request_id":"id1"`, `"request_id":"id2"`, `"request_id":"id3"`, `"msg":"after"`} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d is %s, want %s", i, lines[i], want)
		}
	}

	// Lines left in the buffer are written by the timer, in one write...
	before := out.count()
	for i := range 10 {
		a.write(ctx, slog.LevelInfo, "late"+strconv.Itoa(i), "GET", "/", 200, time.Millisecond, "127.0.0.1")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"request_id":"late9"`) {
		if time.Now().After(deadline) {
			t.Fatal("buffered access lines never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := out.count() - before; n != 1 {
		t.Errorf("10 buffered lines took %d writes, want 1", n)
	}
	// ...or by Flush, at exit...
	a.write(ctx, slog.LevelInfo, "last", "GET", "/", 200, time.Millisecond, "127.0.0.1")
	FlushLog(log)
	if !strings.Contains(out.String(), `"request_id":"last"`) {
		t.Fatal("Flush left a line behind")
	}
	// ...or as soon as the buffer is full.
	before = out.count()
	n := 0
	for out.count() == before {
		a.write(ctx, slog.LevelInfo, "bulk", "GET", "/", 200, time.Millisecond, "127.0.0.1")
		if n++; n > 2*accessFlushAt/100 {
			t.Fatalf("%d lines and still nothing written", n)
		}
	}
	if n < accessFlushAt/200 {
		t.Errorf("a full buffer after only %d lines", n)
	}
}
