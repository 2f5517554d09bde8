package commerce

import (
	"bytes"

	"github.com/gofiber/fiber/v2"
)

// cancelInput is the optional body of POST /orders/{id}/cancel.
type cancelInput struct {
	Reason string `json:"reason"`
}

// postRefund records a refund the store made (source api); a retry with the
// same reference answers 200 with the stored refund.
func (a *API) postRefund(c *fiber.Ctx) error {
	id, err := pathID(c, "order")
	if err != nil {
		return err
	}
	var in RefundInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	in.OrderID, in.Source = id, RefundFromAPI
	r, out, err := a.svc.RefundOrder(c.UserContext(), in)
	if err != nil {
		return err
	}
	o, err := a.svc.Order(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.Status(statusOf(out)).JSON(struct {
		Refund
		Outcome Outcome `json:"outcome"`
		Order   Order   `json:"order"`
	}{r, out, o})
}

// postCancel cancels an order; the body, with a reason, may be left out.
func (a *API) postCancel(c *fiber.Ctx) error {
	id, err := pathID(c, "order")
	if err != nil {
		return err
	}
	var in cancelInput
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	o, out, err := a.svc.CancelOrder(c.UserContext(), id, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(orderJSON{o, out})
}
