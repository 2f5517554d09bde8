package commerce

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeOrder throws arbitrary bodies at the order endpoints: whatever
// arrives, the answer is a success or a problem document, never a panic and
// never a 500.
func FuzzDecodeOrder(f *testing.F) {
	good, _ := json.Marshal(anOrder("1001"))
	seeds := []string{
		string(good), `{}`, `[]`, `null`, `"x"`, `{"orders":[{}]}`, `{"orders":[null,1,"x",[]]}`,
		`{"items":[{"quantity":"x"}]}`, `{"items":[{"quantity":1e400}]}`, `{"total":-9223372036854775808}`,
		`{"a":1}{`, `{"external_id":"\u0000"}`, `{"customer":{"email":"a\u0000@b.c"}}`,
		`{"placed_at":"0000-01-01T00:00:00Z"}`, `{"placed_at":"9999-12-31T23:59:59+14:00"}`,
		`{"currency":"ÉUR"}`, "{\"number\":\"\xff\xfe\"}", strings.Repeat("[", 20000),
		`{"items":[{"sku":"a","title":"a","quantity":1000000,"unit_price":1000000000000000}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	app, _ := newApp(f, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api/v1/orders", "/api/v1/orders/batch"} {
			r := send(t, app, "POST", path, body, "application/json")
			if r.status >= 500 {
				t.Fatalf("POST %s %q = %d %s", path, body, r.status, r.raw)
			}
			if r.status >= 300 && r.ctype != "application/problem+json" {
				t.Fatalf("POST %s %q = %d %s; want problem+json", path, body, r.status, r.ctype)
			}
		}
	})
}
