package returns

import (
	"bytes"
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// fuzzFieldName is what a problem of the return form may name: the lines,
// the photos, or one line's field.
var fuzzFieldName = regexp.MustCompile(`^(items|photos|items\[[1-9][0-9]*\]\.(quantity|reason|comment|exchange|photos))$`)

// FuzzReturnForm posts arbitrary bodies, as a plain form or as multipart
// with photos, to a small handler that reads them as the return form does
// (parseRequest). Properties: every line read names a positive order line
// id; at most MaxPhotos photos are kept, none longer than MaxPhotoBytes+1
// (the one byte that tells it is too big); a refusal is a fault.Invalid
// error naming the lines, the photos or one line's field.
func FuzzReturnForm(f *testing.F) {
	app := fiber.New()
	var got RequestInput
	var gotErr error
	app.Post("/orders/7/return", func(c *fiber.Ctx) error {
		got, gotErr = parseRequest(c, 7)
		return c.SendStatus(fiber.StatusNoContent)
	})
	f.Fuzz(func(t *testing.T, body []byte, multipart bool) {
		req := httptest.NewRequest("POST", "/orders/7/return", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if multipart {
			req.Header.Set("Content-Type", "multipart/form-data; boundary=FUZZ")
		}
		got, gotErr = RequestInput{}, nil
		resp, err := app.Test(req, -1)
		if err != nil && multipart && strings.Contains(err.Error(), "multipart") {
			// fasthttp refuses a broken multipart body while reading the
			// request, before any handler (a server answers 400).
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status counts
		if resp.StatusCode != fiber.StatusNoContent {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if got.OrderID != 7 {
			t.Fatalf("%q: the order id became %d", body, got.OrderID)
		}
		photos := 0
		for _, it := range got.Items {
			if it.OrderItemID <= 0 {
				t.Fatalf("%q: a line with id %d", body, it.OrderItemID)
			}
			for _, p := range it.Photos {
				photos++
				if len(p.Data) > MaxPhotoBytes+1 {
					t.Fatalf("%q: kept a photo of %d bytes", body, len(p.Data))
				}
			}
		}
		if photos > MaxPhotos {
			t.Fatalf("%q: kept %d photos", body, photos)
		}
		if gotErr == nil {
			return
		}
		e, ok := fault.As(gotErr)
		if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 {
			t.Fatalf("%q: %v does not name a field", body, gotErr)
		}
		for _, fe := range e.Fields {
			if !fuzzFieldName.MatchString(fe.Field) || fe.Message == "" {
				t.Fatalf("%q: a problem on %q: %q", body, fe.Field, fe.Message)
			}
		}
	})
}
