package easypost

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// secret is EasyPost's test-vector secret; it must be NFKD-normalized.
const secret = "sécret"

func newEnv(t *testing.T) *it.Env {
	t.Helper()
	return it.New(t, func(d integrations.Deps) integrations.Provider { return New(d) })
}

func sign(body []byte, secret string) map[string]string {
	return map[string]string{"X-Hmac-Signature": Sign(body, secret)}
}

func post(t *testing.T, env *it.Env, body []byte) {
	t.Helper()
	if r := env.Post(t, Name, body, sign(body, secret)); r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
}

func TestSignMatchesEasyPostsVector(t *testing.T) {
	body := it.Fixture(t, "easypost/tracker.updated.event-body.json")
	const want = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db"
	if got := Sign(body, secret); got != want {
		t.Fatalf("Sign = %s", got)
	}
	d := integrations.Delivery{Header: map[string][]string{"X-Hmac-Signature": {want}}, Body: body}
	if err := New(integrations.Deps{}).Verify(d, "se\u0301cret", time.Now()); err != nil {
		t.Fatalf("the decomposed spelling of the secret is refused: %v", err)
	}
}

func TestInboxContractWithTheSharedFixture(t *testing.T) {
	it.Contract(t, newEnv(t), it.Delivery{Provider: Name, Secret: secret, Body: it.Fixture(t, "easypost/tracker.updated.event-body.json"),
		Sign: sign, Malformed: []byte(`{"description":"tracker.updated","result":{}}`)})
}

func TestTheFixtureTrackerBecomesTheShipmentsTimeline(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	sh := env.Shipment(t, "FedEx", "1")
	post(t, env, it.Fixture(t, "easypost/tracker.updated.event-body.json"))
	ev, err := env.Process(t, Name, "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := env.Commerce.Shipment(it.Ctx(t), sh.ID)
	if len(got.Events) != 7 || got.Status != commerce.InTransit || got.EstimatedDelivery == nil || *got.EstimatedDelivery != "2024-08-05" {
		t.Fatalf("%d events, %s, eta %v (%s)", len(got.Events), got.Status, got.EstimatedDelivery, ev.Outcome)
	}
	if first := got.Events[0]; first.Status != commerce.LabelCreated || first.Location != "US" || first.Detail != "Shipment information sent to FedEx" {
		t.Errorf("first event = %+v", first)
	}
	if got.Events[1].Location != "ORLANDO, FL, US" {
		t.Errorf("location %q", got.Events[1].Location)
	}
	// A replay, or the tracker's next update resending its history, adds nothing.
	if err := env.Inbox.Process(it.Ctx(t), ev.ID); err != nil {
		t.Fatal(err)
	}
	if again, _ := env.Commerce.Shipment(it.Ctx(t), sh.ID); len(again.Events) != 7 {
		t.Errorf("%d events after a replay", len(again.Events))
	}
}

func TestTheGuideExampleRecordsEveryScan(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	sh := env.Shipment(t, "UPS", "EZ4000000004")
	post(t, env, it.Fixture(t, "easypost/tracker.updated.docs-guide-example.json"))
	if _, err := env.Process(t, Name, "evt_..."); err != nil {
		t.Fatal(err)
	}
	got, _ := env.Commerce.Shipment(it.Ctx(t), sh.ID)
	// Its "delivered" scan is stamped before the others: the newest scan
	// (out for delivery) decides the status, and the timeline keeps all six.
	if len(got.Events) != 6 || got.Status != commerce.OutForDelivery {
		t.Errorf("%d events, status %s", len(got.Events), got.Status)
	}
}

func TestUnknownStatusesAreLeftOutAndNamed(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	sh := env.Shipment(t, "usps", "9400 1000 0000 0000 0000 01")
	body, err := os.ReadFile("testdata/tracker-unknown-statuses.json")
	if err != nil {
		t.Fatal(err)
	}
	post(t, env, body)
	ev, err := env.Process(t, Name, "evt_unknown_1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := env.Commerce.Shipment(it.Ctx(t), sh.ID)
	if len(got.Events) != 2 || got.Status != commerce.ReturnedToSender {
		t.Errorf("%d events, status %s; want the label and the return only", len(got.Events), got.Status)
	}
	for _, want := range []string{"unknown", "teleported", "in_transit without a readable time"} {
		if !strings.Contains(ev.Outcome, want) {
			t.Errorf("outcome %q does not name %q", ev.Outcome, want)
		}
	}
}

func TestATrackerOfAnUnknownParcelIsRetried(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	post(t, env, it.Fixture(t, "easypost/tracker.updated.event-body.json"))
	ev, err := env.Process(t, Name, "evt_1")
	if fault.KindOf(err) != fault.NotFound || ev.Status() != "retrying" || !strings.Contains(ev.LastError, "fedex") {
		t.Fatalf("err %v, status %s, error %q", err, ev.Status(), ev.LastError)
	}
}

func TestEveryEasyPostStatusMaps(t *testing.T) {
	want := map[string]commerce.ShipmentStatus{
		"pre_transit": commerce.LabelCreated, "in_transit": commerce.InTransit, "out_for_delivery": commerce.OutForDelivery,
		"available_for_pickup": commerce.AvailableForPickup, "delivered": commerce.Delivered,
		"return_to_sender": commerce.ReturnedToSender, "failure": commerce.Exception, "error": commerce.Exception,
		"cancelled": commerce.Exception,
	}
	for in, status := range want {
		if got, ok := ShipmentStatus(in); !ok || got != status {
			t.Errorf("%s -> %s, %v; want %s", in, got, ok, status)
		}
	}
	for _, unknown := range []string{"unknown", "", "teleported"} {
		if got, ok := ShipmentStatus(unknown); ok {
			t.Errorf("%q -> %s; want it left out", unknown, got)
		}
	}
}
