package commerce

import (
	"slices"
	"strings"
	"testing"
)

func TestAPIRefundsAndCancellation(t *testing.T) {
	app, _ := newApp(t, 0)
	if r := sendJSON(t, app, "POST", "/api/v1/orders", anOrder("1001")); r.status != 201 {
		t.Fatal(r.raw)
	}
	orderOf := func(r reply) jsonObject { o, _ := r.body["order"].(jsonObject); return o }
	steps := []struct {
		name, path string
		body       any
		status     int
		check      func(r reply) bool
	}{
		{"a partial refund is recorded as coming from the API", "/api/v1/orders/1/refunds",
			jsonObject{"amount": 1800, "currency": "eur", "reference": "re_1", "reason": "broken cup"}, 201,
			func(r reply) bool {
				o := orderOf(r)
				return r.body["outcome"] == "created" && r.body["amount"] == float64(1800) && r.body["currency"] == "EUR" &&
					r.body["source"] == "api" && o["status"] == "partially_refunded" && o["refunded"] == float64(1800)
			}},
		{"its retry answers the stored refund", "/api/v1/orders/1/refunds",
			jsonObject{"amount": 1800, "currency": "EUR", "reference": "re_1"}, 200,
			func(r reply) bool { return r.body["outcome"] == "unchanged" && r.body["reason"] == "broken cup" }},
		{"the rest refunds the order", "/api/v1/orders/1/refunds",
			jsonObject{"amount": 3217, "currency": "EUR", "reference": "re_2"}, 201,
			func(r reply) bool {
				return orderOf(r)["status"] == "refunded" && len(orderOf(r)["refunds"].([]any)) == 2
			}},
		{"cancelling without a body cancels", "/api/v1/orders/1/cancel", nil, 200,
			func(r reply) bool {
				return r.body["outcome"] == "updated" && r.body["status"] == "cancelled" && r.body["cancelled_at"] != nil
			}},
		{"cancelling again is unchanged", "/api/v1/orders/1/cancel", jsonObject{"reason": "again"}, 200,
			func(r reply) bool { return r.body["outcome"] == "unchanged" && r.body["cancel_reason"] == "" }},
	}
	for _, s := range steps {
		var r reply
		if s.body == nil {
			r = send(t, app, "POST", s.path, nil, "")
		} else {
			r = sendJSON(t, app, "POST", s.path, s.body)
		}
		if r.status != s.status || r.ctype != "application/json" || !s.check(r) {
			t.Errorf("%s: %d %s; want %d", s.name, r.status, r.raw, s.status)
		}
	}
	r := send(t, app, "GET", "/api/v1/orders/1", nil, "")
	if r.body["status"] != "cancelled" || r.body["refunded"] != float64(5017) || len(r.body["refunds"].([]any)) != 2 {
		t.Errorf("GET order = %s", r.raw)
	}
}

func TestAPIRefundAndCancelErrors(t *testing.T) {
	app, db := newApp(t, 0)
	if r := sendJSON(t, app, "POST", "/api/v1/orders", anOrder("1001")); r.status != 201 {
		t.Fatal(r.raw)
	}
	if r := sendJSON(t, app, "POST", "/api/v1/orders/1/refunds", jsonObject{"amount": 5000, "currency": "EUR", "reference": "re_1"}); r.status != 201 {
		t.Fatal(r.raw)
	}
	refundBody := func(edit func(b jsonObject)) jsonObject {
		b := jsonObject{"amount": 10, "currency": "EUR", "reference": "re_2"}
		edit(b)
		return b
	}
	cases := []struct {
		name, path string
		body       any
		status     int
		field      string
	}{
		{"a refund beyond what is left names the amount", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["amount"] = 18 }), 422, "amount"},
		{"a refund in another currency names the currency", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["currency"] = "USD" }), 422, "currency"},
		{"a refund of nothing names the amount", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["amount"] = 0 }), 422, "amount"},
		{"a fractional amount names the amount", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["amount"] = 1.5 }), 422, "amount"},
		{"a refund needs a reference", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { delete(b, "reference") }), 422, "reference"},
		{"the source cannot be chosen through the API", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["source"] = "stripe" }), 422, "source"},
		{"the order cannot be named in the body", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["order_id"] = 2 }), 422, "order_id"},
		{"a known reference with another amount conflicts", "/api/v1/orders/1/refunds", refundBody(func(b jsonObject) { b["reference"] = "re_1" }), 409, ""},
		{"a refund of an unknown order is not found", "/api/v1/orders/2/refunds", refundBody(func(jsonObject) {}), 404, ""},
		{"a refund of no order is not found", "/api/v1/orders/x/refunds", refundBody(func(jsonObject) {}), 404, ""},
		{"a cancel reason is at most 1000 characters", "/api/v1/orders/1/cancel", jsonObject{"reason": strings.Repeat("x", 1001)}, 422, "reason"},
		{"a cancel body holds only a reason", "/api/v1/orders/1/cancel", jsonObject{"reason": "x", "refund": true}, 422, "refund"},
		{"cancelling an unknown order is not found", "/api/v1/orders/2/cancel", jsonObject{}, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sendJSON(t, app, "POST", c.path, c.body)
			if r.status != c.status || r.ctype != "application/problem+json" || (c.field != "" && !slices.Contains(r.problemFields(), c.field)) {
				t.Errorf("= %d %s %s; want %d problem+json naming %q", r.status, r.ctype, r.raw, c.status, c.field)
			}
		})
	}
	if r := send(t, app, "POST", "/api/v1/orders/1/refunds", `{"amount":1}`, "text/plain"); r.status != 415 {
		t.Errorf("a refund as text/plain = %d; want 415", r.status)
	}
	if r := send(t, app, "POST", "/api/v1/orders/1/cancel", `reason=x`, "application/x-www-form-urlencoded"); r.status != 415 {
		t.Errorf("a cancel as a form = %d; want 415", r.status)
	}
	var refunded int64
	var status string
	if err := db.QueryRow(`SELECT refunded_minor, status FROM orders WHERE id = 1`).Scan(&refunded, &status); err != nil {
		t.Fatal(err)
	}
	if refunded != 5000 || status != "partially_refunded" || count(t, db, "order_refunds") != 1 {
		t.Errorf("refunded %d, status %s; refused requests must change nothing", refunded, status)
	}
}

func TestAPIOrderAddressAndAttribution(t *testing.T) {
	app, _ := newApp(t, 0)
	r := sendJSON(t, app, "POST", "/api/v1/orders", withAttribution(anOrder("1001")))
	addr, _ := r.body["shipping_address"].(jsonObject)
	if r.status != 201 || addr["country"] != "GB" || addr["postal_code"] != "SW1Y 4JH" || r.body["payment_fingerprint"] != "Xt5EWLLDS7FJjR1c" ||
		r.body["referral_code"] != "ADA-7K2Q" || r.body["device_id"] != "d-9f86" || r.body["refunded"] != float64(0) {
		t.Errorf("POST order = %d %s", r.status, r.raw)
	}
	if r := sendJSON(t, app, "POST", "/api/v1/orders", anOrder("1002")); r.body["shipping_address"] != nil || !strings.Contains(r.raw, `"shipping_address":null`) {
		t.Errorf("an order without an address = %s; want shipping_address null", r.raw)
	}
	cases := []struct {
		name  string
		edit  func(o jsonObject)
		field string
	}{
		{"a country is an ISO 3166-1 code", func(o jsonObject) { o["shipping_address"] = jsonObject{"line1": "1 Main St", "country": "UK"} }, "shipping_address.country"},
		{"an unknown address field is named by its path", func(o jsonObject) {
			o["shipping_address"] = jsonObject{"line1": "1 Main St", "country": "US", "street": "x"}
		}, "shipping_address.street"},
		{"an address is an object", func(o jsonObject) { o["shipping_address"] = "1 Main St" }, "shipping_address"},
		{"a referral code is at most 64 characters", func(o jsonObject) { o["attribution"] = jsonObject{"referral_code": strings.Repeat("R", 65)} }, "attribution.referral_code"},
		{"a payment fingerprint is a string", func(o jsonObject) { o["payment_fingerprint"] = 7 }, "payment_fingerprint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sendJSON(t, app, "POST", "/api/v1/orders", orderWith(c.edit))
			if r.status != 422 || !slices.Contains(r.problemFields(), c.field) {
				t.Errorf("= %d %s; want 422 naming %s", r.status, r.raw, c.field)
			}
		})
	}
}
