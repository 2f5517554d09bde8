package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/integrations"
)

// fulfillment is the part of a Shopify fulfillment that Aftercare reads.
type fulfillment struct {
	ID              id       `json:"id"`
	OrderID         id       `json:"order_id"`
	Status          string   `json:"status"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
	TrackingCompany string   `json:"tracking_company"`
	TrackingNumber  string   `json:"tracking_number"`
	TrackingNumbers []string `json:"tracking_numbers"`
	TrackingURL     string   `json:"tracking_url"`
	TrackingURLs    []string `json:"tracking_urls"`
	ShipmentStatus  string   `json:"shipment_status"`
	LineItems       []struct {
		ID        id     `json:"id"`
		SKU       string `json:"sku"`
		VariantID id     `json:"variant_id"`
		ProductID id     `json:"product_id"`
		Quantity  int    `json:"quantity"`
	} `json:"line_items"`
}

func decodeFulfillment(body []byte) (fulfillment, error) {
	var wrapped struct {
		Fulfillment *fulfillment `json:"fulfillment"`
	}
	if err := json.Unmarshal(body, &wrapped); err == nil && wrapped.Fulfillment != nil {
		return *wrapped.Fulfillment, nil
	}
	var f fulfillment
	if err := json.Unmarshal(body, &f); err != nil {
		return f, integrations.Permanent(fmt.Errorf("shopify: fulfillment body: %w", err))
	}
	if f.ID == "" || f.OrderID == "" {
		return f, integrations.Permanent(fmt.Errorf("shopify: fulfillment without id or order_id"))
	}
	return f, nil
}

// parcels are the fulfillment's tracking numbers, each with its URL.
func (f fulfillment) parcels() (numbers, urls []string) {
	seen := map[string]bool{}
	all := f.TrackingNumbers
	if len(all) == 0 {
		all = []string{f.TrackingNumber}
	}
	for i, n := range all {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		u := f.TrackingURL
		if i < len(f.TrackingURLs) {
			u = f.TrackingURLs[i]
		}
		numbers, urls = append(numbers, n), append(urls, webURL(u))
	}
	return numbers, urls
}

// webURL keeps u only if it is an absolute http(s) URL, as commerce wants.
func webURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u) > 2000 {
		return ""
	}
	return strings.TrimSpace(u)
}

// applyFulfillment records each tracking number of a fulfillment as a
// shipment of its order carrying the fulfillment's lines, and its
// shipment_status as a tracking event.
func (p *Provider) applyFulfillment(ctx context.Context, body []byte) (string, error) {
	f, err := decodeFulfillment(body)
	if err != nil {
		return "", err
	}
	switch f.Status {
	case "cancelled", "error", "failure":
		return integrations.Ignored("fulfillment %s is %s", f.ID, f.Status), nil
	}
	numbers, urls := f.parcels()
	if len(numbers) == 0 {
		return integrations.Ignored("fulfillment %s has no tracking number yet", f.ID), nil
	}
	o, err := p.d.Commerce.OrderByExternal(ctx, Name, string(f.OrderID))
	if err != nil {
		return "", err // not found: the order's webhook may still be on its way
	}
	var want []wanted
	for _, li := range f.LineItems {
		want = append(want, wanted{sku: integrations.Text(skuOf(li.SKU, li.VariantID, li.ProductID, li.ID), 100), quantity: li.Quantity})
	}
	split, err := splitParcels(o, want, numbers)
	if err != nil {
		return "", integrations.Permanent(fmt.Errorf("shopify: fulfillment %s: %w", f.ID, err))
	}
	shippedAt, _ := integrations.ParseTime(f.CreatedAt)
	var notes []string
	for i, number := range numbers {
		if split != nil && len(split[i]) == 0 {
			notes = append(notes, "no line left for "+number)
			continue
		}
		in := commerce.ShipmentInput{Carrier: integrations.CarrierSlug(f.TrackingCompany), TrackingNumber: number,
			TrackingURL: urls[i], ShippedAt: shippedAt}
		if split != nil {
			in.Items = split[i]
		}
		sh, out, err := p.d.Commerce.AddShipment(ctx, o.ID, in)
		if err != nil {
			return "", err
		}
		if i == 0 {
			if err := p.d.Resources.Link(ctx, Name, "fulfillment", string(f.ID), sh.ID); err != nil {
				return "", err
			}
		}
		note := fmt.Sprintf("shipment %d %s", sh.ID, out)
		if st := strings.TrimSpace(f.ShipmentStatus); st != "" {
			status, ok := ShipmentStatus(st)
			if !ok {
				p.d.Log.Warn("shopify shipment status not mapped", "status", st, "fulfillment", f.ID)
				note += fmt.Sprintf(" (status %q left out: unknown)", st)
			} else if _, _, eout, err := p.d.Commerce.AddTrackingEvent(ctx, sh.ID, commerce.TrackingEventInput{
				Status: string(status), OccurredAt: firstOf(f.UpdatedAt, f.CreatedAt), Detail: "Shopify: " + st,
				ProviderEventID: "shopify-fulfillment:" + string(f.ID) + ":" + st,
			}); err != nil {
				return "", err
			} else {
				note += fmt.Sprintf(", %s %s", status, eout)
			}
		}
		notes = append(notes, note)
	}
	return strings.Join(notes, "; "), nil
}

// wanted is a fulfillment line: so many units of a SKU.
type wanted struct {
	sku      string
	quantity int
}

// splitParcels names the order lines of a fulfillment by line number
// (a SKU may sit on several lines; the first with units not yet shipped
// takes them) and spreads its units over n parcels, in order, as evenly as
// they go. Shipments already recorded under these tracking numbers (an
// update of the fulfillment) do not count as shipped: they are this
// fulfillment. It returns nil when the fulfillment lists no lines (each
// parcel then carries whatever is not shipped yet); a parcel may get
// nothing when there are more parcels than units.
func splitParcels(o commerce.Order, want []wanted, numbers []string) ([][]commerce.ShipmentItemInput, error) {
	if len(want) == 0 {
		return nil, nil
	}
	n := len(numbers)
	ours := map[string]bool{}
	for _, num := range numbers {
		ours[strings.ToUpper(strings.Join(strings.Fields(num), ""))] = true
	}
	left := map[int]int{}
	for _, it := range o.Items {
		left[it.LineNo] = it.Quantity
	}
	for _, sh := range o.Shipments {
		if ours[sh.TrackingNumber] {
			continue
		}
		for _, si := range sh.Items {
			left[si.LineNo] -= si.Quantity
		}
	}
	var units []int // one line number per unit
	for _, w := range want {
		need := w.quantity
		for _, it := range o.Items {
			if need == 0 {
				break
			}
			if it.SKU != w.sku || left[it.LineNo] <= 0 {
				continue
			}
			take := min(need, left[it.LineNo])
			left[it.LineNo] -= take
			need -= take
			for k := 0; k < take; k++ {
				units = append(units, it.LineNo)
			}
		}
	}
	if len(units) == 0 {
		return nil, fault.Errorf(fault.Invalid, "none of its lines is on the order with units left to ship")
	}
	out := make([][]commerce.ShipmentItemInput, n)
	for i := 0; i < n; i++ {
		qty := map[int]int{}
		var order []int
		for _, line := range units[i*len(units)/n : (i+1)*len(units)/n] {
			if qty[line] == 0 {
				order = append(order, line)
			}
			qty[line]++
		}
		for _, line := range order {
			out[i] = append(out[i], commerce.ShipmentItemInput{LineNo: line, Quantity: qty[line]})
		}
	}
	return out, nil
}
