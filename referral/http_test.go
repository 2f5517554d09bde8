package referral

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/web"
)

// csrfToken is a valid double-submit token (43 characters) for test posts.
var csrfToken = strings.Repeat("t", 43)

// testApp is the server with the referral routes. The headers X-Customer
// and X-Staff-Role stand in for the sign-in middleware of shoppers and
// staff (they set the same locals).
func testApp(t *testing.T, w *world) *fiber.App {
	t.Helper()
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	app := server.New(server.Options{DB: w.db, Logger: slog.New(slog.DiscardHandler), Views: views})
	h := NewHandlers(w.svc, false)
	h.PublicRoutes(app)
	app.Use(func(c *fiber.Ctx) error {
		if id, err := strconv.ParseInt(c.Get("X-Customer"), 10, 64); err == nil {
			c.Locals("customerID", id)
		}
		if role := c.Get("X-Staff-Role"); role != "" {
			c.Locals("staff", staff.Member{ID: 7, Name: "Sam Support", Email: "sam@store.test", Role: staff.Role(role)})
		}
		return c.Next()
	})
	h.ShopperRoutes(app)
	h.AdminRoutes(app.Group("/admin"))
	return app
}

func do(t *testing.T, app *fiber.App, req *http.Request, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	for k, v := range headers {
		if k == "Cookie" {
			req.Header.Add("Cookie", v)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func get(t *testing.T, app *fiber.App, path string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	return do(t, app, httptest.NewRequest("GET", path, nil), headers)
}

func post(t *testing.T, app *fiber.App, path string, form url.Values, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	form.Set("_csrf", csrfToken)
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Add("Cookie", "aftercare_csrf="+csrfToken)
	return do(t, app, req, headers)
}

// cookie returns the value of a cookie the response set.
func cookie(resp *http.Response, name string) string {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
