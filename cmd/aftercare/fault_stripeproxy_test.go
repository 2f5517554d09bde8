package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ways stripeProxy can spoil one request.
const (
	answer500 = "500"  // Stripe's API fails: a 500 with an api_error
	hang      = "hang" // nothing comes back; the connection is cut after hangFor
	lost      = "lost" // Stripe does the write, but its answer is lost on the way back
)

// stripeCall is one request that reached the proxy.
type stripeCall struct {
	Method, Path, Key string
	// Outcome is a fault's name, or "ok" for an answer passed on.
	Outcome string
	Status  int // Stripe's status when the request reached it
}

// stripeProxy stands between the product and stripe-mock: it logs every
// request's Idempotency-Key and spoils the next requests whose path
// contains a given string, as told.
type stripeProxy struct {
	*httptest.Server
	upstream *url.URL
	rp       *httputil.ReverseProxy
	hangFor  time.Duration

	mu     sync.Mutex
	calls  []stripeCall
	faults []stripeFault
}

type stripeFault struct{ path, mode string }

func newStripeProxy(t *testing.T, upstream string, hangFor time.Duration) *stripeProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &stripeProxy{upstream: u, rp: httputil.NewSingleHostReverseProxy(u), hangFor: hangFor}
	p.Server = httptest.NewServer(p)
	t.Cleanup(p.Close)
	return p
}

// spoil queues faults for the next requests whose path contains path, one
// mode per request, in order.
func (p *stripeProxy) spoil(path string, modes ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range modes {
		p.faults = append(p.faults, stripeFault{path, m})
	}
}

// pending is how many queued faults have not met their request yet.
func (p *stripeProxy) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.faults)
}

// log returns the requests so far with method and a path containing path.
func (p *stripeProxy) log(method, path string) []stripeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []stripeCall
	for _, c := range p.calls {
		if c.Method == method && strings.Contains(c.Path, path) {
			out = append(out, c)
		}
	}
	return out
}

func (p *stripeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	mode := "ok"
	for i, f := range p.faults {
		if strings.Contains(r.URL.Path, f.path) {
			mode = f.mode
			p.faults = append(p.faults[:i], p.faults[i+1:]...)
			break
		}
	}
	// Logged on arrival, so a request still hanging is in the log too.
	p.calls = append(p.calls, stripeCall{Method: r.Method, Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"), Outcome: mode})
	at := len(p.calls) - 1
	p.mu.Unlock()
	var call stripeCall
	defer func() {
		p.mu.Lock()
		p.calls[at].Status = call.Status
		p.mu.Unlock()
	}()
	switch mode {
	case answer500:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"type":"api_error","message":"An unexpected error occurred (injected by the test)."}}`) //nolint:errcheck // test server
	case hang:
		// Read the body, so that the server notices the client hanging up.
		io.Copy(io.Discard, r.Body) //nolint:errcheck // test server
		select {
		case <-time.After(p.hangFor):
		case <-r.Context().Done(): // the client gave up first
		}
		cut(w)
	case lost:
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		call.Status = rec.Code
		cut(w)
	default:
		rec := &statusWriter{ResponseWriter: w}
		p.rp.ServeHTTP(rec, r)
		call.Status = rec.status
	}
}

// cut closes the client's connection without a response.
func cut(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// checkOneWrite proves that a logical write was retried under one key:
// every attempt in calls carries key, and exactly one attempt's success
// reached the product (Stripe itself would answer every replay of the key
// with that first result).
func checkOneWrite(t *testing.T, what, key string, calls []stripeCall) {
	t.Helper()
	var b bytes.Buffer
	delivered, reached := 0, 0
	for _, c := range calls {
		b.WriteString(c.Outcome + "(" + c.Key + ") ")
		if c.Key != key {
			t.Errorf("%s: an attempt carried Idempotency-Key %q, want %q", what, c.Key, key)
		}
		if c.Status/100 == 2 {
			reached++
			if c.Outcome == "ok" {
				delivered++
			}
		}
	}
	t.Logf("%s: %d attempts: %s; %d writes reached Stripe, %d answer came back", what, len(calls), b.String(), reached, delivered)
	if delivered != 1 {
		t.Errorf("%s: %d successful answers came back, want exactly 1", what, delivered)
	}
}
