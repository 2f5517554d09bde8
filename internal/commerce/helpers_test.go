package commerce

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newService returns a Service on a fresh database with a real outbox (its
// jobs are inserted, never worked).
func newService(t testing.TB) (*Service, *sqlx.DB) {
	t.Helper()
	db := pgtest.DB(t)
	q, err := jobs.New(db.DB, jobs.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return NewService(db, mail.NewOutbox(q)), db
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// placedAt is one instant for every anOrder of a test run, so that two
// calls a second apart still describe the same order.
var placedAt = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

// anOrder is a valid order placed about an hour ago: 2 × 1250 + 1 × 1800 = 4300,
// total 4300 - 500 + 495 + 722 = 5017.
func anOrder(externalID string) OrderInput {
	return OrderInput{
		ExternalID: externalID,
		Number:     "#" + externalID,
		Customer:   CustomerInput{Email: "Ada@Example.com", Name: "Ada Lovelace"},
		PlacedAt:   placedAt,
		Currency:   "EUR",
		Items: []ItemInput{
			{SKU: "TEA-001", Title: "Sencha", Quantity: 2, UnitPrice: 1250},
			{SKU: "CUP-002", Title: "Cup", Quantity: 1, UnitPrice: 1800},
		},
		Subtotal: 4300, Discount: 500, Shipping: 495, Tax: 722, Total: 5017,
		DiscountCodes: []string{"WELCOME5"}, PaymentReference: "pi_1",
	}
}

// message is a row of the outbox as the tests look at it.
type message struct {
	Kind       string        `db:"kind"`
	DedupeKey  string        `db:"dedupe_key"`
	To         string        `db:"to_address"`
	CustomerID sql.NullInt64 `db:"customer_id"`
	OrderID    sql.NullInt64 `db:"order_id"`
	ShipmentID sql.NullInt64 `db:"shipment_id"`
}

func messages(t *testing.T, db *sqlx.DB) []message {
	t.Helper()
	var ms []message
	if err := db.Select(&ms, `SELECT kind, dedupe_key, to_address, customer_id, order_id, shipment_id FROM messages ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return ms
}

func dedupeKeys(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	var keys []string
	for _, m := range messages(t, db) {
		keys = append(keys, m.DedupeKey)
	}
	return keys
}

// deliveryJobs counts the River jobs that deliver mail: one per message.
func deliveryJobs(t *testing.T, db *sqlx.DB) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM river_job WHERE kind = 'mail.deliver'`); err != nil {
		t.Fatal(err)
	}
	return n
}

func count(t *testing.T, db *sqlx.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, fmt.Sprintf(`SELECT count(*) FROM %s`, table)); err != nil {
		t.Fatal(err)
	}
	return n
}

func anHourAgo() time.Time { return time.Now().Add(-time.Hour).UTC().Truncate(time.Second) }
