package rewards

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/stripemock"
	"github.com/aftercare/aftercare/referral/program"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stripeMock starts a stripe-mock for this test and stops it at its end.
// (The shared one would outlive the binary: pgtest.Main exits before a
// TestMain could call stripemock.StopShared.)
func stripeMock(t *testing.T) string {
	t.Helper()
	// stripe-mock also binds HTTPS on the fixed port 12112, so one started
	// by another test binary at the same moment makes this one exit; it
	// lives only for that binary's test, so wait for it.
	var s *stripemock.Server
	var err error
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if s, err = stripemock.Start(context.Background()); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("stripe-mock: %v", err)
	}
	t.Cleanup(s.Stop)
	return s.URL()
}

// stripeCall is one request the gateway sent.
type stripeCall struct {
	Method, Path, Key string
	Form              url.Values
}

// recorder sits between stripe-go and stripe-mock: it keeps each request
// for the test to check its shape, and can fail requests on demand.
type recorder struct {
	mu    sync.Mutex
	calls []stripeCall
	fail  func(method, path string) bool
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	r.calls = append(r.calls, stripeCall{Method: req.Method, Path: req.URL.Path, Key: req.Header.Get("Idempotency-Key"), Form: form})
	fail := r.fail != nil && r.fail(req.Method, req.URL.Path)
	r.mu.Unlock()
	if fail {
		return nil, errors.New("connection reset by peer")
	}
	return http.DefaultTransport.RoundTrip(req)
}

// posts returns the POSTs to paths starting with prefix.
func (r *recorder) posts(prefix string) []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stripeCall
	for _, c := range r.calls {
		if c.Method == http.MethodPost && strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// newGateway is the real Stripe gateway against stripe-mock, through rec.
func newGateway(rec *recorder, base string) Gateway {
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(base),
		HTTPClient:        &http.Client{Transport: rec, Timeout: 10 * time.Second},
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return NewStripeGateway(client.New("sk_test_123", backends))
}

// clock is a movable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is a database with a referrer, a friend's order and a service.
type world struct {
	t      *testing.T
	db     *sqlx.DB
	stripe string
	rec    *recorder
	clock  *clock
	svc    *Service
	n      int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, db: pgtest.DB(t), stripe: stripeMock(t), rec: &recorder{}, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	w.svc = w.service(w.db, nil)
	return w
}

func (w *world) service(d *sqlx.DB, returns OpenReturns) *Service {
	return NewService(Options{DB: d, Gateway: newGateway(w.rec, w.stripe), Returns: returns, Now: w.clock.now})
}

func (w *world) id(query string, args ...any) int64 {
	w.t.Helper()
	var id int64
	if err := w.db.GetContext(context.Background(), &id, query, args...); err != nil {
		w.t.Fatalf("fixture: %v\n%s", err, query)
	}
	return id
}

func (w *world) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.db.ExecContext(context.Background(), query, args...); err != nil {
		w.t.Fatalf("fixture: %v\n%s", err, query)
	}
}

func (w *world) customer(email string) int64 {
	return w.id(`INSERT INTO customers (email, name) VALUES ($1, 'Test Shopper') RETURNING id`, email)
}

// order places an order for customer with one shipment; delivered, when
// not nil, is when it was delivered.
func (w *world) order(customerID int64, delivered *time.Time) int64 {
	w.n++
	id := w.id(`INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor, total_minor, content_hash)
		VALUES ('api', $1, $1, $2, now() - interval '20 days', 'USD', 5000, 5000, '\x00') RETURNING id`, "ext-"+string(rune('a'+w.n)), customerID)
	status := "in_transit"
	if delivered != nil {
		status = "delivered"
	}
	w.exec(`INSERT INTO shipments (order_id, carrier, tracking_number, status, delivered_at) VALUES ($1, 'UPS', $2, $3, $4)`,
		id, "1Z"+string(rune('A'+w.n)), status, delivered)
	return id
}

// referral makes a converted referral of referrer for the friend's order.
func (w *world) referral(referrerID, friendID, orderID int64) int64 {
	code := w.id(`INSERT INTO referral_codes (customer_id, code) VALUES ($1, $2)
		ON CONFLICT (customer_id) DO UPDATE SET code = referral_codes.code RETURNING id`, referrerID, "JANE-"+RandomChars(4))
	return w.id(`INSERT INTO referrals (code_id, referrer_id, source, friend_email, friend_email_norm, status, friend_customer_id, order_id, converted_at)
		SELECT $1, $2, 'claim', email, email, 'converted', id, $3, now() FROM customers WHERE id = $4 RETURNING id`, code, referrerID, orderID, friendID)
}

// hold records a reward for a new converted referral with the program p.
func (w *world) hold(p program.Settings, signals ...string) (Reward, int64) {
	w.t.Helper()
	referrer := w.customer(strings.ToLower(RandomChars(6)) + "@example.com")
	friend := w.customer(strings.ToLower(RandomChars(6)) + "@example.net")
	delivered := w.clock.now().Add(-10 * 24 * time.Hour)
	order := w.order(friend, &delivered)
	ref := w.referral(referrer, friend, order)
	var r Reward
	err := db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
		var err error
		r, _, err = w.svc.Hold(context.Background(), tx, HoldInput{ReferralID: ref, ReferrerID: referrer, OrderID: order, Signals: signals, Program: p})
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return r, order
}

func (w *world) reward(id int64) Reward {
	w.t.Helper()
	r, err := w.svc.Reward(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) sweep() SweepResult {
	w.t.Helper()
	res, err := w.svc.Sweep(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// moves lists a reward's history as "from>to" steps.
func (w *world) moves(id int64) []string {
	w.t.Helper()
	es, err := w.svc.Events(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.From+">"+e.To)
	}
	return out
}
