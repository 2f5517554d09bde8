package integrations

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// Routes mounts the inbox on app: POST /webhooks/:provider. It needs no
// session and no CSRF token (the server exempts /webhooks/); the signature
// is the authentication.
func (in *Inbox) Routes(app fiber.Router) {
	app.Post("/webhooks/:provider", in.receive)
}

// receive answers a delivery quickly: 200 once it is stored (or was stored
// before, or is a set-up ping), 401 for a bad or missing signature, 400 for
// a body the provider cannot have sent, 404 for an unknown provider. Every
// refusal is a problem+json document and stores nothing.
func (in *Inbox) receive(c *fiber.Ctx) error {
	d := Delivery{Header: http.Header{}, Body: bytes.Clone(c.Body())}
	c.Request().Header.VisitAll(func(k, v []byte) {
		d.Header.Add(string(k), string(v))
	})
	r, err := in.Accept(c.UserContext(), c.Params("provider"), d)
	switch {
	case errors.Is(err, ErrUnknownProvider):
		return fault.Errorf(fault.NotFound, "There is no integration called %q.", c.Params("provider"))
	case errors.Is(err, ErrSignature):
		return fault.Errorf(fault.Unauthorized, "The webhook signature is missing or does not match the secret set in Aftercare.")
	case errors.Is(err, ErrNotConfigured):
		return fault.Errorf(fault.Unauthorized, "This integration has no signing secret yet; set one in Aftercare's settings.")
	case IsMalformed(err):
		return fiber.NewError(fiber.StatusBadRequest, "The webhook body cannot be read: "+err.Error())
	case err != nil:
		return err
	}
	status := "accepted"
	switch {
	case r.Ping:
		status = "pong"
	case r.Duplicate:
		status = "duplicate"
	}
	return c.JSON(fiber.Map{"status": status})
}
