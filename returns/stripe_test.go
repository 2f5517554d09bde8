package returns

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// stripeCall is one request the service sent to Stripe, and the answer.
type stripeCall struct {
	Method, Path, Key string
	Form              url.Values
	Status            int
}

// recorder is an http.RoundTripper that keeps every Stripe request.
type recorder struct {
	mu    sync.Mutex
	calls []stripeCall
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	form, _ := url.ParseQuery(string(body))
	call := stripeCall{Method: req.Method, Path: req.URL.Path, Key: req.Header.Get("Idempotency-Key"), Form: form}
	if resp != nil {
		call.Status = resp.StatusCode
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) posts() []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stripeCall
	for _, c := range r.calls {
		if c.Method == http.MethodPost {
			out = append(out, c)
		}
	}
	return out
}

func stripeClient(base string, rec *recorder) *client.API {
	cfg := &stripe.BackendConfig{
		URL: stripe.String(base), HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second},
		MaxNetworkRetries: stripe.Int64(0), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	return client.New("sk_test_123", stripe.NewBackendsWithConfig(cfg))
}

// wantForm fails unless the call is a 200 from stripe-mock (which checks
// the request against Stripe's API spec) carrying each field.
func wantForm(t *testing.T, c stripeCall, path, key string, fields map[string]string) {
	t.Helper()
	if c.Path != path || c.Status != http.StatusOK {
		t.Fatalf("call %s %s answered %d, want %s answered 200", c.Method, c.Path, c.Status, path)
	}
	if key != "" && c.Key != key {
		t.Errorf("%s Idempotency-Key %q, want %q", path, c.Key, key)
	}
	for k, v := range fields {
		if got := c.Form.Get(k); got != v {
			t.Errorf("%s %s = %q, want %q (form %v)", path, k, got, v, c.Form)
		}
	}
}
