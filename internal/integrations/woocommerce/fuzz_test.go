package woocommerce

import (
	"net/http"
	"testing"

	"github.com/aftercare/aftercare/internal/integrations"
)

// FuzzDecode throws arbitrary bodies at the WooCommerce decoders: never a
// panic, and an order they accept adds up with no negative amount.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `webhook_id=1`, `{"id":1,"line_items":[{"quantity":3,"subtotal":"10.00"}],"total":"-5"}`,
		`{"id":"1","billing":{"email":"a@b.c"},"date_created_gmt":"2017-03-22T19:28:02","line_items":[{"quantity":1,"subtotal":1e3}]}`} {
		f.Add([]byte(s))
	}
	p := New(integrations.Deps{})
	f.Fuzz(func(t *testing.T, body []byte) {
		d := integrations.Delivery{Header: http.Header{"X-Wc-Webhook-Topic": {"order.created"}}, Body: body}
		p.Ping(d)
		p.Identify(d) //nolint:errcheck
		o, err := decodeOrder(body)
		if err != nil {
			return
		}
		o.paid()
		if in, err := orderInput(o); err == nil {
			if in.Subtotal-in.Discount+in.Shipping+in.Tax != in.Total || in.Discount < 0 || in.Tax < 0 || in.Total < 0 {
				t.Fatalf("order %q does not add up: %+v", body, in)
			}
		}
	})
}
