package reviews

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// FuzzReviewForm posts arbitrary form bodies to a small handler that reads
// them as the review form does (formInput, then normalize). Properties:
// what is kept is valid UTF-8, trimmed, free of control characters (new
// lines only in the body) and within the limits; normalizing again changes
// nothing; a refusal names the form's fields.
func FuzzReviewForm(f *testing.F) {
	app := fiber.New()
	var got Input
	var gotErr error
	app.Post("/review", func(c *fiber.Ctx) error {
		got, gotErr = formInput(c).normalize()
		return c.SendStatus(fiber.StatusNoContent)
	})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/review", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		got, gotErr = Input{}, nil
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status counts
		if resp.StatusCode != fiber.StatusNoContent {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if gotErr != nil {
			e, ok := fault.As(gotErr)
			if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 {
				t.Fatalf("%q: %v does not name a field", body, gotErr)
			}
			for _, fe := range e.Fields {
				if fe.Field != "rating" && fe.Field != "title" && fe.Field != "body" {
					t.Fatalf("%q: a problem on an unknown field %q", body, fe.Field)
				}
			}
			return
		}
		if got.Rating < 1 || got.Rating > 5 {
			t.Fatalf("%q: accepted rating %d", body, got.Rating)
		}
		for name, s := range map[string]string{"title": got.Title, "body": got.Body} {
			if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
				t.Fatalf("%q: %s %q is not clean UTF-8, trimmed", body, name, s)
			}
			for _, r := range s {
				if (r < 0x20 && !(r == '\n' && name == "body")) || r == 0x7f {
					t.Fatalf("%q: %s %q keeps control character %U", body, name, s, r)
				}
			}
		}
		if utf8.RuneCountInString(got.Title) > MaxTitle || utf8.RuneCountInString(got.Body) > MaxBody {
			t.Fatalf("%q: accepted text over the limits", body)
		}
		if again, err := got.normalize(); err != nil || again != got {
			t.Fatalf("%q: normalizing twice differs: %+v -> %+v (%v)", body, got, again, err)
		}
	})
}
