package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// LogHandler is slog's JSON handler, through which the server also writes
// its access log lines by hand: the same JSON, keys and order as slog
// would write them, at a fraction of the cost (slog formats the duration
// through encoding/json and looks up its caller's PC per line; the line
// was 6-9% of the server's CPU on a page served from memory). Use it as
// the server's Options.Logger (NewLogHandler); with any other handler the
// access log goes through slog.
type LogHandler struct {
	*slog.JSONHandler
	out   *lockedWriter
	level slog.Leveler
}

// NewLogHandler returns a JSON handler writing to w; opts as for
// slog.NewJSONHandler. With opts.ReplaceAttr or AddSource set, access log
// lines go through slog (a hand-written line would not honour them).
func NewLogHandler(w io.Writer, opts *slog.HandlerOptions) *LogHandler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	out := &lockedWriter{w: w}
	h := &LogHandler{JSONHandler: slog.NewJSONHandler(out, opts), level: opts.Level}
	if opts.ReplaceAttr == nil && !opts.AddSource {
		h.out = out
	}
	if h.level == nil {
		h.level = slog.LevelInfo
	}
	return h
}

// Flush writes the access lines still buffered; call it before the
// process exits.
func (h *LogHandler) Flush() error {
	if h.out == nil {
		return nil
	}
	return h.out.Flush()
}

// FlushLog flushes log's handler when it is a LogHandler.
func FlushLog(log *slog.Logger) {
	if h, ok := log.Handler().(*LogHandler); ok {
		h.Flush() //nolint:errcheck // at exit, a failed log write has nowhere to go
	}
}

// Access lines of successful requests are buffered and written together,
// within accessFlushAfter of the first or once accessFlushAt bytes wait, as
// nginx's access_log buffer= and flush= do: one write per request was about
// 5% of the server's CPU on a page served from memory. A crash may lose the
// last accessFlushAfter of access lines (Flush at a normal exit writes them);
// every other line (errors, warnings, the server's own) is written at once,
// after the lines buffered before it.
const (
	accessFlushAfter = 100 * time.Millisecond
	accessFlushAt    = 32 << 10
)

// lockedWriter serializes the lines of slog's handler and the hand-written
// ones: one Write per line or batch of lines, never interleaved, in order.
type lockedWriter struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // armed while buf holds lines
	armed bool
}

// Write writes p at once, after the buffered lines.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.flushLocked(); err != nil {
		return 0, err
	}
	return l.w.Write(p)
}

// writeSoon buffers the line p (copied) to be written within
// accessFlushAfter.
func (l *lockedWriter) writeSoon(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) >= accessFlushAt {
		l.flushLocked() //nolint:errcheck // as slog's handler, a failed log write has nowhere to go
		return
	}
	if !l.armed {
		l.armed = true
		if l.timer == nil {
			l.timer = time.AfterFunc(accessFlushAfter, func() { l.Flush() }) //nolint:errcheck // nowhere to go
		} else {
			l.timer.Reset(accessFlushAfter)
		}
	}
}

// Flush writes the buffered lines now.
func (l *lockedWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *lockedWriter) flushLocked() error {
	if l.armed {
		l.armed = false
		l.timer.Stop()
	}
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	if cap(l.buf) > 4*accessFlushAt {
		l.buf = nil // a burst's buffer is not kept
	} else {
		l.buf = l.buf[:0]
	}
	return err
}

// accessLog writes the access log line of a request.
type accessLog struct {
	log *slog.Logger
	// fast is the handler whose lines are written by hand; nil writes
	// them through log.
	fast *LogHandler
	pool sync.Pool
}

func newAccessLog(log *slog.Logger) *accessLog {
	a := &accessLog{log: log, pool: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
	if h, ok := log.Handler().(*LogHandler); ok && h.out != nil {
		a.fast = h
	}
	return a
}

// write logs the request, as
//
//	log.Log(ctx, level, "request", "request_id", id, "method", method, "path", route,
//		"status", status, "duration_ms", ms, "ip", ip)
//
// did, with the duration in milliseconds to the microsecond.
func (a *accessLog) write(ctx context.Context, level slog.Level, id, method, route string, status int, d time.Duration, ip string) {
	ms := float64(d.Microseconds()) / 1000
	if a.fast == nil {
		if !a.log.Enabled(ctx, level) {
			return
		}
		// A record without the caller's PC: the handler cannot show it
		// unless AddSource, and looking it up cost as much as the line.
		r := slog.NewRecord(time.Now(), level, "request", 0)
		r.AddAttrs(slog.String("request_id", id), slog.String("method", method), slog.String("path", route),
			slog.Int("status", status), slog.Float64("duration_ms", ms), slog.String("ip", ip))
		a.log.Handler().Handle(ctx, r) //nolint:errcheck // as slog.Logger.Log, a failed log write has nowhere to go
		return
	}
	if level < a.fast.level.Level() {
		return
	}
	bp := a.pool.Get().(*[]byte)
	b := appendAccessLine((*bp)[:0], time.Now(), level, id, method, route, status, ms, ip)
	if level < slog.LevelWarn {
		a.fast.out.writeSoon(b)
	} else {
		a.fast.out.Write(b) //nolint:errcheck // as slog's handler, a failed log write has nowhere to go
	}
	if cap(b) <= 4096 {
		*bp = b
		a.pool.Put(bp)
	}
}

// appendAccessLine appends the JSON line slog's JSON handler writes for
// the access log's record.
func appendAccessLine(b []byte, t time.Time, level slog.Level, id, method, route string, status int, ms float64, ip string) []byte {
	b = append(b, `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = appendJSONString(b, level.String())
	b = append(b, `,"msg":"request","request_id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"duration_ms":`...)
	// encoding/json writes a float64 between 1e-6 and 1e21 (and 0) as
	// strconv's shortest 'f' form; a duration in milliseconds is one.
	b = strconv.AppendFloat(b, ms, 'f', -1, 64)
	b = append(b, `,"ip":`...)
	b = appendJSONString(b, ip)
	return append(b, "}\n"...)
}

// appendJSONString appends s quoted as slog's JSON handler quotes it:
// quotes, backslashes and control characters escaped, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 escaped. (Ids, methods, routes and addresses
// are plain ASCII; the rest is for safety.)
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"
