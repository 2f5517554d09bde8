package aftership

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// FuzzDecode throws arbitrary bodies at the AfterShip decoder: never a
// panic, and every event it makes has a status of ours and a name.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"event":"tracking_update","event_id":"1","msg":{"checkpoints":[{"tag":"Delivered","checkpoint_time":"2021-01-14T00:52:00"}]}}`,
		`{"event":"tracking_update","msg":null}`, `{"msg":{"tag":"Exception","subtag":"Exception_011","updated_at":"x"}}`} {
		f.Add([]byte(s))
	}
	p := New(integrations.Deps{})
	f.Fuzz(func(t *testing.T, body []byte) {
		p.Identify(integrations.Delivery{Header: http.Header{}, Body: body}) //nolint:errcheck
		var w webhook
		if json.Unmarshal(body, &w) != nil || w.Msg == nil {
			return
		}
		for _, ev := range update(*w.Msg).Events {
			if !commerce.ShipmentStatus(ev.Status).Valid() || ev.ProviderEventID == "" || ev.OccurredAt == "" {
				t.Fatalf("event %+v from %q", ev, body)
			}
		}
	})
}
