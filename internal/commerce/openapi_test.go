package commerce

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// openAPI is the served document, loosely typed.
type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas map[string]jsonObject `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Parameters []struct {
		Name, In string
		Example  any
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Examples map[string]struct{ Value any } `json:"examples"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema jsonObject `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

func TestOpenAPIDocument(t *testing.T) {
	app, _ := newApp(t, 0)
	r := send(t, app, "GET", "/api/v1/openapi.json", nil, "")
	if r.status != 200 || !strings.HasPrefix(r.ctype, "application/json") || r.body["openapi"] != "3.1.0" {
		t.Fatalf("GET /api/v1/openapi.json = %d %s", r.status, r.ctype)
	}
	var doc openAPI
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}

	t.Run("every route under /api/v1 is documented and every documented operation is a route", func(t *testing.T) {
		var registered, documented []string
		for _, rt := range app.GetRoutes(true) {
			if strings.HasPrefix(rt.Path, "/api/v1/") && rt.Method != "HEAD" {
				registered = append(registered, rt.Method+" "+rt.Path)
			}
		}
		for path, ops := range doc.Paths {
			fiberPath := "/api/v1" + strings.NewReplacer("{", ":", "}", "").Replace(path)
			for method := range ops {
				documented = append(documented, strings.ToUpper(method)+" "+fiberPath)
			}
		}
		sort.Strings(registered)
		sort.Strings(documented)
		if !slices.Equal(registered, documented) {
			t.Errorf("registered routes\n%s\ndocumented operations\n%s", strings.Join(registered, "\n"), strings.Join(documented, "\n"))
		}
	})

	t.Run("request schemas list exactly the fields the handlers decode", func(t *testing.T) {
		types := map[string]reflect.Type{
			"OrderInput": reflect.TypeFor[OrderInput](), "CustomerInput": reflect.TypeFor[CustomerInput](),
			"ItemInput": reflect.TypeFor[ItemInput](), "ProductInput": reflect.TypeFor[ProductInput](),
			"ShipmentInput": reflect.TypeFor[ShipmentInput](), "ShipmentItemInput": reflect.TypeFor[ShipmentItemInput](),
			"TrackingEventInput": reflect.TypeFor[TrackingEventInput](),
			"AddressInput":       reflect.TypeFor[AddressInput](), "AttributionInput": reflect.TypeFor[AttributionInput](),
			"RefundInput": reflect.TypeFor[RefundInput](), "CancelInput": reflect.TypeFor[cancelInput](),
		}
		for name, typ := range types {
			var fields, props []string
			for i := 0; i < typ.NumField(); i++ {
				tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
				if tag != "-" { // set by the handler, never decoded
					fields = append(fields, tag)
				}
			}
			for p := range doc.Components.Schemas[name]["properties"].(map[string]any) {
				props = append(props, p)
			}
			sort.Strings(fields)
			sort.Strings(props)
			if !slices.Equal(fields, props) {
				t.Errorf("%s: Go fields %v, documented %v", name, fields, props)
			}
		}
	})

	t.Run("the examples are accepted and answered as documented", func(t *testing.T) {
		// Run in dependency order; {id} takes the id the earlier example made.
		order := []string{"/products/{sku}", "/orders", "/orders/batch", "/orders/{id}/shipments", "/orders/{id}/refunds", "/orders/{id}/cancel", "/orders/{id}", "/shipments/{id}/events", "/shipments/{id}"}
		ids := map[string]string{}
		tried := 0
		for _, path := range order {
			for method, op := range doc.Paths[path] {
				url := "/api/v1" + path
				for _, p := range op.Parameters {
					v := fmt.Sprint(p.Example)
					if p.Name == "id" {
						v = ids[strings.Split(path, "/")[1]]
					}
					url = strings.ReplaceAll(url, "{"+p.Name+"}", v)
				}
				var bodies []any
				if op.RequestBody != nil {
					for _, ex := range op.RequestBody.Content["application/json"].Examples {
						bodies = append(bodies, ex.Value)
					}
					if len(bodies) == 0 {
						t.Errorf("%s %s documents no request example", method, path)
					}
				} else {
					bodies = append(bodies, nil)
				}
				for _, body := range bodies {
					tried++
					r := sendJSON(t, app, strings.ToUpper(method), url, body)
					resp, documented := op.Responses[fmt.Sprint(r.status)]
					if r.status >= 300 || !documented {
						t.Errorf("%s %s = %d %s; want a documented success", method, url, r.status, r.raw)
						continue
					}
					for _, key := range requiredKeys(doc, resp.Content["application/json"].Schema) {
						if _, ok := r.body[key]; !ok {
							t.Errorf("%s %s answered without required %q: %s", method, url, key, r.raw)
						}
					}
					switch path {
					case "/orders":
						ids["orders"] = fmt.Sprint(r.id())
					case "/orders/{id}/shipments":
						ids["shipments"] = fmt.Sprint(r.id())
					}
				}
			}
		}
		if tried < 9 {
			t.Errorf("tried %d operations; want every documented one", tried)
		}
	})
}

// requiredKeys resolves a schema's $ref and allOf and lists its required
// properties.
func requiredKeys(doc openAPI, schema jsonObject) []string {
	if ref, ok := schema["$ref"].(string); ok {
		return requiredKeys(doc, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")])
	}
	var keys []string
	if all, ok := schema["allOf"].([]any); ok {
		for _, s := range all {
			keys = append(keys, requiredKeys(doc, s.(jsonObject))...)
		}
	}
	required, _ := schema["required"].([]any)
	for _, k := range required {
		keys = append(keys, k.(string))
	}
	return keys
}
