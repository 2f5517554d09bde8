package returns

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stripeMock starts a stripe-mock for this test and stops it at its end.
// (The shared one would outlive the binary: pgtest.Main exits before a
// TestMain could call stripemock.StopShared.) It runs the pinned binary
// itself, as stripemock.Start does, but also moves stripe-mock's HTTPS
// listener off its fixed default port (12112), on which two stripe-mocks
// of parallel test binaries collide.
func stripeMock(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "tool", "-n", "stripe-mock").Output()
	if err != nil {
		t.Fatalf("stripe-mock: build: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	var logs bytes.Buffer
	for try := 0; try < 3; try++ { // a probed free port can be taken before stripe-mock listens
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:")
		logs.Reset()
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("stripe-mock: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()       //nolint:errcheck // seen through exited
		stop := func() { cmd.Process.Kill(); <-exited } //nolint:errcheck // gone is fine
		if ready("http://"+addr, exited) {
			t.Cleanup(stop)
			return "http://" + addr
		}
		stop()
	}
	t.Fatalf("stripe-mock did not start:\n%s", logs.String())
	return ""
}

// ready waits up to 30 s for a stripe-mock at base to answer; false when
// it exits first or never answers.
func ready(base string, exited <-chan struct{}) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			return false
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return true
		}
	}
	return false
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixture is a fresh database with the real commerce service, outbox and
// event bus (their jobs are inserted, never worked), and the returns
// service on a fixed clock.
type fixture struct {
	t        *testing.T
	db       *sqlx.DB
	commerce *commerce.Service
	svc      *Service
	now      time.Time
	n        int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d := pgtest.DB(t)
	q, err := jobs.New(d.DB, jobs.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.New(d, q)
	// Probes, so that emitted events leave a job behind to count.
	for _, kind := range []string{events.ReturnChanged, events.OrderRefunded} {
		bus.Subscribe(kind, "probe", func(context.Context, *sqlx.Tx, events.Event) error { return nil })
	}
	outbox := mail.NewOutbox(q)
	f := &fixture{t: t, db: d, commerce: commerce.NewService(d, outbox).WithEvents(bus), now: time.Now().UTC().Truncate(time.Second)}
	f.svc = NewService(Options{DB: d, Commerce: f.commerce, Bus: bus, Outbox: outbox, Now: func() time.Time { return f.now }})
	return f
}

// withStripe gives the service a Stripe client.
func (f *fixture) withStripe(sc *client.API) { f.svc.stripe = sc }

func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(query, args...); err != nil {
		f.t.Fatalf("fixture: %v\n%s", err, query)
	}
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, query, args...); err != nil {
		f.t.Fatalf("fixture: %v\n%s", err, query)
	}
	return n
}

func (f *fixture) product(sku, title string, returnable bool, guide string) {
	f.t.Helper()
	_, _, err := f.commerce.UpsertProduct(ctxT(f.t), sku, commerce.ProductInput{Title: title, Returnable: &returnable, GuideMD: guide})
	if err != nil {
		f.t.Fatal(err)
	}
}

// line is one line of a test order.
type line struct {
	sku   string
	qty   int
	price int64
}

// order places an order for email, paid by pi_<n>, with no discount, tax or
// shipping unless changed later, and returns it with its items.
func (f *fixture) order(email string, lines ...line) commerce.Order {
	f.t.Helper()
	f.n++
	in := commerce.OrderInput{
		ExternalID: fmt.Sprintf("o-%d", f.n), Number: fmt.Sprintf("#%d", 1000+f.n),
		Customer: commerce.CustomerInput{Email: email, Name: "Jane Doe"},
		PlacedAt: f.now.Add(-10 * 24 * time.Hour).Format(time.RFC3339), Currency: "USD",
		PaymentReference: fmt.Sprintf("pi_test_%d", f.n),
	}
	for _, l := range lines {
		in.Items = append(in.Items, commerce.ItemInput{SKU: l.sku, Title: "Item " + l.sku, Quantity: l.qty, UnitPrice: l.price})
		in.Subtotal += int64(l.qty) * l.price
	}
	in.Total = in.Subtotal
	o, _, err := f.commerce.UpsertOrder(ctxT(f.t), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

// deliver ships every unsent unit of the order and scans it delivered at at.
func (f *fixture) deliver(o commerce.Order, at time.Time) {
	f.t.Helper()
	ctx := ctxT(f.t)
	f.n++
	sh, _, err := f.commerce.AddShipment(ctx, o.ID, commerce.ShipmentInput{Carrier: "ups", TrackingNumber: fmt.Sprintf("1Z%d", f.n)})
	if err != nil {
		f.t.Fatal(err)
	}
	_, _, _, err = f.commerce.AddTrackingEvent(ctx, sh.ID, commerce.TrackingEventInput{
		Status: "delivered", OccurredAt: at.UTC().Format(time.RFC3339), ProviderEventID: fmt.Sprintf("d-%d", f.n),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// request asks for a return of every unit of o's lines, for reason, by
// refund, under a fresh key.
func (f *fixture) request(o commerce.Order, reason string) (Return, error) {
	in := RequestInput{OrderID: o.ID, IdempotencyKey: fmt.Sprintf("k-%d-%d", o.ID, time.Now().UnixNano()), Resolution: Refund}
	for _, it := range o.Items {
		in.Items = append(in.Items, RequestItem{OrderItemID: it.ID, Quantity: it.Quantity, Reason: reason})
	}
	r, _, err := f.svc.Request(ctxT(f.t), o.CustomerID, in)
	return r, err
}

// mustReceived takes a fresh return of o through approval and receipt of
// every unit.
func (f *fixture) mustReceived(o commerce.Order) Return {
	f.t.Helper()
	ctx := ctxT(f.t)
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		f.t.Fatal(err)
	}
	if r.Status == Requested {
		if r, err = f.svc.Approve(ctx, r.ID, "staff:1"); err != nil {
			f.t.Fatal(err)
		}
	}
	rec := Receipt{Received: map[int64]int{}}
	for _, it := range r.Items {
		rec.Received[it.ID] = it.Quantity
	}
	if r, err = f.svc.Receive(ctx, r.ID, "staff:1", rec); err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) events(kind string) int {
	return f.count(`SELECT count(*) FROM river_job WHERE kind = 'event.react' AND args->'event'->>'kind' = $1`, kind)
}
