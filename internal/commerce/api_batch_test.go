package commerce

import (
	"fmt"
	"slices"
	"testing"
)

func TestAPIBatch(t *testing.T) {
	app, db := newApp(t, 0)
	if r := sendJSON(t, app, "POST", "/api/v1/orders", anOrder("existing")); r.status != 201 {
		t.Fatal(r.raw)
	}
	changed := anOrder("existing")
	changed.PaymentReference = "pi_changed"
	batch := jsonObject{"orders": []any{
		anOrder("b1"),
		orderWith(func(o jsonObject) { o["external_id"] = "b2"; o["total"] = 1 }),
		orderWith(func(o jsonObject) { o["external_id"] = "b3"; o["colour"] = "red" }),
		orderWith(func(o jsonObject) { o["external_id"] = "b4"; item(o, 0)["quantity"] = "1" }),
		anOrder("existing"),
		changed,
		nil,
	}}
	r := sendJSON(t, app, "POST", "/api/v1/orders/batch", batch)
	if r.status != 200 || r.ctype != "application/json" {
		t.Fatalf("batch = %d %s", r.status, r.raw)
	}
	want := []struct {
		outcome, field string
	}{
		{"created", ""}, {"error", "total"}, {"error", "colour"}, {"error", "items[0].quantity"},
		{"unchanged", ""}, {"updated", ""}, {"error", "external_id"},
	}
	results, _ := r.body["results"].([]any)
	if len(results) != len(want) {
		t.Fatalf("results = %s; want %d", r.raw, len(want))
	}
	for i, w := range want {
		res := results[i].(map[string]any)
		var fields []string
		errs, _ := res["errors"].([]any)
		for _, e := range errs {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		_, hasID := res["id"]
		if res["index"] != float64(i) || res["outcome"] != w.outcome || hasID == (w.outcome == "error") ||
			(w.field != "" && !slices.Contains(fields, w.field)) {
			t.Errorf("result %d = %v; want %s %s", i, res, w.outcome, w.field)
		}
	}
	summary := r.body["summary"].(map[string]any)
	if summary["created"] != 1.0 || summary["updated"] != 1.0 || summary["unchanged"] != 1.0 || summary["error"] != 4.0 {
		t.Errorf("summary = %v", summary)
	}
	if n := count(t, db, "orders"); n != 2 {
		t.Errorf("orders = %d; want existing and b1", n)
	}
	if n := len(messages(t, db)); n != 1 {
		t.Errorf("messages = %d; a back-fill sends no email", n)
	}

	again := sendJSON(t, app, "POST", "/api/v1/orders/batch", jsonObject{"orders": []any{anOrder("b1")}})
	if res := again.body["results"].([]any)[0].(map[string]any); res["outcome"] != "unchanged" {
		t.Errorf("retried b1 = %v; want unchanged", res)
	}

	t.Run("a full batch of 500 orders is recorded within the request", func(t *testing.T) {
		orders := make([]any, MaxBatch)
		for i := range orders {
			orders[i] = anOrder(fmt.Sprint("full-", i))
		}
		r := sendJSON(t, app, "POST", "/api/v1/orders/batch", jsonObject{"orders": orders})
		if r.status != 200 || r.body["summary"].(map[string]any)["created"] != float64(MaxBatch) {
			t.Errorf("= %d %v; want 500 created", r.status, r.body["summary"])
		}
	})

	t.Run("a batch must list 1 to 500 orders", func(t *testing.T) {
		many := make([]any, MaxBatch+1)
		for i := range many {
			many[i] = jsonObject{}
		}
		for _, body := range []any{jsonObject{"orders": []any{}}, jsonObject{}, jsonObject{"orders": many}, `{"orders":"all"}`} {
			r := sendJSON(t, app, "POST", "/api/v1/orders/batch", body)
			if r.status != 422 || r.ctype != "application/problem+json" || !slices.Contains(r.problemFields(), "orders") {
				t.Errorf("= %d %s; want 422 naming orders", r.status, r.raw)
			}
		}
	})
}
