package commerce

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

type jsonObject = map[string]any

// orderJSON is anOrder as a JSON object, changed by edit.
func orderWith(edit func(o jsonObject)) jsonObject {
	b, _ := json.Marshal(anOrder("1001"))
	var o jsonObject
	json.Unmarshal(b, &o) //nolint:errcheck // it was just encoded
	edit(o)
	return o
}

func item(o jsonObject, i int) jsonObject { return o["items"].([]any)[i].(jsonObject) }

func TestAPIValidationErrors(t *testing.T) {
	app, db := newApp(t, 0)
	if r := sendJSON(t, app, "POST", "/api/v1/orders", anOrder("1001")); r.status != 201 {
		t.Fatal(r.raw)
	}
	if r := sendJSON(t, app, "POST", "/api/v1/orders/1/shipments", ShipmentInput{Carrier: "dhl", TrackingNumber: "JD1",
		Items: []ShipmentItemInput{{LineNo: 1, Quantity: 1}}}); r.status != 201 {
		t.Fatal(r.raw)
	}
	future := time.Now().Add(49 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"an order needs an external id", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { delete(o, "external_id") }), "external_id"},
		{"an order's email must be an address", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["customer"].(jsonObject)["email"] = "ada at example" }), "customer.email"},
		{"an order needs a customer email", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { delete(o, "customer") }), "customer.email"},
		{"a currency is three letters", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["currency"] = "EURO" }), "currency"},
		{"placed_at is RFC 3339", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["placed_at"] = "yesterday" }), "placed_at"},
		{"placed_at is not days ahead", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["placed_at"] = future }), "placed_at"},
		{"a source is a lower-case name", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["source"] = "My Shop" }), "source"},
		{"an order has items", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["items"] = []any{} }), "items"},
		{"an order has at most 500 items", "POST", "/api/v1/orders", orderWith(func(o jsonObject) {
			items := make([]any, 501)
			for i := range items {
				items[i] = jsonObject{"sku": "A", "title": "A", "quantity": 1, "unit_price": 1}
			}
			o["items"] = items
		}), "items"},
		{"a quantity is at least 1", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { item(o, 1)["quantity"] = 0 }), "items[1].quantity"},
		{"a unit price is not negative", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { item(o, 0)["unit_price"] = -1 }), "items[0].unit_price"},
		{"an item has a sku", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { item(o, 1)["sku"] = " " }), "items[1].sku"},
		{"a discount code is not empty", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["discount_codes"] = []any{""} }), "discount_codes[0]"},
		{"the subtotal is the sum of the lines", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["subtotal"] = 4301 }), "subtotal"},
		{"the total adds up", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["total"] = 5000 }), "total"},
		{"shipping is not negative", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["shipping"] = -5 }), "shipping"},
		{"an unknown field is named", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["colour"] = "red" }), "colour"},
		{"an unknown nested field is named by its path", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { item(o, 1)["colour"] = "red" }), "items[1].colour"},
		{"a quantity of the wrong type is named by its path", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { item(o, 1)["quantity"] = "two" }), "items[1].quantity"},
		{"a fractional amount is refused", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["total"] = 50.17 }), "total"},
		{"a customer that is not an object is refused", "POST", "/api/v1/orders", orderWith(func(o jsonObject) { o["customer"] = "ada@example.com" }), "customer"},
		{"an out-of-range number is refused", "POST", "/api/v1/orders", `{"items":[{"quantity":1e40}]}`, "items[0].quantity"},
		{"a product has a title", "PUT", "/api/v1/products/TEA-001", jsonObject{"title": ""}, "title"},
		{"a product image is a web URL", "PUT", "/api/v1/products/TEA-001", jsonObject{"title": "T", "image_url": "javascript:alert(1)"}, "image_url"},
		{"replenish days are positive", "PUT", "/api/v1/products/TEA-001", jsonObject{"title": "T", "replenish_days": 0}, "replenish_days"},
		{"returnable is a boolean", "PUT", "/api/v1/products/TEA-001", jsonObject{"title": "T", "returnable": "yes"}, "returnable"},
		{"a shipment names its carrier", "POST", "/api/v1/orders/1/shipments", jsonObject{"tracking_number": "X"}, "carrier"},
		{"a shipment takes no more than is left", "POST", "/api/v1/orders/1/shipments", jsonObject{"carrier": "dhl", "tracking_number": "X",
			"items": []any{jsonObject{"line_no": 1, "quantity": 2}}}, "items[0].quantity"},
		{"an ETA is a date", "POST", "/api/v1/orders/1/shipments", jsonObject{"carrier": "dhl", "tracking_number": "X", "estimated_delivery": "soon"}, "estimated_delivery"},
		{"a tracking URL is a web URL", "POST", "/api/v1/orders/1/shipments", jsonObject{"carrier": "dhl", "tracking_number": "X", "tracking_url": "ftp://x"}, "tracking_url"},
		{"an event status is from the vocabulary", "POST", "/api/v1/shipments/1/events", jsonObject{"status": "lost", "occurred_at": "2024-01-01T00:00:00Z"}, "status"},
		{"an event has a time", "POST", "/api/v1/shipments/1/events", jsonObject{"status": "in_transit"}, "occurred_at"},
		{"an event's detail holds no NUL", "POST", "/api/v1/shipments/1/events", jsonObject{"status": "in_transit", "occurred_at": "2024-01-01T00:00:00Z", "detail": "a\u0000b"}, "detail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sendJSON(t, app, c.method, c.path, c.body)
			if r.status != 422 || r.ctype != "application/problem+json" || !slices.Contains(r.problemFields(), c.field) {
				t.Errorf("= %d %s %s; want 422 problem+json naming %s", r.status, r.ctype, r.raw, c.field)
			}
			if r.body["type"] == "" || r.body["title"] == "" || r.body["instance"] != strings.SplitN(c.path, "?", 2)[0] {
				t.Errorf("problem = %s; want type, title and instance", r.raw)
			}
		})
	}
	if n := count(t, db, "orders"); n != 1 {
		t.Errorf("orders = %d; refused requests must write nothing", n)
	}
	if n := count(t, db, "shipments"); n != 1 {
		t.Errorf("shipments = %d; refused requests must write nothing", n)
	}
}
