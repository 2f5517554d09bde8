package demo_test

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/demo"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestSeedFillsEveryShipmentStateOnceAndOnlyOnce(t *testing.T) {
	db := pgtest.DB(t)
	q, err := jobs.New(db.DB, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := commerce.NewService(db, mail.NewOutbox(q))
	ctx := context.Background()
	id, err := demo.Seed(ctx, db, svc)
	if err != nil || id == 0 {
		t.Fatalf("seed: id %d, %v", id, err)
	}
	var states []string
	if err := db.SelectContext(ctx, &states, `SELECT DISTINCT s.status FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.customer_id = $1 ORDER BY 1`, id); err != nil {
		t.Fatal(err)
	}
	want := []string{"attempted_delivery", "available_for_pickup", "delivered", "exception", "in_transit", "label_created", "out_for_delivery", "returned_to_sender"}
	if len(states) != len(want) {
		t.Fatalf("demo shopper's shipment states %v, want %v", states, want)
	}
	var products, guides int
	db.GetContext(ctx, &products, `SELECT count(*) FROM products`)                    //nolint:errcheck // checked below
	db.GetContext(ctx, &guides, `SELECT count(*) FROM products WHERE guide_md <> ''`) //nolint:errcheck // checked below
	if products < 12 || guides != products {
		t.Fatalf("%d products, %d with guides", products, guides)
	}
	var orders int
	db.GetContext(ctx, &orders, `SELECT count(*) FROM orders`) //nolint:errcheck // checked below
	again, err := demo.Seed(ctx, db, svc)
	var after int
	db.GetContext(ctx, &after, `SELECT count(*) FROM orders`) //nolint:errcheck // checked below
	if err != nil || again != id || after != orders {
		t.Fatalf("second seed: id %d (want %d), %d orders (was %d), %v", again, id, after, orders, err)
	}
}
