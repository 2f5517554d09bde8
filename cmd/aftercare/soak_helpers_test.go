//go:build soak

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
)

// soakInstance is one `aftercare serve` of a soak test: the wired App and
// the address it listens on.
type soakInstance struct {
	*App
	base string
}

// startInstances starts n whole products on the database at dbURL, all
// mailing through smtp, each on a port of its own with its own queue
// workers, as n `aftercare serve` processes would be. env, when not nil,
// adds environment variables for instance i. It returns the instances and
// an API key that every one of them accepts (the keys live in the shared
// database). Everything stops when the test ends.
func startInstances(t *testing.T, n int, dbURL string, smtp *mailtest.Server, env func(i int) map[string]string) ([]soakInstance, string) {
	t.Helper()
	var out []soakInstance
	var key string
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String()
		vars := map[string]string{
			"AFTERCARE_DATABASE_URL": dbURL, "AFTERCARE_SIGNING_KEYS": testKeys, "AFTERCARE_BASE_URL": base,
			"AFTERCARE_SMTP_URL": smtp.URL(), "AFTERCARE_MAIL_FROM": "Store <care@example.test>", "AFTERCARE_AUTO_MIGRATE": "1",
		}
		if env != nil {
			for k, v := range env(i) {
				vars[k] = v
			}
		}
		cfg, err := config.Load(envOf(vars), false)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		// Errors (a 500's cause, say) go to the test's log; the rest is noise.
		logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
		app, err := buildApp(ctx, cfg, logger, appOptions{PollInterval: 50 * time.Millisecond, RetryBase: 100 * time.Millisecond})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- app.Serve(ctx, ln) }()
		t.Cleanup(func() { cancel(); <-done; app.Close() })
		if key == "" {
			// Both instances migrate at start; the first one's key serves all.
			if key, err = auth.NewAPIKeys(app.DB).Create(ctx, "soak"); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, soakInstance{App: app, base: base})
	}
	return out, key
}

// testWriter writes log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// soakAPI sends body as JSON to base+path with the API key and returns the
// status and the decoded answer. It returns errors rather than failing the
// test, so many goroutines can call it.
func soakAPI(base, key, method, path string, body any) (int, map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out) //nolint:errcheck // some answers are not objects
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out, nil
}

// soakWant is soakAPI that expects status want and returns the answer's id.
// A 503 (the database briefly unreachable on a machine the soak saturates)
// is retried after a second, as the answer's Retry-After asks any client
// to; every write of the API is idempotent, so the retry is safe.
func soakWant(base, key, method, path string, body any, want int) (int64, error) {
	status, out, err := soakAPI(base, key, method, path, body)
	for try := 0; err == nil && status == http.StatusServiceUnavailable && try < 10; try++ {
		time.Sleep(time.Second)
		status, out, err = soakAPI(base, key, method, path, body)
	}
	if err != nil {
		return 0, err
	}
	if status != want {
		return 0, fmt.Errorf("%s %s: status %d, want %d: %v", method, path, status, want, out)
	}
	id, _ := out["id"].(float64)
	return int64(id), nil
}

// soakStripeCall is one request an instance sent towards Stripe, as the
// logging proxy in front of stripe-mock saw it.
type soakStripeCall struct {
	Instance  int
	Method    string
	Path      string
	Key       string     // Idempotency-Key
	Form      url.Values // the request's form body (metadata names our record)
	Status    int        // what the instance got back
	Forwarded bool       // whether stripe-mock saw it
}

// soakStripeLog is a logging reverse proxy in front of one stripe-mock, one
// per instance, all writing to the same log. An instance's proxy can be
// made flaky: then the first attempt of every third idempotency key fails
// with a 500, alternately before reaching Stripe and after Stripe did the
// write (the answer lost on the way back, the case idempotency keys exist
// for), and a fifth of reads fail too.
type soakStripeLog struct {
	mu    sync.Mutex
	calls []soakStripeCall
	tries map[string]int // attempts per key, per flaky proxy
}

// proxy returns the base URL of a proxy for instance i to stripe-mock at
// target.
func (l *soakStripeLog) proxy(t *testing.T, target string, i int, flaky bool) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		c := soakStripeCall{Instance: i, Method: r.Method, Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"), Form: form}
		fail, forward := l.fault(c, flaky)
		if forward {
			c.Forwarded = true
			rec := &soakRecorder{ResponseWriter: w, drop: fail}
			rp.ServeHTTP(rec, r)
			c.Status = rec.status
		}
		if fail {
			c.Status = http.StatusInternalServerError
			// A dropped answer never reached w: the instance sees only this.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"type":"api_error","message":"injected by the soak test"}}`)
		}
		l.mu.Lock()
		l.calls = append(l.calls, c)
		l.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fault decides what a flaky proxy does with c: fail it or not, and
// whether Stripe sees it first.
func (l *soakStripeLog) fault(c soakStripeCall, flaky bool) (fail, forward bool) {
	if !flaky {
		return false, true
	}
	if c.Method != http.MethodPost {
		return rand.IntN(5) == 0, true
	}
	h := fnv.New32a()
	h.Write([]byte(c.Key))
	l.mu.Lock()
	l.tries[c.Key]++
	n := l.tries[c.Key]
	l.mu.Unlock()
	if h.Sum32()%3 != 0 || n > 1 {
		return false, true
	}
	return true, h.Sum32()%2 == 0
}

// snapshot returns the calls logged so far.
func (l *soakStripeLog) snapshot() []soakStripeCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]soakStripeCall(nil), l.calls...)
}

// soakRecorder notes the status stripe-mock answered; with drop, it
// swallows the answer so the proxy can send a 500 instead.
type soakRecorder struct {
	http.ResponseWriter
	status int
	drop   bool
}

func (r *soakRecorder) Header() http.Header {
	if r.drop {
		return http.Header{}
	}
	return r.ResponseWriter.Header()
}

func (r *soakRecorder) WriteHeader(code int) {
	r.status = code
	if !r.drop {
		r.ResponseWriter.WriteHeader(code)
	}
}

func (r *soakRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.drop {
		return len(b), nil
	}
	return r.ResponseWriter.Write(b)
}
