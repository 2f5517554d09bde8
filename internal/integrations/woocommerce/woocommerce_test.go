package woocommerce

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "wc-secret-&amp;-more"

func newEnv(t *testing.T) *it.Env {
	t.Helper()
	return it.New(t, func(d integrations.Deps) integrations.Provider { return New(d) })
}

func signer(topic string) it.Signer {
	return func(body []byte, secret string) map[string]string {
		return map[string]string{"X-WC-Webhook-Signature": Sign(body, secret), "X-WC-Webhook-Topic": topic,
			"X-WC-Webhook-Delivery-ID": fmt.Sprintf("d-%d", len(body)), "X-WC-Webhook-Source": "https://shop.example/"}
	}
}

func deliver(t *testing.T, env *it.Env, topic, delivery string, body []byte) integrations.Event {
	t.Helper()
	r := env.Post(t, Name, body, map[string]string{"X-WC-Webhook-Signature": Sign(body, secret), "X-WC-Webhook-Topic": topic,
		"X-WC-Webhook-Delivery-ID": delivery})
	if r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	ev, err := env.Process(t, Name, delivery)
	if err != nil || ev.Status() != "processed" {
		t.Fatalf("processing: %v (%s %s)", err, ev.Status(), ev.LastError)
	}
	return ev
}

func TestInboxContractWithTheDocsOrder(t *testing.T) {
	body := it.Fixture(t, "woocommerce/order.created.docs-v3-order-response.json")
	it.Contract(t, newEnv(t), it.Delivery{Provider: Name, Secret: secret, Body: body, Sign: signer("order.created"),
		Malformed: []byte(`[{"id": 727}]`)})
}

func TestTheSecretIsDecodedAsWordPressDoes(t *testing.T) {
	// WordPress stores "a&b" as "a&amp;b"; WooCommerce signs with "a&b".
	plain := Sign([]byte(`{}`), "wc-secret-&-more")
	if got := Sign([]byte(`{}`), secret); got != plain {
		t.Fatalf("Sign with an escaped secret = %s, want %s", got, plain)
	}
}

func TestThePingWhenAWebhookIsSavedIsAnswered200AndNotStored(t *testing.T) {
	env := newEnv(t)
	r := env.Post(t, Name, []byte("webhook_id=17"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "pong") {
		t.Fatalf("ping: %d %s (before any secret is set, too)", r.Status, r.Body)
	}
	for _, notPing := range []string{"webhook_id=abc", "webhook_id=1&x=2", `{"webhook_id":1}`} {
		if r := env.Post(t, Name, []byte(notPing), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); r.Status == 200 {
			t.Errorf("%q was taken for a ping", notPing)
		}
	}
	if n, jobs := env.Stored(t); n != 0 || jobs != 0 {
		t.Fatalf("%d events, %d jobs after pings", n, jobs)
	}
}

func TestTheDocsOrderBecomesAnOrder(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	deliver(t, env, "order.created", "d-1", it.Fixture(t, "woocommerce/order.created.docs-v3-order-response.json"))
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "727")
	if err != nil {
		t.Fatal(err)
	}
	if o.Customer.Email != "john.doe@example.com" || o.Customer.Name != "John Doe" || o.Currency != "USD" || o.Number != "727" {
		t.Errorf("order = %s %q %s %s", o.Customer.Email, o.Customer.Name, o.Currency, o.Number)
	}
	// 2 × 3.00 + 12.00 = 18.00, shipping 10.00, tax 1.35 (0.45 + "0.9"): 29.35.
	if o.SubtotalMinor != 1800 || o.ShippingMinor != 1000 || o.TaxMinor != 135 || o.TotalMinor != 2935 {
		t.Errorf("money = %d + %d + %d = %d", o.SubtotalMinor, o.ShippingMinor, o.TaxMinor, o.TotalMinor)
	}
	if o.Items[0].SKU != "woocommerce-93" || o.Items[1].Title != "Ship Your Idea – Color: Black, Size: M Test" || o.Items[1].SKU != "Bar3" {
		t.Errorf("items = %+v", o.Items)
	}
	if o.ShippingAddress == nil || o.ShippingAddress.City != "San Francisco" {
		t.Errorf("address = %+v", o.ShippingAddress)
	}
}

func TestACancelledOrderWithARefundAndEntities(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	body, err := os.ReadFile("testdata/order-refunded-cancelled.json")
	if err != nil {
		t.Fatal(err)
	}
	ev := deliver(t, env, "order.updated", "d-2", body)
	deliver(t, env, "order.updated", "d-3", body) // a second delivery of the same state
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "9001")
	if err != nil {
		t.Fatal(err)
	}
	if o.Customer.Name != "Zoë Müller" || o.ShippingAddress == nil || o.ShippingAddress.Line1 != "Hauptstraße 1" {
		t.Errorf("entities not decoded: %q %+v", o.Customer.Name, o.ShippingAddress)
	}
	// 30.00 + 3 × 3.33 = 39.99 - 5.00 + 4.90 = 39.89; the cent lost dividing 10.00 by 3 is kept in tax.
	if o.SubtotalMinor != 3999 || o.DiscountMinor != 500 || o.TaxMinor != 1 || o.TotalMinor != 3990 {
		t.Errorf("money = %d - %d + %d + %d = %d", o.SubtotalMinor, o.DiscountMinor, o.ShippingMinor, o.TaxMinor, o.TotalMinor)
	}
	if o.Status != "cancelled" || o.RefundedMinor != 1250 || len(o.Refunds) != 1 || o.Refunds[0].Reason != "Dented & scratched" {
		t.Errorf("status %s, refunded %d in %d (%s)", o.Status, o.RefundedMinor, len(o.Refunds), ev.Outcome)
	}
	if o.PaymentReference != "pi_3Woo123" || o.ReferralCode != "ZOE-FRIEND" || o.DiscountCodes[0] != "welcome5" || o.Items[1].SKU != "woocommerce-13-14" {
		t.Errorf("payment %q referral %q codes %v sku %q", o.PaymentReference, o.ReferralCode, o.DiscountCodes, o.Items[1].SKU)
	}
}

func TestAnUnpaidOrderIsNotRecorded(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	body := []byte(`{"id":55,"status":"pending","currency":"USD","date_created_gmt":"2024-01-01T00:00:00","date_paid_gmt":null,
		"total":"5.00","billing":{"email":"a@example.com"},"line_items":[{"id":1,"name":"A","product_id":1,"quantity":1,"subtotal":"5.00","sku":"A"}]}`)
	ev := deliver(t, env, "order.created", "d-p", body)
	if ev.Outcome != "ignored: order 55 is pending, not paid yet" {
		t.Errorf("outcome %q", ev.Outcome)
	}
	if n := env.Count(t, `SELECT count(*) FROM orders`); n != 0 {
		t.Errorf("%d orders", n)
	}
}

func TestADeliveryWithoutDeliveryIDIsNamedByItsContent(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	body := []byte(`{"id":56}`)
	h := map[string]string{"X-WC-Webhook-Signature": Sign(body, secret), "X-WC-Webhook-Topic": "order.deleted"}
	env.Post(t, Name, body, h)
	if r := env.Post(t, Name, body, h); !strings.Contains(r.Body, "duplicate") {
		t.Fatalf("second delivery: %s", r.Body)
	}
	if n, _ := env.Stored(t); n != 1 {
		t.Fatalf("%d events", n)
	}
	for id, err := range env.ProcessAll(t) {
		if err != nil || !strings.HasPrefix(id, "order.deleted:56:") {
			t.Errorf("event %s: %v", id, err)
		}
	}
}
