package returns

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

// csrfToken is any 43-character value: the server's double-submit check
// compares the cookie with the form field.
const csrfToken = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

// testApp is the real server with the returns routes; the headers
// X-Test-Customer and X-Test-Staff ("id:role") stand in for the sessions.
func testApp(t *testing.T, f *fixture) *fiber.App {
	t.Helper()
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: f.db, Logger: quiet, Views: engine, MaxBodyBytes: 32 << 20})
	app.Use(func(c *fiber.Ctx) error {
		if id, err := strconv.ParseInt(c.Get("X-Test-Customer"), 10, 64); err == nil {
			c.Locals("customerID", id)
		}
		if id, role, ok := strings.Cut(c.Get("X-Test-Staff"), ":"); ok {
			n, _ := strconv.ParseInt(id, 10, 64)
			c.Locals("staff", staff.Member{ID: n, Name: "Sam", Role: staff.Role(role)})
		}
		return c.Next()
	})
	h := NewHandlers(f.svc, engine)
	h.AdminRoutes(app.Group("/admin"))
	h.Routes(app)
	return app
}

type page struct {
	status int
	body   string
	header http.Header
}

// who is a test identity: a customer id, or a staff "id:role".
type who struct {
	customer int64
	staff    string
}

func send(t *testing.T, app *fiber.App, req *http.Request, as who) page {
	t.Helper()
	if as.customer != 0 {
		req.Header.Set("X-Test-Customer", strconv.FormatInt(as.customer, 10))
	}
	if as.staff != "" {
		req.Header.Set("X-Test-Staff", as.staff)
	}
	req.AddCookie(&http.Cookie{Name: "aftercare_csrf", Value: csrfToken})
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
		body = html.UnescapeString(body)
	}
	return page{status: resp.StatusCode, body: body, header: resp.Header}
}

func get(t *testing.T, app *fiber.App, path string, as who) page {
	t.Helper()
	return send(t, app, httptest.NewRequest(http.MethodGet, path, nil), as)
}

func post(t *testing.T, app *fiber.App, path string, form url.Values, as who) page {
	t.Helper()
	form.Set("_csrf", csrfToken)
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, app, req, as)
}

// upload is a file part of a multipart form.
type upload struct {
	field, name, contentType string
	data                     []byte
}

func postMultipart(t *testing.T, app *fiber.App, path string, form url.Values, files []upload, as who) page {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	form.Set("_csrf", csrfToken)
	for k, vs := range form {
		for _, v := range vs {
			w.WriteField(k, v) //nolint:errcheck // bytes.Buffer
		}
	}
	for _, u := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, u.field, u.name))
		h.Set("Content-Type", u.contentType)
		part, _ := w.CreatePart(h)
		part.Write(u.data) //nolint:errcheck // bytes.Buffer
	}
	w.Close()
	req := httptest.NewRequest(http.MethodPost, path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return send(t, app, req, as)
}

func wantStatus(t *testing.T, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d:\n%s", p.status, status, p.body)
	}
}

func wantText(t *testing.T, p page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.body)
		}
	}
}

func returnForm(key string, lines map[int64][2]string, resolution string) url.Values {
	v := url.Values{"key": {key}, "resolution": {resolution}}
	for id, qr := range lines {
		v.Set(fmt.Sprintf("qty_%d", id), qr[0])
		v.Set(fmt.Sprintf("reason_%d", id), qr[1])
	}
	return v
}

func TestShopperReturnsFromTheFormAndGetsALabel(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	f.product("FINAL", "Clearance plate", false, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500}, line{"FINAL", 1, 900})
	f.deliver(o, f.now.Add(-time.Hour))
	app := testApp(t, f)
	ann := who{customer: o.CustomerID}

	p := get(t, app, fmt.Sprintf("/orders/%d/return", o.ID), ann)
	wantStatus(t, p, 200)
	wantText(t, p, "Item MUG", "How many to return", "Final sale: this item cannot be returned.", `name="key"`)
	if p.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("Cache-Control %q", p.header.Get("Cache-Control"))
	}

	form := returnForm("form-key-1", map[int64][2]string{o.Items[0].ID: {"1", ReasonWrongSize}, o.Items[1].ID: {"0", ""}}, "refund")
	p = post(t, app, fmt.Sprintf("/orders/%d/return", o.ID), form, ann)
	wantStatus(t, p, 303)
	loc := p.header.Get("Location")
	if !strings.HasPrefix(loc, "/returns/R-") || !strings.HasSuffix(loc, "?new=1") {
		t.Fatalf("Location %q", loc)
	}
	rma := strings.TrimSuffix(strings.TrimPrefix(loc, "/returns/"), "?new=1")
	again := post(t, app, fmt.Sprintf("/orders/%d/return", o.ID), form, ann)
	if again.status != 303 || again.header.Get("Location") != loc {
		t.Fatalf("the double submit went to %d %q", again.status, again.header.Get("Location"))
	}
	if n := f.count(`SELECT count(*) FROM return_requests`); n != 1 {
		t.Fatalf("%d returns after a double submit", n)
	}

	p = get(t, app, loc, ann)
	wantStatus(t, p, 200)
	wantText(t, p, rma, "Your return label", `src="/returns/`+rma+`/qr.png"`, "How to send it back", "Cancel this return")
	qr := get(t, app, "/returns/"+rma+"/qr.png", ann)
	wantStatus(t, qr, 200)
	if qr.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(qr.body, "\x89PNG") || !strings.Contains(qr.header.Get("Cache-Control"), "private") {
		t.Fatalf("QR code: %q %q", qr.header.Get("Content-Type"), qr.header.Get("Cache-Control"))
	}

	p = post(t, app, "/returns/"+rma+"/cancel", url.Values{}, ann)
	wantStatus(t, p, 303)
	wantText(t, get(t, app, p.header.Get("Location"), ann), "Your return is cancelled.", "Cancelled")
}

func TestTheFormOffersTheGuideBeforeANotWorkingReturn(t *testing.T) {
	f := newFixture(t)
	f.product("KETTLE", "Kettle", true, "## Reset it\nHold the power button for **5 seconds**.\n\n<script>alert(1)</script>")
	o := f.order("ann@example.com", line{"KETTLE", 1, 4900})
	f.deliver(o, f.now.Add(-time.Hour))
	app := testApp(t, f)
	ann := who{customer: o.CustomerID}
	form := returnForm("guide-key", map[int64][2]string{o.Items[0].ID: {"1", ReasonNotWorking}}, "refund")

	p := post(t, app, fmt.Sprintf("/orders/%d/return", o.ID), form, ann)
	wantStatus(t, p, 200)
	wantText(t, p, "try this first", "<strong>5 seconds</strong>", `name="guide_seen" value="1"`, "That fixed it: keep my item")
	if strings.Contains(p.body, "<script>alert") {
		t.Fatal("the guide's script reached the page")
	}
	if n := f.count(`SELECT count(*) FROM return_requests`); n != 0 {
		t.Fatal("a return was made before the shopper confirmed")
	}
	form.Set("guide_seen", "1")
	wantStatus(t, post(t, app, fmt.Sprintf("/orders/%d/return", o.ID), form, ann), 303)
}

func TestForgedFormFieldsAreRefusedWithAMessage(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	ann := f.order("ann@example.com", line{"MUG", 2, 1500})
	bob := f.order("bob@example.com", line{"MUG", 1, 1500})
	f.deliver(ann, f.now.Add(-time.Hour))
	f.deliver(bob, f.now.Add(-time.Hour))
	app := testApp(t, f)
	path := fmt.Sprintf("/orders/%d/return", ann.ID)
	as := who{customer: ann.CustomerID}
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"another customer's order line", returnForm("f1", map[int64][2]string{bob.Items[0].ID: {"1", ReasonWrongSize}}, "refund"), "is not an item of this order"},
		{"more than was bought", returnForm("f2", map[int64][2]string{ann.Items[0].ID: {"5", ReasonWrongSize}}, "refund"), "must be at most 2"},
		{"a quantity that is no number", returnForm("f3", map[int64][2]string{ann.Items[0].ID: {"two", ReasonWrongSize}}, "refund"), "must be a number"},
		{"a reason not offered", returnForm("f4", map[int64][2]string{ann.Items[0].ID: {"1", "free_money"}}, "refund"), "must be one of the reasons listed"},
		{"a resolution not offered", returnForm("f5", map[int64][2]string{ann.Items[0].ID: {"1", ReasonWrongSize}}, "cash"), "must be one of the choices offered"},
		{"no form key", returnForm("", map[int64][2]string{ann.Items[0].ID: {"1", ReasonWrongSize}}, "refund"), "This form is out of date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := post(t, app, path, tt.form, as)
			if p.status != 422 {
				t.Fatalf("status %d", p.status)
			}
			wantText(t, p, tt.want)
		})
	}
	if n := f.count(`SELECT count(*) FROM return_requests`); n != 0 {
		t.Fatalf("%d returns from forged forms", n)
	}
}

func TestAnotherCustomersReturnLooksMissing(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	other := f.order("bob@example.com", line{"MUG", 1, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	app := testApp(t, f)
	bob := who{customer: other.CustomerID}
	for _, path := range []string{
		fmt.Sprintf("/orders/%d/return", o.ID), "/returns/" + r.RMA, "/returns/" + r.RMA + "/qr.png", "/returns/" + r.RMA + "/photos/1",
	} {
		if p := get(t, app, path, bob); p.status != 404 {
			t.Errorf("GET %s as Bob: %d", path, p.status)
		}
	}
	if p := post(t, app, "/returns/"+r.RMA+"/cancel", url.Values{}, bob); p.status != 404 {
		t.Errorf("Bob cancelled Ann's return: %d", p.status)
	}
	if p := get(t, app, "/returns/"+r.RMA, who{}); p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/signin") {
		t.Errorf("a stranger: %d %q", p.status, p.header.Get("Location"))
	}
}
