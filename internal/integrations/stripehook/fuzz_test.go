package stripehook

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/integrations"
)

// FuzzDecode throws arbitrary event bodies at the Stripe decoders: never a
// panic, and an order they accept adds up with no negative amount.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"evt_1","type":"x","object":"event"}`,
		`{"data":{"object":{"id":"cs_1","amount_total":-5,"currency":"isk","customer":{"id":"cus_1","email":7}}}}`,
		`{"data":{"object":{"id":"cs_1","discounts":[{"promotion_code":{"id":"promo","code":"X"}}],"line_items":{"data":[{"quantity":0}]}}}}`,
		`{"data":{"object":{"id":"ch_1","refunds":{"data":[{"id":"re","amount":1}]}},"previous_attributes":[]}}`} {
		f.Add([]byte(s))
	}
	p := New(integrations.Deps{}, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		p.Identify(integrations.Delivery{Header: http.Header{}, Body: body}) //nolint:errcheck
		var e event
		if json.Unmarshal(body, &e) != nil {
			return
		}
		if s, err := decodeSession(e.Data.Object); err == nil {
			s.promotionCodes()
			s.shippingAddress()
			if in, err := orderInput(s, e.Created); err == nil {
				if in.Subtotal-in.Discount+in.Shipping+in.Tax != in.Total || in.Discount < 0 || in.Tax < 0 || in.Total < 0 {
					t.Fatalf("session %q does not add up: %+v", body, in)
				}
			}
		}
		var ch charge
		json.Unmarshal(e.Data.Object, &ch) //nolint:errcheck
		var d dispute
		json.Unmarshal(e.Data.Object, &d) //nolint:errcheck
	})
}

// FuzzSignatureHeader throws arbitrary Stripe-Signature headers at Verify:
// never a panic, never a pass without the secret.
func FuzzSignatureHeader(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	f.Add(Sign(body, "whsec_other", now))
	f.Add("t=1700000000,v1=zz,v1=,t=")
	f.Add(",,,=,t=-1")
	p := New(integrations.Deps{}, nil)
	f.Fuzz(func(t *testing.T, header string) {
		err := p.Verify(integrations.Delivery{Header: http.Header{"Stripe-Signature": {header}}, Body: body}, secret, now)
		// No seed carries a signature made with secret, and none can be guessed.
		if err == nil {
			t.Fatalf("header %q passed without the secret", header)
		}
	})
}
