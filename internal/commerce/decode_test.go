package commerce

import (
	"reflect"
	"testing"
)

func TestJSONPaths(t *testing.T) {
	doc := []byte(`{"a": 1, "items": [{"sku": "x", "q": [1, {"deep": true}]}, {"sku": "y", "q": "z"}], "c": {"d": null}}`)
	t.Run("pathAt finds the value that ends at an offset", func(t *testing.T) {
		cases := map[int64]string{
			7:  "a",
			30: "items[0].sku",
			38: "items[0].q",
			39: "items[0].q[0]",
			42: "items[0].q[1]",
			54: "items[0].q[1].deep",
			80: "items[1].q",
			90: "c",
			99: "c.d",
			1:  "",
		}
		for offset, want := range cases {
			if got := pathAt(doc, offset); got != want {
				t.Errorf("pathAt(%d) = %q; want %q", offset, got, want)
			}
		}
	})
	t.Run("unknownField follows the target type", func(t *testing.T) {
		type inner struct {
			Quantity int `json:"quantity"`
		}
		type outer struct {
			Items []inner          `json:"items"`
			Meta  map[string]inner `json:"meta"`
			Name  string
		}
		cases := map[string]string{
			`{"items":[{"quantity":1},{"quantity":2,"colour":"red"}]}`: "items[1].colour",
			`{"NAME":"a","meta":{"k":{"quantity":1,"x":2}}}`:           "meta.k.x",
			`{"items":[],"extra":{"quantity":1}}`:                      "extra",
			`{"ITEMS":[{"Quantity":1}]}`:                               "",
		}
		for doc, want := range cases {
			if got := unknownField([]byte(doc), reflect.TypeFor[*outer]()); got != want {
				t.Errorf("unknownField(%s) = %q; want %q", doc, got, want)
			}
		}
	})
}
