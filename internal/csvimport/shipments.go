package csvimport

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
)

var shipmentColumns = []string{"order_external_id", "order_source", "carrier", "tracking_number", "tracking_url", "shipped_at",
	"estimated_delivery", "sku", "quantity", "status", "status_at"}

var shipmentRequired = []string{"order_external_id", "carrier", "tracking_number"}

// parcel is one shipment of the file, assembled from its rows.
type parcel struct {
	source, orderID string
	in              commerce.ShipmentInput
	status, at      string
	first           int
	problem         *Failure
}

func (p *parcel) ref() string { return p.in.Carrier + " " + p.in.TrackingNumber }

func (p *parcel) fail(line int, format string, args ...any) {
	if p.problem == nil {
		p.problem = &Failure{Line: line, Ref: p.ref(), Reason: fmt.Sprintf(format, args...)}
	}
}

// Shipments imports a shipments file (see the package documentation): each
// parcel is added to its order (found by source and external id) and,
// with a status, given that status as a tracking event. It returns an
// error, and imports nothing, when the file is not a CSV with the required
// columns; and stops with an error when the database fails.
func (im *Importer) Shipments(ctx context.Context, r io.Reader, o Options) (Summary, error) {
	rows, err := readRows(r, shipmentColumns, shipmentRequired)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Kind: "shipments", Rows: len(rows), DryRun: o.DryRun}
	parcels, loose := assembleParcels(rows, firstOf(o.Source, DefaultSource), o.Notify)
	s.Total = len(parcels) + len(loose)
	s.Failed, s.Failures = len(loose), loose
	for i, p := range parcels {
		out, err := im.parcel(ctx, p, o.DryRun)
		switch {
		case p.problem != nil:
			s.Failed++
			s.Failures = append(s.Failures, *p.problem)
		case err != nil && fault.KindOf(err) == fault.Internal:
			return s, err
		case err != nil:
			s.Failed++
			for _, e := range problems(err) {
				s.Failures = append(s.Failures, Failure{Line: p.first, Ref: p.ref(), Reason: strings.TrimSpace(e.Field + " " + e.Message)})
			}
		case out == commerce.Unchanged:
			s.Unchanged++
		default:
			s.Imported++
		}
		if o.Progress != nil {
			o.Progress(len(loose)+i+1, s.Total)
		}
	}
	return s, nil
}

// parcel records (or in a dry run, looks up) one parcel and its status.
func (im *Importer) parcel(ctx context.Context, p *parcel, dry bool) (commerce.Outcome, error) {
	if p.problem != nil {
		return "", nil
	}
	o, err := im.svc.OrderByExternal(ctx, p.source, p.orderID)
	if fault.KindOf(err) == fault.NotFound {
		return "", fault.Errorf(fault.NotFound, "There is no order %s from %s; import the orders first.", p.orderID, p.source)
	}
	if err != nil {
		return "", err
	}
	eventID := "import:" + p.status + ":" + p.at
	if dry {
		sh, err := im.svc.ShipmentByTracking(ctx, p.in.Carrier, p.in.TrackingNumber)
		switch {
		case fault.KindOf(err) == fault.NotFound:
			return commerce.Created, nil
		case err != nil:
			return "", err
		case sh.OrderID != o.ID:
			return "", fault.Errorf(fault.Conflict, "Tracking number %s of %s belongs to another order.", p.in.TrackingNumber, p.in.Carrier)
		}
		if p.status == "" {
			return commerce.Unchanged, nil
		}
		for _, e := range sh.Events {
			if e.ProviderEventID == eventID {
				return commerce.Unchanged, nil
			}
		}
		return commerce.Updated, nil
	}
	sh, out, err := im.svc.AddShipment(ctx, o.ID, p.in)
	if err != nil || p.status == "" {
		return out, err
	}
	_, _, eout, err := im.svc.AddTrackingEvent(ctx, sh.ID, commerce.TrackingEventInput{Status: p.status, OccurredAt: p.at,
		Detail: "Imported", ProviderEventID: eventID})
	if err != nil {
		return "", err
	}
	if out == commerce.Unchanged && eout == commerce.Created {
		out = commerce.Updated
	}
	return out, nil
}

// assembleParcels groups rows into parcels by carrier and tracking number.
// Without notify, a parcel must say when it shipped: commerce treats a
// parcel without that as news, and its shopper would be told.
func assembleParcels(rows []row, source string, notify bool) ([]*parcel, []Failure) {
	var parcels []*parcel
	var loose []Failure
	byKey := map[string]*parcel{}
	for _, r := range rows {
		carrier, number := r.get("carrier"), r.get("tracking_number")
		if carrier == "" || number == "" || r.get("order_external_id") == "" {
			loose = append(loose, Failure{Line: r.line, Reason: "order_external_id, carrier and tracking_number are required"})
			continue
		}
		key := strings.ToLower(carrier) + "\x00" + strings.ToUpper(strings.Join(strings.Fields(number), ""))
		p := byKey[key]
		if p == nil {
			p = &parcel{source: firstOf(r.get("order_source"), source), orderID: r.get("order_external_id"), first: r.line,
				in: commerce.ShipmentInput{Carrier: carrier, TrackingNumber: number}}
			byKey[key] = p
			parcels = append(parcels, p)
		}
		p.add(r)
	}
	for _, p := range parcels {
		if !notify && p.in.ShippedAt == "" {
			p.fail(p.first, "shipped_at is required for a back-fill (without --notify the shopper must not be told of an old parcel)")
		}
		if (p.status == "") != (p.at == "") {
			p.fail(p.first, "status and status_at go together")
		}
	}
	return parcels, loose
}

// add takes one row into the parcel.
func (p *parcel) add(r row) {
	same := func(name string, dst *string, v string) {
		if v == "" {
			return
		}
		if *dst != "" && *dst != v {
			p.fail(r.line, "%s %q differs from an earlier row of the parcel", name, v)
		}
		*dst = v
	}
	same("order_external_id", &p.orderID, r.get("order_external_id"))
	same("tracking_url", &p.in.TrackingURL, r.get("tracking_url"))
	same("estimated_delivery", &p.in.EstimatedDelivery, r.get("estimated_delivery"))
	same("status", &p.status, r.get("status"))
	for _, c := range []struct {
		name string
		dst  *string
	}{{"shipped_at", &p.in.ShippedAt}, {"status_at", &p.at}} {
		if v := r.get(c.name); v != "" {
			t, err := instant(v)
			if err != nil {
				p.fail(r.line, "%s %v", c.name, err)
				continue
			}
			same(c.name, c.dst, t)
		}
	}
	if p.status != "" && !commerce.ShipmentStatus(p.status).Valid() {
		p.fail(r.line, "status %q is not one of label_created, in_transit, out_for_delivery, attempted_delivery, available_for_pickup, delivered, exception, returned_to_sender", p.status)
	}
	sku, qty := r.get("sku"), r.get("quantity")
	if sku == "" && qty == "" {
		return
	}
	n, err := strconv.Atoi(qty)
	if err != nil || sku == "" {
		p.fail(r.line, "a parcel line needs a sku and a whole quantity")
		return
	}
	p.in.Items = append(p.in.Items, commerce.ShipmentItemInput{SKU: sku, Quantity: n})
}
