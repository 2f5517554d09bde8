package commerce

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

// newBatchService is newService with a bus on which two probes subscribe
// to order.created, so that each emitted event leaves two River jobs.
func newBatchService(t *testing.T) (*Service, *sqlx.DB) {
	return newProbedService(t, map[string][]string{events.OrderCreated: {"probe-a", "probe-b"}})
}

// oneByOne is UpsertOrders as it was before the set-wise path: each order
// in its own transaction, in request order. The set-wise path must leave
// exactly what it leaves.
func oneByOne(t *testing.T, s *Service, ins []OrderInput) []BatchResult {
	t.Helper()
	results := make([]BatchResult, len(ins))
	for i, in := range ins {
		r := BatchResult{Index: i, ExternalID: in.ExternalID}
		o, out, err := s.upsertOrder(ctxT(t), in, false, true)
		if de, ok := fault.As(err); ok && de.Kind != fault.Internal {
			r.Outcome, r.Errors = BatchFailed, de.Fields
		} else if err != nil {
			t.Fatalf("order %d: %v", i, err)
		} else {
			r.Outcome, r.ID, r.ExternalID = out, o.ID, o.ExternalID
		}
		results[i] = r
	}
	return results
}

// storeState is what a database holds after a batch, by natural keys (ids
// differ between the two ways of writing). Times are reduced to whether
// the batch touched the row.
type storeState struct {
	Results   []string
	Customers []string
	Orders    []string
	Items     []string
	Events    []string
	Messages  int
}

func stateOf(t *testing.T, d *sqlx.DB, results []BatchResult, since time.Time) storeState {
	t.Helper()
	var st storeState
	keyOf := func(id int64) string {
		var k string
		if err := d.Get(&k, `SELECT source || '/' || external_id FROM orders WHERE id = $1`, id); err != nil {
			t.Fatalf("order %d: %v", id, err)
		}
		return k
	}
	for _, r := range results {
		line := fmt.Sprintf("%d %s %s %v", r.Index, r.ExternalID, r.Outcome, r.Errors)
		if r.ID != 0 {
			line += " -> " + keyOf(r.ID)
		}
		st.Results = append(st.Results, line)
	}
	rows := func(dest *[]string, query string, args ...any) {
		if err := d.Select(dest, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	rows(&st.Customers, `SELECT concat_ws(' ', email, name, marketing_consent, updated_at > $1) FROM customers ORDER BY email`, since)
	rows(&st.Orders, `SELECT concat_ws(' ', o.source, o.external_id, o.number, c.email, o.placed_at, o.currency,
		o.subtotal_minor, o.discount_minor, o.shipping_minor, o.tax_minor, o.total_minor, o.discount_codes::text,
		o.payment_reference, o.status, encode(o.content_hash, 'hex'), o.shipping_address::text, o.payment_fingerprint,
		o.referral_code, o.device_id, o.refunded_minor, o.updated_at > $1)
		FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.source, o.external_id`, since)
	rows(&st.Items, `SELECT concat_ws(' ', o.source, o.external_id, i.line_no, i.sku, p.sku, i.title, i.quantity, i.unit_price_minor)
		FROM order_items i JOIN orders o ON o.id = i.order_id LEFT JOIN products p ON p.id = i.product_id
		ORDER BY o.source, o.external_id, i.line_no`)
	rows(&st.Events, `SELECT concat_ws(' ', j.args->>'subscriber', j.args->'event'->>'kind', o.source, o.external_id,
		c.email, j.args->'event'->>'historic')
		FROM river_job j JOIN orders o ON o.id = (j.args->'event'->>'order_id')::bigint
		JOIN customers c ON c.id = (j.args->'event'->>'customer_id')::bigint
		WHERE j.kind = 'event.react' ORDER BY 1`)
	if err := d.Get(&st.Messages, `SELECT count(*) FROM messages`); err != nil {
		t.Fatal(err)
	}
	return st
}

// sameAsOneByOne sets up two stores with setup, writes batch into one with
// UpsertOrders and into the other order by order, and fails unless both
// report and hold the same. It returns the set-wise results.
func sameAsOneByOne(t *testing.T, setup func(*Service), batch []OrderInput) []BatchResult {
	t.Helper()
	setWise, setDB := newBatchService(t)
	byOrder, orderDB := newBatchService(t)
	setup(setWise)
	setup(byOrder)
	since := time.Now()
	got, err := setWise.UpsertOrders(ctxT(t), batch)
	if err != nil {
		t.Fatal(err)
	}
	want := oneByOne(t, byOrder, batch)
	if n := setWise.fallbacks.Load(); n != 0 {
		t.Errorf("%d runs were written order by order; want all set-wise", n)
	}
	a, b := stateOf(t, setDB, got, since), stateOf(t, orderDB, want, since)
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			t.Errorf("%s differ:\nset-wise:\n%v\none by one:\n%v", va.Type().Field(i).Name,
				va.Field(i).Interface(), vb.Field(i).Interface())
		}
	}
	return got
}

func customer(o OrderInput, email, name string, consent *bool) OrderInput {
	o.Customer = CustomerInput{Email: email, Name: name, MarketingConsent: consent}
	return o
}

func TestUpsertOrdersSetWise(t *testing.T) {
	yes, no := true, false
	t.Run("a mixed batch is reported and stored exactly as order by order", func(t *testing.T) {
		setup := func(s *Service) {
			ctx := ctxT(t)
			if _, _, err := s.UpsertProduct(ctx, "TEA-001", ProductInput{Title: "Sencha"}); err != nil {
				t.Fatal(err)
			}
			for _, in := range []OrderInput{
				anOrder("kept"), anOrder("changed"), anOrder("shipped"), anOrder("refunded"),
				customer(anOrder("carol-old"), "carol@example.com", "Carol", &yes),
				customer(anOrder("dave-old"), "dave@example.com", "Dave", nil),
				customer(anOrder("erin-old"), "erin@example.com", "Erin", nil),
			} {
				if _, _, err := s.UpsertOrder(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			three := anOrder("trimmed")
			three.Items = append(three.Items, ItemInput{SKU: "SPOON-3", Title: "Spoon", Quantity: 1, UnitPrice: 200})
			three.Subtotal, three.Total = 4500, 5217
			o, _, err := s.UpsertOrder(ctx, three)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1ZTRIM",
				Items: []ShipmentItemInput{{LineNo: 3, Quantity: 1}}}); err != nil {
				t.Fatal(err)
			}
			sh, err := s.OrderByExternal(ctx, "api", "shipped")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AddShipment(ctx, sh.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1ZSHIP",
				Items: []ShipmentItemInput{{LineNo: 1, Quantity: 2}}}); err != nil {
				t.Fatal(err)
			}
			rf, err := s.OrderByExternal(ctx, "api", "refunded")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.RefundOrder(ctx, refund(rf.ID, 5000, "re_1")); err != nil {
				t.Fatal(err)
			}
		}
		bad := anOrder("bad")
		bad.Customer.Email = "not an email"
		changed := anOrder("changed")
		changed.PaymentReference = "pi_2"
		fewer := anOrder("shipped")
		fewer.Items[0].Quantity, fewer.Subtotal, fewer.Total = 1, 3050, 3767
		cheaper := anOrder("refunded")
		cheaper.Discount, cheaper.Total = 1000, 4517
		n1Again := anOrder("n1")
		n1Again.PaymentReference = "pi_again"
		trimmed := anOrder("trimmed")
		trimmed.Items = trimmed.Items[:1]
		trimmed.Subtotal, trimmed.Total = 2500, 3217
		odd := customer(anOrder("odd"), "frank@example.com", "Frank", &no)
		odd.Source, odd.Currency = "shopify", "usd"
		odd.DiscountCodes = []string{`a,b`, `q"uote`, `back\slash`, `NULL`, `{brace}`}
		odd.ShippingAddress = &AddressInput{Name: "Frank", Line1: "1 Main St", City: "Portland", Country: "us"}
		odd.PaymentFingerprint = "fp_1"
		odd.Attribution = &AttributionInput{ReferralCode: "FRIEND1", DeviceID: "dev-1"}
		oddAPI := odd
		oddAPI.Source = ""
		unknown := anOrder("unknown-sku")
		unknown.Items[1].SKU = "NEW-999"

		batch := []OrderInput{
			anOrder("n1"), // 0 created
			bad,           // 1 refused
			anOrder("kept"),
			changed,
			customer(anOrder("n2"), "bob@example.com", "Bob", nil),
			customer(anOrder("n3"), "bob@example.com", "", &no),
			customer(anOrder("n4"), "bob@example.com", "Robert", nil),
			fewer,         // 7 refused: fewer than shipped
			cheaper,       // 8 refused: less than refunded
			anOrder("n1"), // 9 unchanged: the same as entry 0
			n1Again,       // 10 updated: entry 0 changed
			trimmed,       // 11 updated: line 2 goes, shipped line 3 stays
			customer(anOrder("carol"), "carol@example.com", "", nil),
			customer(anOrder("dave"), "dave@example.com", "Dave", nil),
			customer(anOrder("erin"), "erin@example.com", "Erin B.", nil),
			odd,
			oddAPI,
			unknown,
			customer(anOrder("n5"), "bob@example.com", "Robert", &yes),
		}
		got := sameAsOneByOne(t, setup, batch)
		want := []Outcome{Created, BatchFailed, Unchanged, Updated, Created, Created, Created, BatchFailed, BatchFailed,
			Unchanged, Updated, Updated, Created, Created, Created, Created, Created, Created, Created}
		for i, r := range got {
			if r.Index != i || r.Outcome != want[i] {
				t.Errorf("result %d = %+v; want %s", i, r, want[i])
			}
		}
		for i, field := range map[int]string{1: "customer.email", 7: "items[0].quantity", 8: "total"} {
			if r := got[i]; r.ID != 0 || len(r.Errors) == 0 || r.Errors[0].Field != field {
				t.Errorf("result %d = %+v; want a problem on %s", i, r, field)
			}
		}
		if got[9].ID != got[0].ID || got[10].ID != got[0].ID {
			t.Errorf("ids of n1's entries = %d, %d, %d; want one order", got[0].ID, got[9].ID, got[10].ID)
		}
	})

	t.Run("several runs with repeated orders and customers match order by order", func(t *testing.T) {
		var batch []OrderInput
		for i := 0; i < 2*runSize+50; i++ {
			o := anOrder(fmt.Sprint("many-", i%(runSize+30)))
			o.PaymentReference = fmt.Sprint("pi_", i/7)
			var consent *bool
			if i%5 == 0 {
				consent = &yes
			}
			o = customer(o, fmt.Sprintf("shopper%d@example.com", i%7), []string{"", "Ann", "Ann", "Bo"}[i%4], consent)
			if i%41 == 0 {
				o.Total++ // refused
			}
			batch = append(batch, o)
		}
		setup := func(s *Service) {
			if _, _, err := s.UpsertOrder(ctxT(t), customer(anOrder("many-3"), "shopper3@example.com", "Old", nil)); err != nil {
				t.Fatal(err)
			}
		}
		sameAsOneByOne(t, setup, batch)
	})

	t.Run("a batch sent again is unchanged and writes nothing", func(t *testing.T) {
		svc, d := newBatchService(t)
		batch := []OrderInput{anOrder("r1"), customer(anOrder("r2"), "bo@example.com", "Bo", &yes), anOrder("r3")}
		first, err := svc.UpsertOrders(ctxT(t), batch)
		if err != nil {
			t.Fatal(err)
		}
		var jobsBefore int
		if err := d.Get(&jobsBefore, `SELECT count(*) FROM river_job`); err != nil {
			t.Fatal(err)
		}
		since := time.Now()
		again, err := svc.UpsertOrders(ctxT(t), batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if r.Outcome != Unchanged || r.ID != first[i].ID || first[i].Outcome != Created {
				t.Errorf("entry %d: first %+v, again %+v; want created then unchanged", i, first[i], r)
			}
		}
		var jobsAfter, touched int
		if err := d.Get(&jobsAfter, `SELECT count(*) FROM river_job`); err != nil {
			t.Fatal(err)
		}
		if err := d.Get(&touched, `SELECT (SELECT count(*) FROM orders WHERE updated_at > $1)
			+ (SELECT count(*) FROM customers WHERE updated_at > $1)`, since); err != nil {
			t.Fatal(err)
		}
		if jobsBefore != 2*len(batch) || jobsAfter != jobsBefore || touched != 0 {
			t.Errorf("jobs %d then %d, %d rows touched; want one event per order for each of 2 probes, then nothing", jobsBefore, jobsAfter, touched)
		}
	})

	t.Run("two concurrent batches sharing customers and orders both succeed, each order once", func(t *testing.T) {
		svc, d := newBatchService(t)
		for round := 0; round < 4; round++ {
			var a, b []OrderInput
			for i := 0; i < runSize; i++ {
				shared := customer(anOrder(fmt.Sprintf("shared-%d-%d", round, i)), fmt.Sprintf("c%d@example.com", i%40), "C", nil)
				a = append(a, shared)
				b = append([]OrderInput{shared}, b...) // the other way round: locks wanted in opposite orders
			}
			for i := 0; i < 20; i++ {
				a = append(a, customer(anOrder(fmt.Sprintf("a-%d-%d", round, i)), fmt.Sprintf("c%d@example.com", i), "A", nil))
				b = append(b, customer(anOrder(fmt.Sprintf("b-%d-%d", round, i)), fmt.Sprintf("c%d@example.com", 39-i), "B", nil))
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			res := make([][]BatchResult, 2)
			errs := make([]error, 2)
			for k, batch := range [][]OrderInput{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res[k], errs[k] = svc.UpsertOrders(context.Background(), batch)
				}()
			}
			close(start)
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("round %d: errors %v, %v", round, errs[0], errs[1])
			}
			outcomes := map[string][]Outcome{}
			ids := map[string][]int64{}
			for _, rs := range res {
				for _, r := range rs {
					outcomes[r.ExternalID] = append(outcomes[r.ExternalID], r.Outcome)
					ids[r.ExternalID] = append(ids[r.ExternalID], r.ID)
				}
			}
			for i := 0; i < runSize; i++ {
				id := fmt.Sprintf("shared-%d-%d", round, i)
				o := outcomes[id]
				slices.Sort(o)
				if !slices.Equal(o, []Outcome{Created, Unchanged}) || ids[id][0] != ids[id][1] {
					t.Fatalf("round %d: %s = %v %v; want created once, unchanged once, one id", round, id, o, ids[id])
				}
			}
		}
		if n := svc.fallbacks.Load(); n != 0 {
			t.Errorf("%d runs fell back to order by order; want every run written set-wise", n)
		}
		var orders, customers, lines, events int
		if err := d.Get(&orders, `SELECT count(*) FROM orders`); err != nil {
			t.Fatal(err)
		}
		_ = d.Get(&customers, `SELECT count(*) FROM customers`)
		_ = d.Get(&lines, `SELECT count(*) FROM order_items`)
		_ = d.Get(&events, `SELECT count(*) FROM river_job WHERE kind = 'event.react'`)
		if want := 4 * (runSize + 40); orders != want || customers != 40 || lines != 2*want || events != 2*want {
			t.Errorf("orders %d, customers %d, lines %d, events %d; want %d orders, 40 customers, two lines and two events an order",
				orders, customers, lines, events, want)
		}
	})
}

func TestUpsertOrdersFallsBackOrderByOrder(t *testing.T) {
	// Text that is not UTF-8 passes validation but PostgreSQL refuses it:
	// the set-wise run fails, and order by order the orders before the
	// refused one are written and the batch stops there, as it always did.
	svc, d := newBatchService(t)
	broken := customer(anOrder("broken"), "ok@example.com", "Bad \xff name", nil)
	results, err := svc.UpsertOrders(ctxT(t), []OrderInput{anOrder("before"), broken, anOrder("after")})
	if err == nil || fault.KindOf(err) != fault.Internal {
		t.Fatalf("err = %v; want the database's refusal", err)
	}
	if len(results) != 1 || results[0].Outcome != Created || svc.fallbacks.Load() != 1 {
		t.Errorf("results = %+v, fallbacks %d; want the order before the refused one created, by the fallback", results, svc.fallbacks.Load())
	}
	var keys []string
	if err := d.Select(&keys, `SELECT external_id FROM orders ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"before"}) {
		t.Errorf("stored %v; want only the order before the refused one", keys)
	}
}

func TestFoldCustomers(t *testing.T) {
	yes, no := true, false
	got := foldCustomers([]customerWrite{
		{"a@x", "", nil}, {"b@x", "Bo", &yes}, {"a@x", "Ann", nil}, {"a@x", "", &no},
		{"b@x", "Bo", nil}, {"c@x", "Cy", nil}, {"c@x", "Cyd", nil}, {"a@x", "Ann", nil},
	})
	want := []customerFold{
		{email: "a@x", name: "Ann", consent: &no, sameNames: true},
		{email: "b@x", name: "Bo", consent: &yes, sameNames: true},
		{email: "c@x", name: "Cyd", sameNames: false},
	}
	sort.Slice(got, func(i, j int) bool { return got[i].email < got[j].email })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fold = %+v; want %+v", got, want)
	}
}

func TestUpsertOrderAnswersWhatItStored(t *testing.T) {
	svc, _ := newService(t)
	if _, _, err := svc.UpsertProduct(ctxT(t), "CUP-002", ProductInput{Title: "Cup"}); err != nil {
		t.Fatal(err)
	}
	o, out, err := svc.UpsertOrder(ctxT(t), anOrder("answer"))
	if err != nil || out != Created {
		t.Fatalf("UpsertOrder = %v, %v", out, err)
	}
	stored, err := svc.Order(ctxT(t), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	answered, _ := json.Marshal(orderJSON{Order: o})
	read, _ := json.Marshal(orderJSON{Order: stored})
	if string(answered) != string(read) {
		t.Errorf("answered %s\nstored   %s", answered, read)
	}
	if len(o.Items) != 2 || o.Items[0].LineNo != 1 || o.Items[1].ProductID == nil {
		t.Errorf("items = %+v; want two lines in order, the cup linked to its product", o.Items)
	}
}

// holdsThenWaits runs first in a transaction A, then second in a
// transaction B until B waits for A, then third in A. It fails if any of
// them fails: B must wait for A while holding nothing that A wants next.
func holdsThenWaits(t *testing.T, d *sqlx.DB, first, second, third func(*sqlx.Tx) error) {
	t.Helper()
	ctx := ctxT(t)
	a, err := d.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback() //nolint:errcheck // after commit, a no-op
	if err := first(a); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		b, err := d.BeginTxx(ctx, nil)
		if err == nil {
			if err = second(b); err == nil {
				err = b.Commit()
			} else {
				b.Rollback() //nolint:errcheck // the error is err
			}
		}
		done <- err
	}()
	for waiting := 0; waiting == 0; {
		if err := d.GetContext(ctx, &waiting, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := third(a); err != nil {
		t.Errorf("A after B waits: %v", err)
	}
	if err := a.Commit(); err != nil {
		t.Errorf("A commit: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("B: %v", err)
	}
}

func TestBatchWritesLockInKeyOrder(t *testing.T) {
	// B lists its rows in the order opposite to A's: taken in that order,
	// B would hold the row A wants next while waiting for A's first row (a
	// deadlock, which PostgreSQL ends by failing one of them).
	fold := func(emails ...string) []customerFold {
		var fs []customerFold
		for _, e := range emails {
			fs = append(fs, customerFold{email: e, name: "N", sameNames: true})
		}
		return fs
	}
	t.Run("customers", func(t *testing.T) {
		_, d := newService(t)
		ctx := ctxT(t)
		upsert := func(emails ...string) func(*sqlx.Tx) error {
			return func(tx *sqlx.Tx) error { _, err := upsertCustomers(ctx, tx, fold(emails...)); return err }
		}
		holdsThenWaits(t, d, upsert("a@example.com"), upsert("b@example.com", "a@example.com"), upsert("b@example.com"))
	})

	t.Run("customers before their orders", func(t *testing.T) {
		// A writer holding a customer moves the page version of each of its
		// orders (the triggers of migration 00013): a batch that locked one
		// of those orders first and then waited for the customer would
		// deadlock with it.
		svc, d := newService(t)
		ctx := ctxT(t)
		if _, _, err := svc.UpsertOrder(ctx, anOrder("k")); err != nil {
			t.Fatal(err)
		}
		changed := anOrder("k")
		changed.PaymentReference = "pi_2"
		dd, err := changed.validate(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		holdsThenWaits(t, d,
			func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, `SELECT 1 FROM customers WHERE email = 'ada@example.com' FOR NO KEY UPDATE`)
				return err
			},
			func(*sqlx.Tx) error {
				res, err := svc.writeRun(ctx, []batchOrder{{d: dd, hash: dd.hash()}})
				if err == nil && res[0].Outcome != Updated {
					err = fmt.Errorf("result %+v; want updated", res[0])
				}
				return err
			},
			func(tx *sqlx.Tx) error { _, err := upsertCustomers(ctx, tx, fold("ada@example.com")); return err })
	})

	t.Run("orders locked and created", func(t *testing.T) {
		_, d := newService(t)
		ctx := ctxT(t)
		ids, err := upsertCustomers(ctx, d, fold("a@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		row := func(id string) orderRow {
			d, err := anOrder(id).validate(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return orderRow{d: d, hash: d.hash(), customerID: ids["a@example.com"]}
		}
		insert := func(keys ...string) func(*sqlx.Tx) error {
			return func(tx *sqlx.Tx) error {
				var rows []orderRow
				for _, k := range keys {
					rows = append(rows, row(k))
				}
				// B finds A's orders committed and creates none: its
				// run is then tried again (errRaced).
				_, err := insertOrders(ctx, tx, rows)
				return err
			}
		}
		holdsThenWaits(t, d, insert("k1"), insert("k2", "k1"), insert("k2"))

		lock := func(keys ...string) func(*sqlx.Tx) error {
			return func(tx *sqlx.Tx) error {
				var ks []orderKey
				for _, k := range keys {
					ks = append(ks, orderKey{"api", k})
				}
				_, err := lockOrdersByKeys(ctx, tx, ks)
				return err
			}
		}
		holdsThenWaits(t, d, lock("k1"), lock("k2", "k1"), lock("k2"))
	})
}
