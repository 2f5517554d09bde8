package stripehook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/payments"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/stripemock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "whsec_test_0123456789abcdef"

func newEnv(t *testing.T, lookup Lookup) *it.Env {
	t.Helper()
	return it.New(t, func(d integrations.Deps) integrations.Provider { return New(d, lookup) })
}

func sign(body []byte, secret string) map[string]string {
	return map[string]string{"Stripe-Signature": Sign(body, secret, time.Now())}
}

func post(t *testing.T, env *it.Env, body []byte) {
	t.Helper()
	if r := env.Post(t, Name, body, sign(body, secret)); r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
}

func apply(t *testing.T, env *it.Env, body []byte) integrations.Event {
	t.Helper()
	post(t, env, body)
	var head struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &head) //nolint:errcheck // the inbox accepted it
	ev, err := env.Process(t, Name, head.ID)
	if err != nil || ev.Status() != "processed" {
		t.Fatalf("processing %s: %v (%s)", head.ID, err, ev.LastError)
	}
	return ev
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInboxContractWithACompletedSession(t *testing.T) {
	it.Contract(t, newEnv(t, nil), it.Delivery{Provider: Name, Secret: secret, Sign: sign,
		Body:      it.Fixture(t, "stripe/checkout.session.completed.stripe-ruby-mock.json"),
		Malformed: []byte(`{"object": "event", "type": "charge.refunded"}`)})
}

func TestTheSignatureIsCheckedAsStripeDoes(t *testing.T) {
	p := New(integrations.Deps{}, nil)
	body := []byte(`{"id":"evt_1","object":"event","type":"x"}`)
	now := time.Unix(1_700_000_000, 0)
	good := Sign(body, secret, now)
	_, v1, _ := strings.Cut(good, ",")
	tests := []struct {
		name   string
		header string
		ok     bool
	}{
		{"a fresh signature passes", good, true},
		{"a signature 299 s old passes", Sign(body, secret, now.Add(-299*time.Second)), true},
		{"a signature 301 s old is a replay", Sign(body, secret, now.Add(-301*time.Second)), false},
		{"a signature from 301 s ahead is refused", Sign(body, secret, now.Add(301*time.Second)), false},
		{"one of several v1 matching passes (secret rotation)", fmt.Sprintf("t=%d,v1=%064x,%s,v0=abc", now.Unix(), 1, v1), true},
		{"a v0 signature alone is refused", strings.Replace(good, "v1=", "v0=", 1), false},
		{"no timestamp is refused", v1, false},
		{"another secret is refused", Sign(body, "whsec_other", now), false},
		{"an empty header is refused", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := integrations.Delivery{Header: http.Header{"Stripe-Signature": {tt.header}}, Body: body}
			if err := p.Verify(d, secret, now); (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestTheRubyMockSessionsBecomeOrders(t *testing.T) {
	env := newEnv(t, nil)
	env.SetSecret(t, Name, secret)
	apply(t, env, it.Fixture(t, "stripe/checkout.session.completed.stripe-ruby-mock.json"))
	apply(t, env, it.Fixture(t, "stripe/checkout.session.completed.payment_mode.stripe-ruby-mock.json"))
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "cs_test_0000000000000000000000000000000000000000000000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if o.Customer.Email != "stripe@example.com" || o.TotalMinor != 3000 || o.Currency != "USD" || o.PaymentReference != "pi_000000000000000000000000" ||
		len(o.Items) != 1 || o.Items[0].UnitPriceMinor != 3000 {
		t.Errorf("order = %s %d %s %s %+v", o.Customer.Email, o.TotalMinor, o.Currency, o.PaymentReference, o.Items)
	}
	// The other has no api_version and no created: the event's time stands in.
	o2, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "cs_00000000000000")
	if err != nil || o2.TotalMinor != 25000 || o2.PlacedAt.Year() != 2012 {
		t.Errorf("order = %+v, %v", o2, err)
	}
}

func TestACompletedSessionWithPromotionCodesLinesAndAddress(t *testing.T) {
	url := stripeMock(t)
	lookup := NewLookup(payments.NewClient("sk_test_123", url))
	env := newEnv(t, lookup)
	env.SetSecret(t, Name, secret)
	// The shopper had let an earlier session expire; its reminder is pending.
	expired := strings.NewReplacer("cs_test_promo_1", "cs_test_expired_1", "evt_1PromoCompleted", "evt_1Expired",
		"checkout.session.completed", "checkout.session.expired").Replace(string(testdata(t, "session-completed-promo.json")))
	apply(t, env, []byte(expired))
	ev := apply(t, env, testdata(t, "session-completed-promo.json"))
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "cs_test_promo_1")
	if err != nil {
		t.Fatalf("%v (%s)", err, ev.Outcome)
	}
	mockCode, err := lookup.PromotionCode(context.Background(), "promo_1Pgc79B7WZ01zgkWNy4mn5NX")
	if err != nil || mockCode == "" {
		t.Fatalf("stripe-mock promotion code: %q %v", mockCode, err)
	}
	if len(o.DiscountCodes) != 2 || o.DiscountCodes[0] != "FRIEND-7QX2" || o.DiscountCodes[1] != mockCode {
		t.Errorf("discount codes %v; want the expanded code and the looked-up one (%s)", o.DiscountCodes, mockCode)
	}
	if o.SubtotalMinor != 5000 || o.DiscountMinor != 1000 || o.ShippingMinor != 495 || o.TaxMinor != 600 || o.TotalMinor != 5095 {
		t.Errorf("money = %d - %d + %d + %d = %d", o.SubtotalMinor, o.DiscountMinor, o.ShippingMinor, o.TaxMinor, o.TotalMinor)
	}
	if len(o.Items) != 2 || o.Items[0].SKU != "prod_SENCHA" || o.Items[0].UnitPriceMinor != 1500 || o.Items[1].SKU != "prod_CUP" {
		t.Errorf("items %+v", o.Items)
	}
	if o.Customer.Email != "olga@example.com" || o.ReferralCode != "OLGA-FRIEND" || o.DeviceID != "dev-42" || o.PaymentReference != "pi_3PromoPaid" {
		t.Errorf("customer %s, referral %q, device %q, payment %q", o.Customer.Email, o.ReferralCode, o.DeviceID, o.PaymentReference)
	}
	if o.ShippingAddress == nil || o.ShippingAddress.Country != "RU" || o.ShippingAddress.Line1 != "Tverskaya 1" {
		t.Errorf("address %+v", o.ShippingAddress)
	}
	var reminder string
	env.DB.Get(&reminder, `SELECT reminder FROM abandoned_checkouts WHERE external_id = 'cs_test_expired_1'`) //nolint:errcheck
	if reminder != "cancelled" {
		t.Errorf("the recovered checkout's reminder is %q; want cancelled", reminder)
	}
}

// stripeMock starts a stripe-mock for one test. stripemock.Start leaves
// stripe-mock's HTTPS listener on its fixed default port, which another
// test binary running at the same moment may hold: such a start is tried
// again.
func stripeMock(t *testing.T) string {
	t.Helper()
	for try := 0; ; try++ {
		s, err := stripemock.Start(context.Background())
		if err == nil {
			t.Cleanup(s.Stop)
			return s.URL()
		}
		if try == 10 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("stripe-mock: %v", err)
		}
		time.Sleep(time.Duration(200+100*try) * time.Millisecond)
	}
}

// paidOrder records an order paid by reference, as a session would.
func paidOrder(t *testing.T, env *it.Env, reference, currency string, total int64) commerce.Order {
	t.Helper()
	o, _, err := env.Commerce.UpsertOrder(it.Ctx(t), commerce.OrderInput{Source: "api", ExternalID: "o-" + reference,
		Customer: commerce.CustomerInput{Email: "pay@example.com"}, PlacedAt: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		Currency: currency, Items: []commerce.ItemInput{{SKU: "A", Title: "A", Quantity: 1, UnitPrice: total}},
		Subtotal: total, Total: total, PaymentReference: reference})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestTheRubyMockRefundRefundsTheOrderItsChargePaid(t *testing.T) {
	env := newEnv(t, nil)
	env.SetSecret(t, Name, secret)
	// The fixture's charge has no payment_intent: the charge id is the reference.
	o := paidOrder(t, env, "ch_000000000000000000000000", "USD", 100)
	apply(t, env, it.Fixture(t, "stripe/charge.refunded.stripe-ruby-mock.json"))
	got, _ := env.Commerce.Order(it.Ctx(t), o.ID)
	if got.RefundedMinor != 100 || got.Status != "refunded" || got.Refunds[0].Reference != "re_000000000000000000000000" || got.Refunds[0].Source != "stripe" {
		t.Errorf("refunded %d, status %s, refunds %+v", got.RefundedMinor, got.Status, got.Refunds)
	}
}

func TestARefundWithoutEmbeddedRefundsThenADispute(t *testing.T) {
	env := newEnv(t, nil)
	env.SetSecret(t, Name, secret)
	o := paidOrder(t, env, "pi_3PromoPaid", "EUR", 5095)
	apply(t, env, testdata(t, "charge-refunded-partial-new-api.json"))
	apply(t, env, testdata(t, "charge-refunded-partial-new-api.json")) // replayed: counted once
	got, _ := env.Commerce.Order(it.Ctx(t), o.ID)
	if got.RefundedMinor != 1500 {
		t.Fatalf("refunded %d; want the 15.00 refunded since the previous state", got.RefundedMinor)
	}
	ev := apply(t, env, testdata(t, "dispute-created.json"))
	got, _ = env.Commerce.Order(it.Ctx(t), o.ID)
	last := got.Refunds[len(got.Refunds)-1]
	if got.RefundedMinor != 5095 || last.Source != "dispute" || last.Amount != 3595 || last.Reference != "du_1Fraud" || last.Reason != "Dispute: fraudulent" {
		t.Errorf("refunded %d, last %+v (%s); want the dispute capped at what was left", got.RefundedMinor, last, ev.Outcome)
	}
	if ev2, err := env.Process(t, Name, "evt_1Dispute"); err != nil || !strings.Contains(ev2.Outcome, "unchanged") {
		t.Errorf("replaying the dispute: %v, %q", err, ev2.Outcome)
	}
}

func TestARefundOfAPaymentWithNoOrderIsIgnored(t *testing.T) {
	env := newEnv(t, nil)
	env.SetSecret(t, Name, secret)
	ev := apply(t, env, it.Fixture(t, "stripe/charge.refunded.stripe-ruby-mock.json"))
	if ev.Outcome != "ignored: no order was paid by ch_000000000000000000000000" {
		t.Errorf("outcome %q", ev.Outcome)
	}
}

func TestAnExpiredSessionOfTheCurrentAPIIsReadDefensively(t *testing.T) {
	env := newEnv(t, nil)
	env.SetSecret(t, Name, secret)
	var fixtures struct {
		Resources map[string]json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(it.Fixture(t, "stripe/stripe-mock-fixtures3.subset.json"), &fixtures); err != nil {
		t.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"id":"evt_fx3","object":"event","api_version":"2025-03-31.basil","created":%d,"type":"checkout.session.expired","data":{"object":%s}}`,
		time.Now().Unix(), fixtures.Resources["checkout.session"]))
	ev := apply(t, env, body)
	var ch struct {
		Email    string `db:"email"`
		Recovery string `db:"recovery_url"`
		Total    int64  `db:"total_minor"`
	}
	if err := env.DB.Get(&ch, `SELECT email, recovery_url, total_minor FROM abandoned_checkouts`); err != nil {
		t.Fatalf("%v (%s)", err, ev.Outcome)
	}
	// Amounts and currency are null, recovery is on but has no URL yet.
	if ch.Email != "example@example.com" || ch.Recovery != "" || ch.Total != 0 {
		t.Errorf("checkout = %+v", ch)
	}
}

func TestUnpaidAndSetupSessionsAreNotOrders(t *testing.T) {
	env := newEnv(t, nil)
	env.SetSecret(t, Name, secret)
	unpaid := strings.Replace(string(it.Fixture(t, "stripe/checkout.session.completed.stripe-ruby-mock.json")), `"payment_status": "paid"`, `"payment_status": "unpaid"`, 1)
	ev := apply(t, env, []byte(unpaid))
	if !strings.HasPrefix(ev.Outcome, "ignored:") || env.Count(t, `SELECT count(*) FROM orders`) != 0 {
		t.Errorf("outcome %q", ev.Outcome)
	}
}

func TestStripeAmountsBecomeISOMinorUnits(t *testing.T) {
	tests := []struct {
		amount   int64
		currency string
		want     int64
		err      bool
	}{
		{1999, "USD", 1999, false}, {500, "JPY", 500, false}, {12345, "KWD", 12345, false},
		{10000, "ISK", 100, false}, {10050, "ISK", 0, true}, {7, "MGA", 700, false},
	}
	for _, tt := range tests {
		got, err := minor(tt.amount, tt.currency)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("minor(%d, %s) = %d, %v; want %d", tt.amount, tt.currency, got, err, tt.want)
		}
	}
}
