package easypost

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// FuzzDecode throws arbitrary bodies at the EasyPost decoder: never a
// panic, and every event it makes has a status of ours and a name.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"evt_1","description":"tracker.updated","result":{"tracking_details":[{"status":"delivered","datetime":"2024-01-01T00:00:00Z"}]}}`,
		`{"result":{"status":"unknown","tracking_details":null}}`, `{"result":{"tracking_details":[{"tracking_location":null}]}}`} {
		f.Add([]byte(s))
	}
	p := New(integrations.Deps{})
	f.Fuzz(func(t *testing.T, body []byte) {
		p.Identify(integrations.Delivery{Header: http.Header{}, Body: body}) //nolint:errcheck
		var e event
		if json.Unmarshal(body, &e) != nil {
			return
		}
		for _, ev := range update(e.Result).Events {
			if !commerce.ShipmentStatus(ev.Status).Valid() || ev.ProviderEventID == "" || ev.OccurredAt == "" {
				t.Fatalf("event %+v from %q", ev, body)
			}
		}
	})
}
