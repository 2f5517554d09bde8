// Package integrationstest is the harness of the provider tests: a fresh
// database with commerce, the inbox and one provider wired behind a real
// server, helpers to post deliveries and process them, and the path of the
// shared third-party fixtures (../shared/fixtures beside the repository),
// which tests read in place and skip without.
package integrationstest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/integrations"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// Quiet is a logger that drops everything.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Fixtures returns the shared fixtures folder: ../shared/fixtures next to
// the repository root (the directory with go.mod above the test's working
// directory). It skips the test when the folder is absent.
func Fixtures(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test's directory, so no shared fixtures to read")
		}
		dir = parent
	}
	fixtures := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fixtures); err != nil {
		t.Skipf("shared webhook fixtures not found at %s: these tests read them in place (they are not copied into the repository)", fixtures)
	}
	return fixtures
}

// Fixture returns the bytes of a shared fixture, e.g. "shopify/orders-create.json".
func Fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Fixtures(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("fixture %s: %v", rel, err)
	}
	return b
}

// Env is a provider wired the way cmd wires it, on a fresh database.
type Env struct {
	DB        *sqlx.DB
	Queue     *jobs.Queue
	Commerce  *commerce.Service
	Checkouts *integrations.Checkouts
	Deps      integrations.Deps
	Inbox     *integrations.Inbox
	App       *fiber.App
}

// New wires the providers that makers build into an inbox and a server
// (jobs are inserted, never worked: tests call Process). No secret is set.
func New(t testing.TB, makers ...func(integrations.Deps) integrations.Provider) *Env {
	t.Helper()
	db := pgtest.DB(t)
	q, err := jobs.New(db.DB, jobs.Options{Logger: Quiet})
	if err != nil {
		t.Fatal(err)
	}
	outbox := mail.NewOutbox(q)
	svc := commerce.NewService(db, outbox).WithEvents(events.New(db, q))
	checkouts := integrations.NewCheckouts(db, q, outbox, Quiet)
	deps := integrations.NewDeps(db, svc, checkouts, Quiet)
	providers := make([]integrations.Provider, len(makers))
	for i, m := range makers {
		providers[i] = m(deps)
	}
	inbox := integrations.NewInbox(db, q, Quiet, providers...)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: db, Logger: Quiet, Views: engine})
	inbox.Routes(app)
	return &Env{DB: db, Queue: q, Commerce: svc, Checkouts: checkouts, Deps: deps, Inbox: inbox, App: app}
}

// Ctx is a context with a deadline for one test.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// SetSecret sets provider's signing secret.
func (e *Env) SetSecret(t testing.TB, provider, secret string) {
	t.Helper()
	if err := integrations.SaveSecret(Ctx(t), e.DB, provider, secret, "system"); err != nil {
		t.Fatal(err)
	}
}

// Response is what the inbox answered.
type Response struct {
	Status      int
	ContentType string
	Body        string
}

// Post sends body to /webhooks/<provider> with the given headers.
func (e *Env) Post(t testing.TB, provider string, body []byte, headers map[string]string) Response {
	t.Helper()
	req := httptest.NewRequest("POST", "/webhooks/"+provider, strings.NewReader(string(body)))
	if _, ok := headers["Content-Type"]; !ok {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.App.Test(req, -1)
	if err != nil {
		t.Fatalf("POST /webhooks/%s: %v", provider, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(raw)}
}

// Count runs a count query.
func (e *Env) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Stored is the number of stored webhook events and of their jobs.
func (e *Env) Stored(t testing.TB) (events, jobs int) {
	t.Helper()
	return e.Count(t, `SELECT count(*) FROM webhook_events`),
		e.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'webhook.process'`)
}

// ProcessAll processes every stored event not yet processed, oldest first,
// and returns each one's error (nil for success) by event id.
func (e *Env) ProcessAll(t testing.TB) map[string]error {
	t.Helper()
	var rows []struct {
		ID      int64  `db:"id"`
		EventID string `db:"event_id"`
	}
	if err := e.DB.Select(&rows, `SELECT id, event_id FROM webhook_events WHERE processed_at IS NULL ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	out := map[string]error{}
	for _, r := range rows {
		out[r.EventID] = e.Inbox.Process(Ctx(t), r.ID)
	}
	return out
}

// Event returns the stored event with the provider's event id.
func (e *Env) Event(t testing.TB, provider, eventID string) integrations.Event {
	t.Helper()
	var id int64
	if err := e.DB.Get(&id, `SELECT id FROM webhook_events WHERE provider = $1 AND event_id = $2`, provider, eventID); err != nil {
		t.Fatalf("event %s/%s: %v", provider, eventID, err)
	}
	ev, err := e.Inbox.Event(Ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// Process processes the stored event with the provider's event id once.
func (e *Env) Process(t testing.TB, provider, eventID string) (integrations.Event, error) {
	t.Helper()
	ev := e.Event(t, provider, eventID)
	err := e.Inbox.Process(Ctx(t), ev.ID)
	return e.Event(t, provider, eventID), err
}

// Shipment records an order placed an hour ago by ada@example.com with one
// line, and a parcel of it with carrier and tracking number (as a store
// would push them through the API), and returns the parcel.
func (e *Env) Shipment(t testing.TB, carrier, number string) commerce.Shipment {
	t.Helper()
	ctx := Ctx(t)
	o, _, err := e.Commerce.UpsertOrder(ctx, commerce.OrderInput{
		Source: "api", ExternalID: "order-" + carrier + "-" + number, Customer: commerce.CustomerInput{Email: "ada@example.com", Name: "Ada"},
		PlacedAt: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), Currency: "USD",
		Items:    []commerce.ItemInput{{SKU: "TEA", Title: "Tea", Quantity: 1, UnitPrice: 1000}},
		Subtotal: 1000, Total: 1000, PaymentReference: "pi_" + number,
	})
	if err != nil {
		t.Fatal(err)
	}
	sh, _, err := e.Commerce.AddShipment(ctx, o.ID, commerce.ShipmentInput{Carrier: carrier, TrackingNumber: number})
	if err != nil {
		t.Fatal(err)
	}
	return sh
}
