package returns

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

func setPolicy(t *testing.T, f *fixture, change func(*Policy)) {
	t.Helper()
	p, err := LoadPolicy(ctxT(t), f.db)
	if err != nil {
		t.Fatal(err)
	}
	change(&p)
	if err := SavePolicy(ctxT(t), f.db, p, "staff:1"); err != nil {
		t.Fatal(err)
	}
}

func TestRefundGoesToStripeOnceWithTheReturnsKey(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{}
	f.withStripe(stripeClient(stripeMock(t), rec))
	setPolicy(t, f, func(p *Policy) { p.RestockingFeePct = 10 })
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r := f.mustReceived(o)

	q, err := f.svc.Quote(ctxT(t), r.ID, Refund)
	if err != nil || q.ReceivedValueMinor != 3000 || q.FeeMinor != 300 || q.AmountMinor != 2700 {
		t.Fatalf("quote %+v, %v", q, err)
	}
	r, err = f.svc.Resolve(ctxT(t), r.ID, "staff:4", Refund)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Refunded || r.AmountMinor() != 2700 || r.FeeMinor != 300 || !strings.HasPrefix(r.ResolutionRef, "re_") || r.ResolvedAt == nil {
		t.Fatalf("after refund %+v", r)
	}
	calls := rec.posts()
	if len(calls) != 1 {
		t.Fatalf("%d Stripe writes: %+v", len(calls), calls)
	}
	wantForm(t, calls[0], "/v1/refunds", refundKey(r.ID), map[string]string{
		"payment_intent": o.PaymentReference, "amount": "2700", "reason": "requested_by_customer", "metadata[rma]": r.RMA,
	})
	if n := f.count(`SELECT count(*) FROM order_refunds WHERE order_id = $1 AND amount_minor = 2700 AND source = 'return' AND reference = $2`, o.ID, r.ResolutionRef); n != 1 {
		t.Fatalf("%d refunds recorded on the order", n)
	}
	if n := f.count(`SELECT refunded_minor FROM orders WHERE id = $1`, o.ID); n != 2700 {
		t.Fatalf("order refunded_minor %d", n)
	}
	if n := f.events(events.OrderRefunded); n != 1 {
		t.Fatalf("%d order.refunded events", n)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE kind = 'return_refunded'`); n != 1 {
		t.Fatalf("%d refund emails", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'return.refunded' AND actor = 'staff:4' AND detail->>'stripe_refund' = $1`, r.ResolutionRef); n != 1 {
		t.Fatalf("%d audit entries for the refund", n)
	}
	if _, err := f.svc.Resolve(ctxT(t), r.ID, "staff:4", Refund); !fault.Is(err, fault.Conflict) {
		t.Fatalf("a second refund: %v", err)
	}
	if len(rec.posts()) != 1 {
		t.Fatal("a refused second refund still called Stripe")
	}
}

// failingStripe answers every request as Stripe does when it refuses one.
func failingStripe(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPaymentRequired)
		io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"This charge is disputed and cannot be refunded."}}`) //nolint:errcheck // test server
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAStripeFailureLeavesTheReturnRetryableAndTheRetryReusesTheKey(t *testing.T) {
	f := newFixture(t)
	failing := &recorder{}
	f.withStripe(stripeClient(failingStripe(t), failing))
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 2000})
	f.deliver(o, f.now.Add(-time.Hour))
	r := f.mustReceived(o)

	_, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Refund)
	if !errors.Is(err, ErrResolutionFailed) {
		t.Fatalf("err = %v", err)
	}
	r, _ = f.svc.Get(ctxT(t), r.ID)
	if r.Status != ResolutionFailed || !strings.Contains(r.ResolutionError, "disputed") || r.Attempts != 1 || r.Attempted() != "refund" {
		t.Fatalf("after the failure: %s %q attempts %d", r.Status, r.ResolutionError, r.Attempts)
	}
	if n := f.count(`SELECT count(*) FROM order_refunds`); n != 0 {
		t.Fatalf("a failed refund was recorded %d times", n)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE kind LIKE 'return_refunded%'`); n != 0 {
		t.Fatal("the shopper was told of a refund that failed")
	}
	if _, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Credit); !fault.Is(err, fault.Conflict) {
		t.Fatalf("switching to credit after a failed refund: %v", err)
	}

	ok := &recorder{}
	f.withStripe(stripeClient(stripeMock(t), ok))
	r, err = f.svc.Resolve(ctxT(t), r.ID, "staff:1", Refund)
	if err != nil || r.Status != Refunded || r.ResolutionError != "" || r.Attempts != 2 {
		t.Fatalf("retry: %+v, %v", r, err)
	}
	first, retry := failing.posts(), ok.posts()
	if len(first) != 1 || len(retry) != 1 || first[0].Key != retry[0].Key || first[0].Key != refundKey(r.ID) {
		t.Fatalf("keys: failed %+v, retry %+v", first, retry)
	}
	if first[0].Form.Get("amount") != retry[0].Form.Get("amount") {
		t.Fatalf("the retry asked for %s, the first try %s", retry[0].Form.Get("amount"), first[0].Form.Get("amount"))
	}
	if n := f.count(`SELECT count(*) FROM order_refunds`); n != 1 {
		t.Fatalf("%d refunds after the retry", n)
	}
}

func TestStoreCreditByPromotionCodeCreatesTheStripeCustomer(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{}
	f.withStripe(stripeClient(stripeMock(t), rec))
	setPolicy(t, f, func(p *Policy) { p.CreditBonusPct, p.RestockingFeePct, p.CreditMethod = 10, 20, CreditPromoCode })
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r := f.mustReceived(o)

	r, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Credit)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Credited || r.AmountMinor() != 3300 || r.CreditCode() != PromoCode(r.RMA) {
		t.Fatalf("credited %+v", r)
	}
	calls := rec.posts()
	if len(calls) != 3 {
		t.Fatalf("Stripe writes %+v", calls)
	}
	wantForm(t, calls[0], "/v1/customers", CustomerKey(o.CustomerID), map[string]string{"email": "ann@example.com"})
	wantForm(t, calls[1], "/v1/coupons", couponKey(r.ID), map[string]string{
		"amount_off": "3300", "currency": "usd", "duration": "once", "max_redemptions": "1",
	})
	var saved string
	if err := f.db.Get(&saved, `SELECT stripe_customer_id FROM customers WHERE id = $1`, o.CustomerID); err != nil || !strings.HasPrefix(saved, "cus_") {
		t.Fatalf("stripe customer %q, %v", saved, err)
	}
	wantForm(t, calls[2], "/v1/promotion_codes", creditKey(r.ID), map[string]string{
		"customer": saved, "code": PromoCode(r.RMA), "max_redemptions": "1",
	})
	if calls[2].Form.Get("coupon") == "" {
		t.Error("the promotion code names no coupon")
	}
	// Credit is not money back to the card: the order's refunds stay as they were...
	if n := f.count(`SELECT count(*) FROM order_refunds`); n != 0 {
		t.Fatalf("a credit was recorded as %d refunds", n)
	}
	// ...but the other features hear of it, with the value returned (no bonus).
	var amount int64
	var full bool
	err = f.db.QueryRow(`SELECT (args->'event'->>'amount')::bigint, COALESCE((args->'event'->>'full')::bool, false) FROM river_job
		WHERE kind = 'event.react' AND args->'event'->>'kind' = 'order.refunded'`).Scan(&amount, &full)
	if err != nil || amount != 3000 || !full {
		t.Fatalf("order.refunded amount %d full %v (%v)", amount, full, err)
	}
}

func TestStoreCreditToTheCustomerBalance(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{}
	f.withStripe(stripeClient(stripeMock(t), rec))
	setPolicy(t, f, func(p *Policy) { p.CreditBonusPct, p.CreditMethod = 0, CreditBalance })
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500}, line{"MUG", 1, 1500})
	f.exec(`UPDATE customers SET stripe_customer_id = 'cus_existing' WHERE id = $1`, o.CustomerID)
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	rec2 := Receipt{Received: map[int64]int{r.Items[0].ID: 1, r.Items[1].ID: 0}}
	if r, err = f.svc.Receive(ctxT(t), r.ID, "staff:1", rec2); err != nil {
		t.Fatal(err)
	}
	if r, err = f.svc.Resolve(ctxT(t), r.ID, "staff:1", Credit); err != nil {
		t.Fatal(err)
	}
	calls := rec.posts()
	if len(calls) != 1 {
		t.Fatalf("Stripe writes %+v", calls)
	}
	wantForm(t, calls[0], "/v1/customers/cus_existing/balance_transactions", creditKey(r.ID), map[string]string{
		"amount": "-1500", "currency": "usd",
	})
	if r.AmountMinor() != 1500 || r.CreditCode() != "" {
		t.Fatalf("credited %d, code %q", r.AmountMinor(), r.CreditCode())
	}
	var full bool
	if err := f.db.Get(&full, `SELECT COALESCE((args->'event'->>'full')::bool, false) FROM river_job WHERE args->'event'->>'kind' = 'order.refunded'`); err != nil || full {
		t.Fatalf("half the order came back, yet full = %v (%v)", full, err)
	}
}

func TestExchangeRecordsAReplacementOrderOnce(t *testing.T) {
	f := newFixture(t)
	f.product("TEE-M", "Tee, medium", true, "")
	f.product("TEE-L", "Tee, large", true, "")
	o := f.order("ann@example.com", line{"TEE-M", 1, 2500})
	f.deliver(o, f.now.Add(-time.Hour))
	r, _, err := f.svc.Request(ctxT(t), o.CustomerID, RequestInput{OrderID: o.ID, IdempotencyKey: "x1", Resolution: Exchange,
		Items: []RequestItem{{OrderItemID: o.Items[0].ID, Quantity: 1, Reason: ReasonWrongSize, ExchangeSKU: "TEE-L"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Request(ctxT(t), o.CustomerID, RequestInput{OrderID: o.ID, IdempotencyKey: "x2", Resolution: Exchange,
		Items: []RequestItem{{OrderItemID: o.Items[0].ID, Quantity: 1, Reason: ReasonWrongSize, ExchangeSKU: "NOPE"}}}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("an exchange for an unknown SKU: %v", err)
	}
	if r, err = f.svc.Receive(ctxT(t), r.ID, "staff:1", Receipt{Received: map[int64]int{r.Items[0].ID: 1}}); err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.prepare(ctxT(t), r.ID, Exchange)
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.svc.exchangeOrder(ctxT(t), a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.exchangeOrder(ctxT(t), a)
	if err != nil || again.ID != first.ID {
		t.Fatalf("a retried exchange made order %d after %d (%v)", again.ID, first.ID, err)
	}
	if r, err = f.svc.Resolve(ctxT(t), r.ID, "staff:1", Exchange); err != nil || r.Status != Exchanged {
		t.Fatalf("exchange: %v", err)
	}
	var got struct {
		Source, ExternalID, SKU string
		Total                   int64
		Qty                     int
	}
	err = f.db.QueryRow(`SELECT o.source, o.external_id, o.total_minor, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.source = 'exchange'`).Scan(&got.Source, &got.ExternalID, &got.Total, &got.SKU, &got.Qty)
	if err != nil || got.ExternalID != "RMA-"+strings.TrimPrefix(r.RMA, "R-") || got.Total != 0 || got.SKU != "TEE-L" || got.Qty != 1 {
		t.Fatalf("replacement %+v (%v)", got, err)
	}
	if n := f.count(`SELECT count(*) FROM orders WHERE source = 'exchange'`); n != 1 {
		t.Fatalf("%d replacement orders", n)
	}
}

func TestResolveRefusesWhatCannotWork(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r := f.mustReceived(o)
	if _, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Refund); !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "Stripe is not configured") {
		t.Fatalf("refund without Stripe: %v", err)
	}
	f.withStripe(stripeClient(failingStripe(t), &recorder{}))
	f.exec(`UPDATE orders SET payment_reference = '' WHERE id = $1`, o.ID)
	if _, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Refund); !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "no Stripe payment") {
		t.Fatalf("refund without a payment: %v", err)
	}
	if _, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Resolution("gift")); !fault.Is(err, fault.Invalid) {
		t.Fatalf("an unknown method: %v", err)
	}
	r, _ = f.svc.Get(ctxT(t), r.ID)
	if r.Status != Received || r.Attempts != 0 || r.Attempted() != "" {
		t.Fatalf("refused attempts changed the return: %s, %d attempts", r.Status, r.Attempts)
	}
}

func TestACreditRetryKeepsTheMethodOfItsFirstAttempt(t *testing.T) {
	f := newFixture(t)
	f.withStripe(stripeClient(failingStripe(t), &recorder{}))
	setPolicy(t, f, func(p *Policy) { p.CreditMethod = CreditPromoCode })
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r := f.mustReceived(o)
	if _, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Credit); !errors.Is(err, ErrResolutionFailed) {
		t.Fatalf("err = %v", err)
	}
	setPolicy(t, f, func(p *Policy) { p.CreditMethod = CreditBalance })
	rec := &recorder{}
	f.withStripe(stripeClient(stripeMock(t), rec))
	r, err := f.svc.Resolve(ctxT(t), r.ID, "staff:1", Credit)
	if err != nil || r.Status != Credited || r.CreditCode() == "" {
		t.Fatalf("retry: %s %q %v", r.Status, r.CreditCode(), err)
	}
	for _, c := range rec.posts() {
		if strings.Contains(c.Path, "balance_transactions") {
			t.Fatalf("the retry switched to a balance credit: %+v", rec.posts())
		}
	}
}
