package referral

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/internal/stripemock"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stripeCall is one request sent to Stripe.
type stripeCall struct {
	Method, Path, Key string
	Form              url.Values
}

// recorder keeps each Stripe request on its way to stripe-mock.
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
	form, _ := url.ParseQuery(string(body))
	r.mu.Lock()
	r.calls = append(r.calls, stripeCall{Method: req.Method, Path: req.URL.Path, Key: req.Header.Get("Idempotency-Key"), Form: form})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) posts(path string) []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stripeCall
	for _, c := range r.calls {
		if c.Method == http.MethodPost && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// world is a database with the program's services over it; Stripe (a
// stripe-mock of the test's own) only when asked for.
type world struct {
	t        testing.TB
	db       *sqlx.DB
	now      time.Time
	rec      *recorder
	commerce *commerce.Service
	rewards  *rewards.Service
	svc      *Service
	n        int
}

func newWorld(t testing.TB, withStripe bool) *world {
	t.Helper()
	w := &world{t: t, db: pgtest.DB(t), now: time.Now().UTC().Truncate(time.Second), rec: &recorder{}}
	w.commerce = commerce.NewService(w.db, nil)
	var gw rewards.Gateway
	if withStripe {
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
		backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(s.URL()),
			HTTPClient: &http.Client{Transport: w.rec, Timeout: 10 * time.Second}, MaxNetworkRetries: stripe.Int64(0),
			LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})
		gw = rewards.NewStripeGateway(client.New("sk_test_123", backends))
	}
	clock := func() time.Time { return w.now }
	queue, err := jobs.New(w.db.DB, jobs.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	outbox := mail.NewOutbox(queue)
	w.rewards = rewards.NewService(rewards.Options{DB: w.db, Gateway: gw, Now: clock, Outbox: outbox})
	w.svc = NewService(Options{DB: w.db, Orders: w.commerce, Rewards: w.rewards, Limiter: auth.NewRateLimiter(w.db),
		Outbox: outbox, BaseURL: "https://care.example.test", Now: clock})
	return w
}

func (w *world) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.db.ExecContext(context.Background(), query, args...); err != nil {
		w.t.Fatalf("fixture: %v\n%s", err, query)
	}
}

func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.GetContext(context.Background(), &n, query, args...); err != nil {
		w.t.Fatalf("fixture: %v\n%s", err, query)
	}
	return n
}

func (w *world) program(change func(*program.Settings)) {
	w.t.Helper()
	p := program.Defaults()
	change(&p)
	if err := settings.SaveSection(context.Background(), w.db, program.Section, p, "test"); err != nil {
		w.t.Fatal(err)
	}
}

// order describes an incoming order; zero fields take defaults.
type order struct {
	email, name, device, referral, card string
	codes                               []string
	address                             string
	placed                              time.Time
	subtotal                            int64
	historic                            bool
	source                              string // "" is the API's default
}

// place records an order through commerce and runs the order.created
// reaction on it, as the event bus would.
func (w *world) place(o order) commerce.Order {
	w.t.Helper()
	w.n++
	if o.name == "" {
		o.name = "Sam Friend"
	}
	if o.placed.IsZero() {
		o.placed = w.now.Add(-time.Hour)
	}
	if o.subtotal == 0 {
		o.subtotal = 5000
	}
	in := commerce.OrderInput{Source: o.source, ExternalID: fmt.Sprintf("ext-%d", w.n), Number: fmt.Sprintf("#%d", 1000+w.n),
		Customer: commerce.CustomerInput{Email: o.email, Name: o.name}, PlacedAt: o.placed.Format(time.RFC3339), Currency: "USD",
		Items:    []commerce.ItemInput{{SKU: "KETTLE-1", Title: "Kettle", Quantity: 1, UnitPrice: o.subtotal}},
		Subtotal: o.subtotal, Total: o.subtotal, DiscountCodes: o.codes, PaymentFingerprint: o.card,
		Attribution: &commerce.AttributionInput{ReferralCode: o.referral, DeviceID: o.device}}
	if o.address != "" {
		in.ShippingAddress = &commerce.AddressInput{Line1: o.address, City: "Springfield", PostalCode: "12345", Country: "US"}
	}
	placed, _, err := w.commerce.UpsertOrder(context.Background(), in)
	if err != nil {
		w.t.Fatalf("place order: %v", err)
	}
	err = db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) error {
		return w.svc.OrderCreated(context.Background(), tx, events.Event{Kind: events.OrderCreated, OrderID: placed.ID,
			CustomerID: placed.CustomerID, Historic: o.historic})
	})
	if err != nil {
		w.t.Fatalf("order.created: %v", err)
	}
	return placed
}

// referrer places a first order for a new referrer and returns their code.
func (w *world) referrer(email, name string, o order) Code {
	w.t.Helper()
	o.email, o.name = email, name
	placed := w.place(o)
	c, found, err := codeOfCustomer(context.Background(), w.db, placed.CustomerID)
	if err != nil || !found {
		w.t.Fatalf("no code for %s: %v", email, err)
	}
	return c
}

// claim records a friend's claim of code at a time, with a promotion code,
// as the landing would after Stripe answered.
func (w *world) claim(c Code, email, device string, at time.Time) Referral {
	w.t.Helper()
	promo := rewards.RandomCode(strings.SplitN(c.Code, "-", 2)[0])
	exp := at.Add(30 * 24 * time.Hour)
	var r Referral
	err := db.InTx(context.Background(), w.db, func(tx *sqlx.Tx) (err error) {
		r, err = upsertClaim(context.Background(), tx, Referral{CodeID: c.ID, ReferrerID: c.CustomerID, Source: "claim",
			FriendEmail: email, FriendEmailNorm: NormalizeEmail(email), DeviceID: device, PromotionCode: &promo, OfferExpiresAt: &exp, CreatedAt: at})
		if err == nil {
			_, err = tx.ExecContext(context.Background(), `UPDATE referrals SET stripe_promotion_code_id = 'promo_test' WHERE id = $1`, r.ID)
		}
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) referral(id int64) Referral {
	w.t.Helper()
	r, found, err := referralByID(context.Background(), w.db, id, false)
	if err != nil || !found {
		w.t.Fatalf("referral %d: %v", id, err)
	}
	return r
}

// rewardOf returns the reward of a referral (fails when there is none).
func (w *world) rewardOf(referralID int64) rewards.Reward {
	w.t.Helper()
	var id int64
	if err := w.db.Get(&id, `SELECT id FROM rewards WHERE referral_id = $1`, referralID); err != nil {
		w.t.Fatalf("reward of referral %d: %v", referralID, err)
	}
	r, err := w.rewards.Reward(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}
