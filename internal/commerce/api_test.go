package commerce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// newApp is the real server with the API mounted at /api/v1 (without the
// API-key check, which belongs to internal/auth). maxBody 0 is the default.
func newApp(t testing.TB, maxBody int) (*fiber.App, *sqlx.DB) {
	t.Helper()
	svc, db := newService(t)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: db, Logger: quiet, Views: engine, MaxBodyBytes: maxBody})
	NewAPI(svc).Routes(app.Group("/api/v1"))
	return app, db
}

type reply struct {
	status int
	ctype  string
	body   map[string]any
	raw    string
}

// problemFields lists the fields named by a problem document.
func (r reply) problemFields() []string {
	var fs []string
	list, _ := r.body["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		f, _ := m["field"].(string)
		fs = append(fs, f)
	}
	return fs
}

func (r reply) id() int64 { n, _ := r.body["id"].(float64); return int64(n) }

// send makes a request; a string body goes as is, anything else as JSON.
func send(t testing.TB, app *fiber.App, method, path string, body any, contentType string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), raw: string(raw)}
	json.Unmarshal(raw, &r.body) //nolint:errcheck // a non-object body leaves body nil; tests look at raw
	return r
}

func sendJSON(t testing.TB, app *fiber.App, method, path string, body any) reply {
	t.Helper()
	return send(t, app, method, path, body, "application/json")
}

func TestAPIHappyPath(t *testing.T) {
	app, db := newApp(t, 0)
	steps := []struct {
		name, method, path string
		body               any
		status             int
		outcome            string
	}{
		{"a product is created", "PUT", "/api/v1/products/TEA-001", ProductInput{Title: "Sencha"}, 201, "created"},
		{"the same product again is unchanged", "PUT", "/api/v1/products/TEA-001", ProductInput{Title: "Sencha"}, 200, "unchanged"},
		{"an order is created", "POST", "/api/v1/orders", anOrder("1001"), 201, "created"},
		{"a retried order is unchanged", "POST", "/api/v1/orders", anOrder("1001"), 200, "unchanged"},
		{"a changed order is updated", "POST", "/api/v1/orders", func() OrderInput { o := anOrder("1001"); o.Number = "#A-1001"; return o }(), 200, "updated"},
		{"a shipment is created", "POST", "/api/v1/orders/1/shipments", ShipmentInput{Carrier: "dhl", TrackingNumber: "JD1"}, 201, "created"},
		{"a retried shipment is the same", "POST", "/api/v1/orders/1/shipments", ShipmentInput{Carrier: "DHL", TrackingNumber: "jd1"}, 200, "unchanged"},
		{"an event is recorded", "POST", "/api/v1/shipments/1/events", event(InTransit, anHourAgo(), "e1"), 201, "created"},
		{"a duplicate event is not", "POST", "/api/v1/shipments/1/events", event(InTransit, anHourAgo(), "e1"), 200, "unchanged"},
	}
	for _, s := range steps {
		r := sendJSON(t, app, s.method, s.path, s.body)
		if r.status != s.status || r.body["outcome"] != s.outcome || r.id() != 1 || r.ctype != "application/json" {
			t.Errorf("%s: %d %s %s; want %d %s with id 1", s.name, r.status, r.ctype, r.raw, s.status, s.outcome)
		}
	}

	r := send(t, app, "GET", "/api/v1/orders/1", nil, "")
	if r.status != 200 || r.body["number"] != "#A-1001" || r.body["customer"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("GET order: %d %s", r.status, r.raw)
	}
	if ships, _ := r.body["shipments"].([]any); len(ships) != 1 || len(ships[0].(map[string]any)["events"].([]any)) != 1 {
		t.Errorf("GET order shipments = %v; want one shipment with one event", r.body["shipments"])
	}
	r = send(t, app, "GET", "/api/v1/shipments/1", nil, "")
	if r.status != 200 || r.body["status"] != "in_transit" || r.body["tracking_number"] != "JD1" {
		t.Errorf("GET shipment: %d %s", r.status, r.raw)
	}
	if n := len(messages(t, db)); n != 2 {
		t.Errorf("messages = %d; want confirmation and shipped", n)
	}
}

func TestAPIBadPathsAndConflicts(t *testing.T) {
	app, _ := newApp(t, 0)
	sendJSON(t, app, "POST", "/api/v1/orders", anOrder("1"))
	sendJSON(t, app, "POST", "/api/v1/orders", anOrder("2"))
	sendJSON(t, app, "POST", "/api/v1/orders/1/shipments", ShipmentInput{Carrier: "ups", TrackingNumber: "1Z"})
	cases := []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/api/v1/orders/abc", nil, 404},
		{"GET", "/api/v1/orders/0", nil, 404},
		{"GET", "/api/v1/orders/99999999999999999999", nil, 404},
		{"GET", "/api/v1/orders/999", nil, 404},
		{"GET", "/api/v1/shipments/-1", nil, 404},
		{"POST", "/api/v1/orders/x/shipments", ShipmentInput{Carrier: "ups", TrackingNumber: "2"}, 404},
		{"POST", "/api/v1/orders/999/shipments", ShipmentInput{Carrier: "ups", TrackingNumber: "2"}, 404},
		{"POST", "/api/v1/shipments/999/events", event(InTransit, anHourAgo(), "e"), 404},
		{"POST", "/api/v1/orders/2/shipments", ShipmentInput{Carrier: "UPS", TrackingNumber: "1z"}, 409},
	}
	for _, c := range cases {
		r := sendJSON(t, app, c.method, c.path, c.body)
		if r.status != c.status || r.ctype != "application/problem+json" || r.body["status"] != float64(c.status) {
			t.Errorf("%s %s = %d %s %s; want %d problem+json", c.method, c.path, r.status, r.ctype, r.raw, c.status)
		}
	}
}

func TestAPIRejectsBadBodies(t *testing.T) {
	app, db := newApp(t, 4096)
	good, _ := json.Marshal(anOrder("1"))
	cases := []struct {
		name, body, ctype string
		status            int
		detail            string
	}{
		{"a body sent as text/plain is unsupported", string(good), "text/plain", 415, "application/json"},
		{"a body without a content type is unsupported", string(good), "", 415, "application/json"},
		{"a form is unsupported", "external_id=1", "application/x-www-form-urlencoded", 415, "application/json"},
		{"malformed JSON is a bad request naming the byte", `{"external_id": "1",}`, "application/json", 400, "at byte 21"},
		{"truncated JSON is a bad request", `{"external_id": "1"`, "application/json", 400, "ends early"},
		{"two JSON values are a bad request", `{} {}`, "application/json", 400, "single JSON value"},
		{"an empty body is a bad request", ``, "application/json", 400, "empty"},
		{"an array instead of an object is invalid", `[]`, "application/json", 422, "JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, app, "POST", "/api/v1/orders", c.body, c.ctype)
			detail, _ := r.body["detail"].(string)
			if r.status != c.status || r.ctype != "application/problem+json" || !strings.Contains(detail, c.detail) {
				t.Errorf("= %d %s %s; want %d problem+json mentioning %q", r.status, r.ctype, r.raw, c.status, c.detail)
			}
		})
	}
	if n := count(t, db, "orders"); n != 0 {
		t.Errorf("orders = %d; want none", n)
	}
	if r := send(t, app, "POST", "/api/v1/orders", string(good), "application/json; charset=utf-8"); r.status != 201 {
		t.Errorf("a charset parameter = %d %s; want 201", r.status, r.raw)
	}
}

// A body over the limit is refused by fasthttp before any handler runs, and
// app.Test reports that as an error instead of a response; so this test
// talks to the app over a real socket.
func TestAPIRefusesOversizedBodies(t *testing.T) {
	app, db := newApp(t, 4096)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)                  //nolint:errcheck // ends at Shutdown
	t.Cleanup(func() { app.Shutdown() }) //nolint:errcheck // best effort
	big := fmt.Sprintf(`{"external_id":"1","number":"%s"}`, strings.Repeat("x", 5000))
	resp, err := http.Post("http://"+ln.Addr().String()+"/api/v1/orders", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 413 || resp.Header.Get("Content-Type") != "application/problem+json" || p["status"] != float64(413) {
		t.Errorf("= %d %s %v; want 413 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), p)
	}
	if n := count(t, db, "orders"); n != 0 {
		t.Errorf("orders = %d; want none", n)
	}
}
