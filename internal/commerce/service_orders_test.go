package commerce

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/fault"
)

func TestUpsertOrder(t *testing.T) {
	t.Run("a new order is stored with its customer and lines and queues one confirmation", func(t *testing.T) {
		svc, db := newService(t)
		o, out, err := svc.UpsertOrder(ctxT(t), anOrder("1001"))
		if err != nil || out != Created {
			t.Fatalf("UpsertOrder = %v, %v; want created", out, err)
		}
		if o.ID == 0 || o.Source != "api" || o.Number != "#1001" || o.Currency != "EUR" || o.TotalMinor != 5017 || o.Status != "open" {
			t.Errorf("order = %+v", o)
		}
		if o.Customer.Email != "ada@example.com" || o.Customer.Name != "Ada Lovelace" {
			t.Errorf("customer = %+v; want the normalized email", o.Customer)
		}
		if len(o.Items) != 2 || o.Items[0].LineNo != 1 || o.Items[1].SKU != "CUP-002" || o.Items[0].ProductID != nil {
			t.Errorf("items = %+v", o.Items)
		}
		ms := messages(t, db)
		want := message{Kind: "order_confirmation", DedupeKey: fmt.Sprintf("order_confirmation:%d", o.ID), To: "ada@example.com"}
		if len(ms) != 1 || ms[0].Kind != want.Kind || ms[0].DedupeKey != want.DedupeKey || ms[0].To != want.To ||
			ms[0].OrderID.Int64 != o.ID || ms[0].CustomerID.Int64 != o.Customer.ID || ms[0].ShipmentID.Valid {
			t.Errorf("messages = %+v; want %+v", ms, want)
		}
		if n := deliveryJobs(t, db); n != 1 {
			t.Errorf("delivery jobs = %d; want 1 in the same transaction", n)
		}
	})

	t.Run("a retry of the same content, spelled differently, is unchanged and sends nothing more", func(t *testing.T) {
		svc, db := newService(t)
		first, _, err := svc.UpsertOrder(ctxT(t), anOrder("1001"))
		if err != nil {
			t.Fatal(err)
		}
		retry := anOrder("1001")
		retry.Customer.Email = "  ADA@example.COM "
		retry.Currency = "eur"
		placed, _ := time.Parse(time.RFC3339, retry.PlacedAt)
		retry.PlacedAt = placed.In(time.FixedZone("CEST", 2*3600)).Format(time.RFC3339)
		again, out, err := svc.UpsertOrder(ctxT(t), retry)
		if err != nil || out != Unchanged {
			t.Fatalf("retry = %v, %v; want unchanged", out, err)
		}
		if again.ID != first.ID || !again.UpdatedAt.Equal(first.UpdatedAt) || len(again.Items) != 2 {
			t.Errorf("retry returned %+v; want the same order untouched", again)
		}
		if n := len(messages(t, db)); n != 1 {
			t.Errorf("messages = %d; want 1", n)
		}
	})

	t.Run("a changed payload updates the order and drops lines no longer sent", func(t *testing.T) {
		svc, db := newService(t)
		first, _, err := svc.UpsertOrder(ctxT(t), anOrder("1001"))
		if err != nil {
			t.Fatal(err)
		}
		changed := anOrder("1001")
		changed.Items = changed.Items[:1]
		changed.Items[0].Quantity = 3
		changed.Subtotal, changed.Total = 3750, 3750-500+495+722
		changed.DiscountCodes = nil
		o, out, err := svc.UpsertOrder(ctxT(t), changed)
		if err != nil || out != Updated {
			t.Fatalf("UpsertOrder = %v, %v; want updated", out, err)
		}
		if o.ID != first.ID || o.SubtotalMinor != 3750 || len(o.Items) != 1 || o.Items[0].Quantity != 3 || len(o.DiscountCodes) != 0 {
			t.Errorf("order = %+v", o)
		}
		if o.Items[0].ID != first.Items[0].ID {
			t.Errorf("line 1 got a new id; want it updated in place")
		}
		if n := count(t, db, "order_items"); n != 1 {
			t.Errorf("order_items rows = %d; want 1", n)
		}
		if n := len(messages(t, db)); n != 1 {
			t.Errorf("messages = %d; an update must not confirm again", n)
		}
	})

	t.Run("lines link to the product of their sku, before or after the product exists", func(t *testing.T) {
		svc, _ := newService(t)
		tea, _, err := svc.UpsertProduct(ctxT(t), "TEA-001", ProductInput{Title: "Sencha"})
		if err != nil {
			t.Fatal(err)
		}
		o, _, err := svc.UpsertOrder(ctxT(t), anOrder("1001"))
		if err != nil {
			t.Fatal(err)
		}
		if o.Items[0].ProductID == nil || *o.Items[0].ProductID != tea.ID || o.Items[1].ProductID != nil {
			t.Fatalf("items = %+v; want line 1 linked to product %d", o.Items, tea.ID)
		}
		cup, out, err := svc.UpsertProduct(ctxT(t), "CUP-002", ProductInput{Title: "Cup"})
		if err != nil || out != Created {
			t.Fatal(out, err)
		}
		o, err = svc.Order(ctxT(t), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Items[1].ProductID == nil || *o.Items[1].ProductID != cup.ID {
			t.Errorf("line 2 = %+v; want linked to the new product %d", o.Items[1], cup.ID)
		}
	})

	t.Run("customers are one per normalized email and an empty name keeps the stored one", func(t *testing.T) {
		svc, db := newService(t)
		a := anOrder("1")
		if _, _, err := svc.UpsertOrder(ctxT(t), a); err != nil {
			t.Fatal(err)
		}
		b := anOrder("2")
		b.Customer = CustomerInput{Email: " ada@EXAMPLE.com", Name: ""}
		o, _, err := svc.UpsertOrder(ctxT(t), b)
		if err != nil {
			t.Fatal(err)
		}
		if o.Customer.Name != "Ada Lovelace" || count(t, db, "customers") != 1 {
			t.Errorf("customer = %+v, rows = %d; want one Ada Lovelace", o.Customer, count(t, db, "customers"))
		}
		c := anOrder("3")
		c.Customer.Name = "Ada King"
		if o, _, err = svc.UpsertOrder(ctxT(t), c); err != nil || o.Customer.Name != "Ada King" {
			t.Errorf("customer = %+v, %v; want the new name", o.Customer, err)
		}
	})

	t.Run("an order placed more than 72 hours ago is recorded without a confirmation", func(t *testing.T) {
		svc, db := newService(t)
		old := anOrder("1")
		old.PlacedAt = time.Now().Add(-73 * time.Hour).Format(time.RFC3339)
		if _, out, err := svc.UpsertOrder(ctxT(t), old); err != nil || out != Created {
			t.Fatal(out, err)
		}
		if n := len(messages(t, db)); n != 0 {
			t.Errorf("messages = %d; want none for an old order", n)
		}
	})

	t.Run("a failing validation writes nothing", func(t *testing.T) {
		svc, db := newService(t)
		bad := anOrder("1")
		bad.Items[1].Quantity = 0
		bad.Total = 1
		_, _, err := svc.UpsertOrder(ctxT(t), bad)
		de, ok := fault.As(err)
		if !ok || de.Kind != fault.Invalid {
			t.Fatalf("err = %v; want invalid", err)
		}
		var fields []string
		for _, f := range de.Fields {
			fields = append(fields, f.Field)
		}
		if !slices.Equal(fields, []string{"items[1].quantity"}) {
			t.Errorf("fields = %v; want items[1].quantity (sums are checked once lines are valid)", fields)
		}
		for _, table := range []string{"orders", "customers", "order_items", "messages", "river_job"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%s has %d rows; want none", table, n)
			}
		}
	})

	t.Run("the same external id from two sources is two orders", func(t *testing.T) {
		svc, _ := newService(t)
		a, _, err := svc.UpsertOrder(ctxT(t), anOrder("1"))
		if err != nil {
			t.Fatal(err)
		}
		in := anOrder("1")
		in.Source = "shopify"
		b, out, err := svc.UpsertOrder(ctxT(t), in)
		if err != nil || out != Created || b.ID == a.ID || b.Source != "shopify" {
			t.Errorf("second source = %+v, %v, %v; want a new order", b, out, err)
		}
	})

	t.Run("an update cannot leave a line with fewer units than were shipped", func(t *testing.T) {
		svc, _ := newService(t)
		o, _, err := svc.UpsertOrder(ctxT(t), anOrder("1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.AddShipment(ctxT(t), o.ID, ShipmentInput{Carrier: "dhl", TrackingNumber: "A1"}); err != nil {
			t.Fatal(err)
		}
		in := anOrder("1")
		in.Items[0].Quantity = 1
		in.Subtotal, in.Total = 3050, 3050-500+495+722
		_, _, err = svc.UpsertOrder(ctxT(t), in)
		if de, ok := fault.As(err); !ok || len(de.Fields) != 1 || de.Fields[0].Field != "items[0].quantity" {
			t.Errorf("err = %v; want a problem on items[0].quantity", err)
		}
	})

	t.Run("concurrent first deliveries of one order create it once", func(t *testing.T) {
		svc, db := newService(t)
		var wg sync.WaitGroup
		outs := make([]Outcome, 6)
		errs := make([]error, 6)
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, outs[i], errs[i] = svc.UpsertOrder(ctxT(t), anOrder("1"))
			}()
		}
		wg.Wait()
		created := 0
		for i, out := range outs {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if out == Created {
				created++
			}
		}
		if created != 1 || count(t, db, "orders") != 1 || len(messages(t, db)) != 1 {
			t.Errorf("outcomes = %v, orders = %d; want one created, the rest unchanged", outs, count(t, db, "orders"))
		}
	})
}

func TestUpsertOrders(t *testing.T) {
	t.Run("each order of a back-fill is reported alone and none is emailed", func(t *testing.T) {
		svc, db := newService(t)
		if _, _, err := svc.UpsertOrder(ctxT(t), anOrder("existing")); err != nil {
			t.Fatal(err)
		}
		bad := anOrder("bad")
		bad.Customer.Email = "not an email"
		changed := anOrder("existing")
		changed.PaymentReference = "pi_2"
		results, err := svc.UpsertOrders(ctxT(t), []OrderInput{anOrder("new"), bad, changed, anOrder("new")})
		if err != nil {
			t.Fatal(err)
		}
		want := []Outcome{Created, BatchFailed, Updated, Unchanged}
		for i, r := range results {
			if r.Index != i || r.Outcome != want[i] {
				t.Errorf("result %d = %+v; want %s", i, r, want[i])
			}
		}
		if r := results[1]; r.ID != 0 || len(r.Errors) != 1 || r.Errors[0].Field != "customer.email" || r.ExternalID != "bad" {
			t.Errorf("bad result = %+v; want a customer.email problem", r)
		}
		if results[0].ID == 0 || results[3].ID != results[0].ID {
			t.Errorf("ids = %d, %d; want the same new order", results[0].ID, results[3].ID)
		}
		if n := len(messages(t, db)); n != 1 {
			t.Errorf("messages = %d; want only the earlier single order's confirmation", n)
		}
	})

	t.Run("an empty or oversized batch is refused", func(t *testing.T) {
		svc, _ := newService(t)
		for _, n := range []int{0, MaxBatch + 1} {
			_, err := svc.UpsertOrders(ctxT(t), make([]OrderInput, n))
			if de, ok := fault.As(err); !ok || de.Fields[0].Field != "orders" {
				t.Errorf("%d orders: err = %v; want a problem on orders", n, err)
			}
		}
	})
}

func TestUpsertProduct(t *testing.T) {
	svc, _ := newService(t)
	days := 30
	in := ProductInput{Title: "Sencha", ReplenishDays: &days, GuideMD: "Brew at 70 °C.\n\nTwo minutes."}
	p, out, err := svc.UpsertProduct(ctxT(t), "TEA-001", in)
	if err != nil || out != Created || !p.Returnable || *p.ReplenishDays != 30 {
		t.Fatalf("create = %+v, %v, %v", p, out, err)
	}
	if _, out, _ = svc.UpsertProduct(ctxT(t), "TEA-001", in); out != Unchanged {
		t.Errorf("same content = %v; want unchanged", out)
	}
	no := false
	in.Returnable = &no
	if p, out, _ = svc.UpsertProduct(ctxT(t), "TEA-001", in); out != Updated || p.Returnable {
		t.Errorf("changed = %+v, %v; want updated, not returnable", p, out)
	}
}
