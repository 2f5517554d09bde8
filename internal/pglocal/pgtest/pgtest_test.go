package pgtest_test

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestEachTestGetsItsOwnMigratedDatabase(t *testing.T) {
	a, b := pgtest.DB(t), pgtest.DB(t)
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, `INSERT INTO customers (email) VALUES ('a@example.com')`); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var n int
	if err := b.GetContext(ctx, &n, `SELECT count(*) FROM customers`); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 0 {
		t.Fatalf("second database sees %d customers of the first", n)
	}
	if err := a.GetContext(ctx, &n, `SELECT count(*) FROM river_job`); err != nil {
		t.Fatalf("river tables missing: %v", err)
	}
}
