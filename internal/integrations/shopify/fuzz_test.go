package shopify

import (
	"net/http"
	"testing"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
)

// FuzzDecode throws arbitrary bodies at every Shopify decoder and mapper:
// whatever arrives, they return a value or an error, never panic, and an
// order they accept adds up with no negative amount.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `null`, `{"id":null}`, `{"id":1e400}`, `{"id":"x","line_items":[{"quantity":-1}]}`,
		`{"fulfillment":{"id":1,"order_id":2,"tracking_numbers":[null,"",""]}}`, `{"transactions":[{"kind":"refund","status":"success","amount":"1e99"}]}`} {
		f.Add([]byte(s))
	}
	p := New(integrations.Deps{})
	f.Fuzz(func(t *testing.T, body []byte) {
		p.Identify(integrations.Delivery{Header: http.Header{"X-Shopify-Topic": {"orders/create"}, "X-Shopify-Webhook-Id": {"1"}}, Body: body}) //nolint:errcheck
		if o, err := decodeOrder(body); err == nil {
			if in, err := orderInput(o); err == nil {
				if in.Subtotal-in.Discount+in.Shipping+in.Tax != in.Total || in.Discount < 0 || in.Tax < 0 || in.Total < 0 {
					t.Fatalf("order %q does not add up: %+v", body, in)
				}
			}
		}
		if fl, err := decodeFulfillment(body); err == nil {
			numbers, urls := fl.parcels()
			if len(numbers) != len(urls) {
				t.Fatalf("%d numbers, %d urls", len(numbers), len(urls))
			}
			var want []wanted
			for _, li := range fl.LineItems {
				want = append(want, wanted{sku: skuOf(li.SKU, li.VariantID, li.ProductID, li.ID), quantity: li.Quantity})
			}
			o := commerce.Order{Items: []commerce.OrderItem{{LineNo: 1, SKU: "A", Quantity: 2}}}
			if len(numbers) > 0 {
				splitParcels(o, want, numbers) //nolint:errcheck
			}
		}
		if r, err := decodeRefund(body); err == nil {
			r.amount("USD") //nolint:errcheck
		}
		checkoutOf(body)             //nolint:errcheck
		decodeFulfillmentEvent(body) //nolint:errcheck
	})
}
