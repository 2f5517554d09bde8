package commerce

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// fuzzNow is the fixed clock of the decoder fuzz targets, so a corpus entry
// means the same thing on every run.
var fuzzNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// checkDecodeError fails unless err is what the API can answer with: a 400
// for a body that is not one JSON value, or a fault error that names the
// field (or says what the body must be).
func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if fe.Code != fiber.StatusBadRequest || fe.Message == "" {
			t.Fatalf("decode %q: fiber error %d %q", body, fe.Code, fe.Message)
		}
		return
	}
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid {
		t.Fatalf("decode %q: %v (%T) is neither a 400 nor an invalid-field fault", body, err, err)
	}
	for _, f := range e.Fields {
		if f.Field == "" || f.Message == "" {
			t.Fatalf("decode %q: a field error without a field or message: %+v", body, e.Fields)
		}
	}
}

// checkFieldsError fails unless err is a fault.Invalid error listing at
// least one problem, each naming its field.
func checkFieldsError(t *testing.T, what any, err error) {
	t.Helper()
	e, ok := fault.As(err)
	if !ok || e.Kind != fault.Invalid || len(e.Fields) == 0 {
		t.Fatalf("validate %+v: %v (%T) does not name a field", what, err, err)
	}
	for _, f := range e.Fields {
		if f.Field == "" || f.Message == "" {
			t.Fatalf("validate %+v: a field error without a field or message: %+v", what, e.Fields)
		}
	}
}

// FuzzValidateOrder decodes a body as an order and validates it, as the
// order endpoints do, without the database. Properties: decoding errors are
// 400s or name a field; validation errors name fields; an accepted order
// has amounts in range that add up, its canonical form survives a JSON
// round trip byte for byte, and the input re-encoded and decoded again
// validates to the same canonical hash (a retried order is recognized).
func FuzzValidateOrder(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var in OrderInput
		if err := decodeStrict(body, &in); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		d, err := in.validate(fuzzNow)
		if err != nil {
			checkFieldsError(t, in, err)
			return
		}
		for _, v := range []int64{d.Subtotal, d.Discount, d.Shipping, d.Tax, d.Total} {
			if v < 0 || v > maxAmount {
				t.Fatalf("accepted an amount out of range: %+v", d)
			}
		}
		var sum int64
		for _, it := range d.Items {
			if it.Quantity < 1 || it.UnitPrice < 0 || it.SKU == "" {
				t.Fatalf("accepted a bad line: %+v", it)
			}
			sum += int64(it.Quantity) * it.UnitPrice
		}
		if sum != d.Subtotal || d.Total != d.Subtotal-d.Discount+d.Shipping+d.Tax || d.Total < 0 {
			t.Fatalf("accepted amounts that do not add up: %+v", d)
		}
		if d.ExternalID == "" || d.Email == "" || d.Number == "" || !ValidCurrency(d.Currency) {
			t.Fatalf("accepted an order without its identity: %+v", d)
		}
		canon, _ := json.Marshal(d)
		var back orderData
		if err := json.Unmarshal(canon, &back); err != nil {
			t.Fatalf("canonical form does not decode: %v\n%s", err, canon)
		}
		if again, _ := json.Marshal(back); !bytes.Equal(again, canon) {
			t.Fatalf("canonical form changes in a round trip:\n%s\n%s", canon, again)
		}
		re, _ := json.Marshal(in)
		var in2 OrderInput
		if err := decodeStrict(re, &in2); err != nil {
			t.Fatalf("re-encoded input does not decode: %v\n%s", err, re)
		}
		d2, err := in2.validate(fuzzNow)
		if err != nil || !bytes.Equal(d2.hash(), d.hash()) {
			t.Fatalf("the same order validates differently the second time (%v):\n%s\n%s", err, body, re)
		}
	})
}

// FuzzValidateShipment decodes and validates a shipment body. Errors name
// fields; an accepted shipment has its carrier and tracking number
// normalized (validating the normalized form again changes nothing).
func FuzzValidateShipment(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var in ShipmentInput
		if err := decodeStrict(body, &in); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		d, err := in.validate(fuzzNow)
		if err != nil {
			checkFieldsError(t, in, err)
			return
		}
		if d.Carrier == "" || d.TrackingNumber == "" || len(d.Items) > MaxOrderItems {
			t.Fatalf("accepted a shipment without carrier or tracking number: %+v", d)
		}
		again := in
		again.Carrier, again.TrackingNumber = d.Carrier, d.TrackingNumber
		d2, err := again.validate(fuzzNow)
		if err != nil || d2.Carrier != d.Carrier || d2.TrackingNumber != d.TrackingNumber {
			t.Fatalf("normalizing is not stable: %q %q -> %q %q (%v)", d.Carrier, d.TrackingNumber, d2.Carrier, d2.TrackingNumber, err)
		}
	})
}

// FuzzValidateTrackingEvent decodes and validates a tracking event body.
// Errors name fields; an accepted event has a known status, a time, and a
// provider event id (derived deterministically when absent).
func FuzzValidateTrackingEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var in TrackingEventInput
		if err := decodeStrict(body, &in); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		d, err := in.validate(fuzzNow)
		if err != nil {
			checkFieldsError(t, in, err)
			return
		}
		if !d.Status.Valid() || d.OccurredAt.IsZero() || d.ProviderEventID == "" {
			t.Fatalf("accepted an incomplete event: %+v", d)
		}
		d2, _ := in.validate(fuzzNow)
		if d2.ProviderEventID != d.ProviderEventID {
			t.Fatalf("the derived event id is not stable: %q, %q", d.ProviderEventID, d2.ProviderEventID)
		}
	})
}

// FuzzValidateRefund decodes and validates a refund body. Errors name
// fields; an accepted refund has a positive amount in range.
func FuzzValidateRefund(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var in RefundInput
		if err := decodeStrict(body, &in); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		in.OrderID, in.Source = 1, "api"
		r, err := in.validate()
		if err != nil {
			checkFieldsError(t, in, err)
			return
		}
		if r.Amount <= 0 || r.Amount > maxAmount || !ValidCurrency(r.Currency) {
			t.Fatalf("accepted a bad refund: %+v", r)
		}
	})
}
