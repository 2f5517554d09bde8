package aftership

import (
	"os"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "as-webhook-secret-0123"

func newEnv(t *testing.T) *it.Env {
	t.Helper()
	return it.New(t, func(d integrations.Deps) integrations.Provider { return New(d) })
}

func sign(body []byte, secret string) map[string]string {
	// HTTP/2 lowercases header names; the check must not care.
	return map[string]string{"aftership-hmac-sha256": Sign(body, secret), "as-webhook-version": "2026-07"}
}

func post(t *testing.T, env *it.Env, body []byte) {
	t.Helper()
	if r := env.Post(t, Name, body, sign(body, secret)); r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
}

func TestInboxContractWithTheDocsSample(t *testing.T) {
	it.Contract(t, newEnv(t), it.Delivery{Provider: Name, Secret: secret, Body: it.Fixture(t, "aftership/tracking_update.docs-2026-07.trimmed.json"),
		Sign: sign, Malformed: []byte(`{"msg": {}}`)})
}

func TestTheDocsSampleAddsItsCheckpoint(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	sh := env.Shipment(t, "USPS", "0000000000000000")
	post(t, env, it.Fixture(t, "aftership/tracking_update.docs-2026-07.trimmed.json"))
	if _, err := env.Process(t, Name, "94dadd60-ed26-46d0-aa52-3ced925a50ff"); err != nil {
		t.Fatal(err)
	}
	got, _ := env.Commerce.Shipment(it.Ctx(t), sh.ID)
	if len(got.Events) != 1 || got.Status != commerce.InTransit || got.Events[0].OccurredAt.UTC().Format("2006-01-02 15:04") != "2021-01-14 00:52" {
		t.Fatalf("events %+v, status %s; want the checkpoint in transit at 00:52 UTC (no zone given)", got.Events, got.Status)
	}
}

func TestALegacyReturnedParcelWithUnknownTags(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, Name, secret)
	sh := env.Shipment(t, "UPS", "1Z999AA10123456784")
	body, err := os.ReadFile("testdata/tracking-returned-legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	post(t, env, body)
	// No event_id (an older webhook version): named by the tracking id and timestamp.
	ev, err := env.Process(t, Name, "msg:5b7658cec7c33c0e007de3c5:1712300000")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := env.Commerce.Shipment(it.Ctx(t), sh.ID)
	var statuses []string
	for _, e := range got.Events {
		statuses = append(statuses, string(e.Status))
	}
	if strings.Join(statuses, ",") != "label_created,in_transit,attempted_delivery,returned_to_sender,returned_to_sender" {
		t.Errorf("timeline %v", statuses)
	}
	if got.Status != commerce.ReturnedToSender || got.EstimatedDelivery == nil || *got.EstimatedDelivery != "2024-04-06" {
		t.Errorf("status %s, eta %v", got.Status, got.EstimatedDelivery)
	}
	if got.Events[1].Location != "Louisville, KY" || got.Events[2].Location != "Austin, TX, USA" {
		t.Errorf("locations %q, %q", got.Events[1].Location, got.Events[2].Location)
	}
	if !strings.Contains(ev.Outcome, "Teleported") {
		t.Errorf("outcome %q does not name the unknown tag", ev.Outcome)
	}
}

func TestEveryAfterShipTagMaps(t *testing.T) {
	tests := []struct {
		tag, subtag string
		want        commerce.ShipmentStatus
	}{
		{"Pending", "Pending_001", commerce.LabelCreated},
		{"InfoReceived", "InfoReceived_001", commerce.LabelCreated},
		{"InTransit", "InTransit_001", commerce.InTransit},
		{"OutForDelivery", "OutForDelivery_001", commerce.OutForDelivery},
		{"AttemptFail", "AttemptFail_001", commerce.AttemptedDelivery},
		{"AvailableForPickup", "AvailableForPickup_001", commerce.AvailableForPickup},
		{"Delivered", "Delivered_002", commerce.Delivered},
		{"Exception", "Exception_004", commerce.Exception},
		{"Exception", "Exception_010", commerce.ReturnedToSender},
		{"Exception", "Exception_011", commerce.ReturnedToSender},
		{"Exception", "", commerce.Exception},
		{"Expired", "Expired_001", commerce.Exception},
	}
	for _, tt := range tests {
		if got, ok := ShipmentStatus(tt.tag, tt.subtag); !ok || got != tt.want {
			t.Errorf("%s/%s -> %s, %v; want %s", tt.tag, tt.subtag, got, ok, tt.want)
		}
	}
	for _, unknown := range []string{"", "Teleported", "intransit"} {
		if got, ok := ShipmentStatus(unknown, ""); ok {
			t.Errorf("%q -> %s; want it left out", unknown, got)
		}
	}
}
