package commerce

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// batchTimeout bounds a back-fill request: 500 orders may need longer than
// the per-request database deadline (on a loaded database, or when a run
// falls back to one transaction per order), yet must finish within the
// server's write timeout.
const batchTimeout = 25 * time.Second

// API is the JSON API v1 through which a store pushes products, orders,
// shipments, tracking events, refunds and cancellations. Its handlers only parse, call the Service
// and render; every error is a fault or Fiber error, which the server writes
// as RFC 9457 problem+json.
type API struct{ svc *Service }

// NewAPI returns the API over svc.
func NewAPI(svc *Service) *API { return &API{svc: svc} }

// Routes mounts the API on r, which the caller mounts at /api/v1 behind the
// API-key check. GET /openapi.json is among them; it needs no key, so the
// caller may mount OpenAPIHandler before the key check as well.
func (a *API) Routes(r fiber.Router) {
	r.Get("/openapi.json", OpenAPIHandler)
	r.Put("/products/:sku", a.putProduct)
	r.Post("/orders", a.postOrder)
	r.Post("/orders/batch", a.postOrders)
	r.Get("/orders/:id", a.getOrder)
	r.Post("/orders/:id/shipments", a.postShipment)
	r.Post("/orders/:id/refunds", a.postRefund)
	r.Post("/orders/:id/cancel", a.postCancel)
	r.Get("/shipments/:id", a.getShipment)
	r.Post("/shipments/:id/events", a.postEvent)
}

func (a *API) putProduct(c *fiber.Ctx) error {
	sku, err := url.PathUnescape(c.Params("sku"))
	if err != nil {
		return fault.Field("sku", "is not a valid path segment")
	}
	var in ProductInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, out, err := a.svc.UpsertProduct(c.UserContext(), sku, in)
	if err != nil {
		return err
	}
	return c.Status(statusOf(out)).JSON(struct {
		Product
		Outcome Outcome `json:"outcome"`
	}{p, out})
}

func (a *API) postOrder(c *fiber.Ctx) error {
	var in OrderInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	o, out, err := a.svc.UpsertOrder(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(statusOf(out)).JSON(orderJSON{o, out})
}

// postOrders decodes each order on its own, so that one order with an
// unknown field or a wrong type fails alone, like one that fails validation.
func (a *API) postOrders(c *fiber.Ctx) error {
	var body struct {
		Orders []json.RawMessage `json:"orders"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if len(body.Orders) == 0 || len(body.Orders) > MaxBatch {
		return fault.Field("orders", fmt.Sprintf("must list 1 to %d orders", MaxBatch))
	}
	results := make([]BatchResult, len(body.Orders))
	var ins []OrderInput
	var at []int
	for i, raw := range body.Orders {
		var in OrderInput
		if err := decodeStrict(raw, &in); err != nil {
			results[i] = BatchResult{Index: i, Outcome: BatchFailed, Errors: problems(err)}
			continue
		}
		ins, at = append(ins, in), append(at, i)
	}
	if len(ins) > 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), batchTimeout)
		defer cancel()
		done, err := a.svc.UpsertOrders(ctx, ins)
		if err != nil {
			return err
		}
		for j, r := range done {
			r.Index = at[j]
			results[at[j]] = r
		}
	}
	summary := map[Outcome]int{Created: 0, Updated: 0, Unchanged: 0, BatchFailed: 0}
	for _, r := range results {
		summary[r.Outcome]++
	}
	return c.JSON(fiber.Map{"results": results, "summary": summary})
}

func (a *API) getOrder(c *fiber.Ctx) error {
	id, err := pathID(c, "order")
	if err != nil {
		return err
	}
	o, err := a.svc.Order(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(orderJSON{Order: o})
}

func (a *API) postShipment(c *fiber.Ctx) error {
	id, err := pathID(c, "order")
	if err != nil {
		return err
	}
	var in ShipmentInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	sh, out, err := a.svc.AddShipment(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(statusOf(out)).JSON(shipmentJSON{sh, out})
}

func (a *API) getShipment(c *fiber.Ctx) error {
	id, err := pathID(c, "shipment")
	if err != nil {
		return err
	}
	sh, err := a.svc.Shipment(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(shipmentJSON{Shipment: sh})
}

func (a *API) postEvent(c *fiber.Ctx) error {
	id, err := pathID(c, "shipment")
	if err != nil {
		return err
	}
	var in TrackingEventInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ev, sh, out, err := a.svc.AddTrackingEvent(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(statusOf(out)).JSON(struct {
		TrackingEvent
		Outcome  Outcome  `json:"outcome"`
		Shipment Shipment `json:"shipment"`
	}{ev, out, sh})
}

// orderJSON and shipmentJSON add the outcome of a write; reads omit it.
type orderJSON struct {
	Order
	Outcome Outcome `json:"outcome,omitempty"`
}

type shipmentJSON struct {
	Shipment
	Outcome Outcome `json:"outcome,omitempty"`
}

func statusOf(out Outcome) int {
	if out == Created {
		return fiber.StatusCreated
	}
	return fiber.StatusOK
}

// pathID reads the :id parameter; anything but a positive integer names no
// record, so it is a 404 like an unknown id.
func pathID(c *fiber.Ctx, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.Errorf(fault.NotFound, "There is no such %s.", what)
	}
	return id, nil
}

// problems turns a decoding or validation error of one batch entry into
// its field list.
func problems(err error) []fault.FieldError {
	if de, ok := fault.As(err); ok && len(de.Fields) > 0 {
		return de.Fields
	}
	if de, ok := fault.As(err); ok {
		return []fault.FieldError{{Message: de.Message}}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return []fault.FieldError{{Message: fe.Message}}
	}
	return []fault.FieldError{{Message: "could not be read"}}
}

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIHandler serves the OpenAPI 3.1 description of the API v1. It
// needs no API key; mount it at /api/v1/openapi.json before the key check.
func OpenAPIHandler(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openAPIDocument)
}
