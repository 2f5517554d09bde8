package shopify

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "shpss_test_secret_1234"

func newEnv(t *testing.T) *it.Env {
	t.Helper()
	return it.New(t, func(d integrations.Deps) integrations.Provider { return New(d) })
}

// signer signs a delivery of topic; each body gets its own webhook id, as
// Shopify gives each delivery one (kept across its retries).
func signer(topic string) it.Signer {
	return func(body []byte, secret string) map[string]string {
		return map[string]string{
			"X-Shopify-Hmac-Sha256": Sign(body, secret), "X-Shopify-Topic": topic,
			"X-Shopify-Webhook-Id": fmt.Sprintf("%x", len(body)) + "-" + topic, "X-Shopify-Shop-Domain": "tea.myshopify.com",
		}
	}
}

// deliver posts body as topic with webhook id, signed, and processes it.
func deliver(t *testing.T, env *it.Env, topic, webhookID string, body []byte) (integrations.Event, error) {
	t.Helper()
	r := env.Post(t, Name, body, map[string]string{
		"X-Shopify-Hmac-Sha256": Sign(body, secret), "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": webhookID,
	})
	if r.Status != 200 {
		t.Fatalf("%s: status %d %s", topic, r.Status, r.Body)
	}
	return env.Process(t, Name, webhookID)
}

func mustApply(t *testing.T, env *it.Env, topic, webhookID string, body []byte) integrations.Event {
	t.Helper()
	ev, err := deliver(t, env, topic, webhookID, body)
	if err != nil {
		t.Fatalf("%s: %v", topic, err)
	}
	if ev.Status() != "processed" {
		t.Fatalf("%s: status %s (%s)", topic, ev.Status(), ev.LastError)
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

func TestSignMatchesShopifysDocumentedVector(t *testing.T) {
	// go-shopify's oauth_test.go: the 19 bytes include the double quotes.
	if got := Sign([]byte(`"my secret message"`), "hush"); got != "hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI=" {
		t.Fatalf("Sign = %s", got)
	}
}

func TestInboxContractWithTheOrdersCreateSample(t *testing.T) {
	body := it.Fixture(t, "shopify/orders-create.json")
	it.Contract(t, newEnv(t), it.Delivery{
		Provider: Name, Secret: secret, Body: body, Sign: signer("orders/create"),
		Malformed: []byte(`{"id": 1, "line_items": [`),
	})
}

func TestADeliveryWithoutWebhookIDIsRefusedWith400(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	body := []byte(`{"id":1}`)
	r := env.Post(t, Name, body, map[string]string{"X-Shopify-Hmac-Sha256": Sign(body, secret), "X-Shopify-Topic": "orders/create"})
	if r.Status != 400 {
		t.Fatalf("status %d, want 400", r.Status)
	}
	if n, _ := env.Stored(t); n != 0 {
		t.Fatal("stored a delivery it could not name")
	}
}

func TestTheOrdersCreateSampleBecomesACancelledOrderWithoutEmail(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	ev := mustApply(t, env, "orders/create", "w-1", it.Fixture(t, "shopify/orders-create.json"))
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "820982911946154508")
	if err != nil {
		t.Fatalf("order not recorded under its 64-bit id: %v (outcome %q)", err, ev.Outcome)
	}
	if o.Number != "#9999" || o.Customer.Email != "jon@example.com" || o.Currency != "USD" {
		t.Errorf("order = %s %s %s", o.Number, o.Customer.Email, o.Currency)
	}
	// 89.99 + 19.99 + 24.99 + … = 414.95; -20.00 discount, +10.00 shipping = 404.95 paid.
	if o.SubtotalMinor != 41495 || o.DiscountMinor != 2000 || o.ShippingMinor != 1000 || o.TaxMinor != 0 || o.TotalMinor != 40495 {
		t.Errorf("money = %d - %d + %d + %d = %d", o.SubtotalMinor, o.DiscountMinor, o.ShippingMinor, o.TaxMinor, o.TotalMinor)
	}
	if o.Items[0].SKU != "SKU2006-001" || o.Items[0].UnitPriceMinor != 8999 {
		t.Errorf("first line = %+v", o.Items[0])
	}
	if o.Status != "cancelled" || o.CancelReason != "customer" {
		t.Errorf("status %s (%q); the sample is cancelled", o.Status, o.CancelReason)
	}
	if n := env.Count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d emails for an order placed in 2021", n)
	}
}

func TestAnOrderWithNullsAndIDsAbove2To53(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	mustApply(t, env, "orders/create", "w-nulls", testdata(t, "order-nulls-bigids.json"))
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "9007199254740993")
	if err != nil {
		t.Fatalf("2^53+1 did not survive as the external id: %v", err)
	}
	if o.Customer.Email != "grace.hopper@example.com" || o.Customer.Name != "Grace Hopper" {
		t.Errorf("customer = %q %q; want the contact email and the billing name", o.Customer.Email, o.Customer.Name)
	}
	if len(o.Items) != 2 || o.Items[0].SKU != "shopify-variant-9007199254740999" || o.Items[0].Title != "Tea tin - Large" ||
		o.Items[1].SKU != "shopify-line-9007199254741001" {
		t.Errorf("items = %+v; want stand-in SKUs for lines without one, the removed line left out", o.Items)
	}
	// Prices include tax: 2 × 38.50 + 20.00 + 10.00 shipping = 107.00 paid, no tax on top.
	if o.SubtotalMinor != 9700 || o.ShippingMinor != 1000 || o.TaxMinor != 0 || o.TotalMinor != 10700 {
		t.Errorf("money = %d + %d + %d = %d", o.SubtotalMinor, o.ShippingMinor, o.TaxMinor, o.TotalMinor)
	}
	if o.ReferralCode != "GRACE-7Q2K" || o.DeviceID != "123456789012345678901" || len(o.DiscountCodes) != 1 || o.DiscountCodes[0] != "TENOFF" {
		t.Errorf("attribution = %q %q %v", o.ReferralCode, o.DeviceID, o.DiscountCodes)
	}
	if o.ShippingAddress == nil || o.ShippingAddress.Line1 != "1 Navy Way" || o.ShippingAddress.Country != "US" || o.ShippingAddress.Region != "VA" {
		t.Errorf("address = %+v", o.ShippingAddress)
	}
}

func TestEscapedSlashesAreVerifiedOnTheRawBytes(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	raw := testdata(t, "order-escaped-slashes.json")
	if !strings.Contains(string(raw), `\/`) {
		t.Fatal("the fixture lost its escaped slashes")
	}
	ev := mustApply(t, env, "orders/create", "w-slash", raw)
	if string(ev.Body) != string(raw) {
		t.Fatal("the stored body is not the raw bytes")
	}
	o, err := env.Commerce.OrderByExternal(it.Ctx(t), Name, "5001")
	if err != nil {
		t.Fatal(err)
	}
	if o.Items[0].SKU != "TEA/GREEN-1" || o.ReferralCode != "ADA-FRIEND" {
		t.Errorf("sku %q, referral %q; want the unescaped values and the landing page's ref", o.Items[0].SKU, o.ReferralCode)
	}
}

func TestAnOlderUpdateArrivingLateIsIgnored(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	order := func(updated, title string) []byte {
		return []byte(fmt.Sprintf(`{"id":77,"name":"#77","email":"ann@example.com","created_at":"2024-01-01T00:00:00Z","updated_at":%q,
			"currency":"USD","total_price":"5.00","line_items":[{"id":1,"sku":"A","title":%q,"quantity":1,"price":"5.00"}]}`, updated, title))
	}
	mustApply(t, env, "orders/updated", "w-new", order("2024-01-03T00:00:00Z", "Newest"))
	ev := mustApply(t, env, "orders/updated", "w-old", order("2024-01-02T00:00:00Z", "Older"))
	if !strings.HasPrefix(ev.Outcome, "ignored:") {
		t.Errorf("outcome %q; want ignored", ev.Outcome)
	}
	o, _ := env.Commerce.OrderByExternal(it.Ctx(t), Name, "77")
	if o.Items[0].Title != "Newest" {
		t.Errorf("title %q: the late, older update overwrote the newer one", o.Items[0].Title)
	}
}

func TestAnOrderWithoutEmailIsIgnoredNotFailed(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	ev := mustApply(t, env, "orders/create", "w-pos", []byte(`{"id":88,"email":null,"created_at":"2024-01-01T00:00:00Z",
		"currency":"USD","total_price":"1.00","line_items":[{"id":1,"sku":"A","title":"A","quantity":1,"price":"1.00"}]}`))
	if !strings.HasPrefix(ev.Outcome, "ignored: order 88 has no email") {
		t.Errorf("outcome %q", ev.Outcome)
	}
}

func TestUnknownTopicsAreIgnored(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	ev := mustApply(t, env, "products/update", "w-prod", []byte(`{"id":1}`))
	if ev.Outcome != "ignored: topic products/update is not used" {
		t.Errorf("outcome %q", ev.Outcome)
	}
}

func TestAnUnknownFulfillmentEventStatusIsIgnored(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	ev := mustApply(t, env, "fulfillment_events/create", "w-u", testdata(t, "fulfillment-event-unknown-status.json"))
	if ev.Outcome != `ignored: status "teleported" is not one Aftercare knows` {
		t.Errorf("outcome %q", ev.Outcome)
	}
}

func TestEveryShopifyStatusMaps(t *testing.T) {
	want := map[string]commerce.ShipmentStatus{
		"label_printed": commerce.LabelCreated, "label_purchased": commerce.LabelCreated, "confirmed": commerce.LabelCreated,
		"carrier_picked_up": commerce.InTransit, "in_transit": commerce.InTransit, "out_for_delivery": commerce.OutForDelivery,
		"attempted_delivery": commerce.AttemptedDelivery, "ready_for_pickup": commerce.AvailableForPickup,
		"ready_for_recipient_pickup": commerce.AvailableForPickup, "delivered": commerce.Delivered, "picked_up": commerce.Delivered,
		"failure": commerce.Exception, "delayed": commerce.Exception, "buyer_action_required": commerce.Exception,
		"returning_to_sender": commerce.ReturnedToSender, "OUT_FOR_DELIVERY": commerce.OutForDelivery,
	}
	for in, status := range want {
		if got, ok := ShipmentStatus(in); !ok || got != status {
			t.Errorf("%s -> %s, %v; want %s", in, got, ok, status)
		}
	}
	for _, unknown := range []string{"", "teleported", "pending", "open"} {
		if got, ok := ShipmentStatus(unknown); ok {
			t.Errorf("%q -> %s; want it left out", unknown, got)
		}
	}
}
