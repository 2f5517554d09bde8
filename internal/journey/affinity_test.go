package journey_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/journey"
)

// TestOrderPageRecommendationsMatchTheLiveQuery holds the order page's
// cached recommendations to the live query that emails use: pairings first,
// then what others bought with the order most often, never what the
// customer owns; and the cache is only trusted for its time.
func TestOrderPageRecommendationsMatchTheLiveQuery(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.seedStore()
	w.exec(`INSERT INTO products (sku, title, product_url) VALUES ('BEANS-1', 'Coffee beans', ''), ('SCALE-1', 'Scale', ''), ('CLOTH-1', 'Cloth', '')`)
	ctx := context.Background()
	at := w.clock.Now().Add(-time.Hour)
	// Others bought beans with the kettle three times, the scale twice, the
	// cloth once; nobody bought the kettle with the mug.
	for i, extra := range []string{"BEANS-1", "BEANS-1", "BEANS-1", "SCALE-1", "SCALE-1", "CLOTH-1"} {
		w.buy(fmt.Sprintf("other%d@example.com", i), false, at.Add(-time.Duration(i)*time.Minute), "KETTLE-1", extra)
	}
	p := w.buy("ada@example.com", false, at, "KETTLE-1")
	compare := func(minOrders int, want []string) {
		t.Helper()
		live, err := journey.Recommend(ctx, w.db, p.CustomerID, p.OrderID, minOrders, 3)
		if err != nil {
			t.Fatal(err)
		}
		cached, err := journey.RecommendCached(w.engine, ctx, p.CustomerID, p.OrderID, minOrders, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(live, cached) {
			t.Fatalf("min %d: cached %+v, live %+v", minOrders, cached, live)
		}
		var got []string
		for _, r := range cached {
			got = append(got, r.SKU+":"+r.Why)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("min %d: got %v, want %v", minOrders, got, want)
		}
	}
	compare(1, []string{"FILTER-1:pairing", "BEANS-1:also_bought", "SCALE-1:also_bought"})
	compare(3, []string{"FILTER-1:pairing", "BEANS-1:also_bought"})

	// Once Ada owns beans they are never suggested to her.
	w.buy("ada@example.com", false, at.Add(time.Minute), "BEANS-1")
	compare(1, []string{"FILTER-1:pairing", "SCALE-1:also_bought", "CLOTH-1:also_bought"})

	// Another order's customer cannot read recommendations for Ada's order.
	other := w.buy("eve@example.com", false, at, "MUG-1")
	if recs, err := journey.RecommendCached(w.engine, ctx, other.CustomerID, p.OrderID, 1, 3); err != nil || len(recs) != 0 {
		t.Fatalf("someone else's order: %v %v", recs, err)
	}

	// New co-purchases show only when the cached counts have aged out.
	for i := 0; i < 4; i++ {
		w.buy(fmt.Sprintf("late%d@example.com", i), false, at.Add(time.Duration(i)*time.Second), "KETTLE-1", "CLOTH-1")
	}
	stale, _ := journey.RecommendCached(w.engine, ctx, p.CustomerID, p.OrderID, 1, 3)
	if stale[2].SKU != "CLOTH-1" || len(stale) != 3 {
		t.Fatalf("stale: %+v", stale)
	}
	// Aged out, the old counts are still served while new ones are counted
	// in the background; the new ones arrive without another clock move.
	w.clock.set(w.clock.Now().Add(11 * time.Minute))
	for i := 0; ; i++ {
		recs, err := journey.RecommendCached(w.engine, ctx, p.CustomerID, p.OrderID, 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 3 && recs[1].SKU == "CLOTH-1" {
			break
		}
		if i == 200 {
			t.Fatalf("the aged-out counts were never replaced: %+v", recs)
		}
		time.Sleep(25 * time.Millisecond)
	}
	compare(1, []string{"FILTER-1:pairing", "CLOTH-1:also_bought", "SCALE-1:also_bought"})
}
