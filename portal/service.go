package portal

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Service turns a customer's orders into what the shopper pages show. It
// knows nothing of HTTP; the clock is injected so that "today" is testable.
type Service struct {
	orders *Orders
	now    func() time.Time
}

// NewService returns the service over orders; now defaults to time.Now.
func NewService(orders *Orders, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{orders: orders, now: now}
}

// OrderCard is one order in "My orders".
type OrderCard struct {
	ID         int64
	Number     string
	Placed     string // "3 March 2026" in the store's zone
	PlacedISO  string
	ItemCount  int
	Currency   string
	TotalMinor int64
	State      string // OrderState code, also the badge's class
	StateLabel string
}

// OrderView is the order page.
type OrderView struct {
	ID                                                                int64
	Number                                                            string
	Placed, PlacedISO                                                 string
	Currency                                                          string
	SubtotalMinor, DiscountMinor, ShippingMinor, TaxMinor, TotalMinor int64
	DiscountCodes                                                     []string
	State, StateLabel                                                 string
	// Notice explains a cancelled or refunded order; empty otherwise.
	Notice    string
	Items     []ItemLine
	Shipments []ShipmentView
}

// ItemLine is one line of the order with its line total.
type ItemLine struct {
	Title, SKU, ImageURL string
	Quantity             int
	UnitPriceMinor       int64
	LineTotalMinor       int64
}

// ShipmentView is one parcel on the order page.
type ShipmentView struct {
	ID             int64
	Heading        string // "Parcel 1 of 2", or "Your parcel" when there is one
	Carrier        string
	TrackingNumber string
	TrackingLink   string // "" when there is no page to link to
	ETA, ETAISO    string // "" when unknown or no longer relevant
	Banner         Banner
	Items          []ShipmentItem
	Timeline       []TimelineEntry
}

// TimelineEntry is one tracking event, newest first, in the store's zone.
type TimelineEntry struct {
	ISO      string // for <time datetime>
	When     string // "Tue 3 Mar, 14:05"
	Status   string
	Label    string
	Detail   string
	Location string
}

// MyOrders lists every order of the customer, newest first, with dates in
// loc. It returns an empty list when the customer has none.
func (s *Service) MyOrders(ctx context.Context, customerID int64, loc *time.Location) ([]OrderCard, error) {
	rows, err := s.orders.List(ctx, customerID)
	if err != nil {
		return nil, err
	}
	cards := make([]OrderCard, 0, len(rows))
	for _, r := range rows {
		cards = append(cards, OrderCard{
			ID: r.ID, Number: r.Number, Placed: placedWords(r.PlacedAt, loc),
			PlacedISO: r.PlacedAt.In(loc).Format(time.RFC3339), ItemCount: r.ItemCount,
			Currency: r.Currency, TotalMinor: r.TotalMinor, State: r.State, StateLabel: StatusLabel(r.State),
		})
	}
	return cards, nil
}

// Order returns the order page of one of the customer's orders. It returns a
// fault.NotFound error for a missing order and for another customer's order.
func (s *Service) Order(ctx context.Context, customerID, orderID int64, loc *time.Location) (OrderView, error) {
	return s.orderAt(ctx, customerID, orderID, loc, s.now())
}

// orderAt is Order as of now.
func (s *Service) orderAt(ctx context.Context, customerID, orderID int64, loc *time.Location, now time.Time) (OrderView, error) {
	o, err := s.orders.Get(ctx, customerID, orderID)
	if err != nil {
		return OrderView{}, err
	}
	statuses := make([]string, len(o.Shipments))
	for i, sh := range o.Shipments {
		statuses[i] = sh.Status
	}
	v := OrderView{
		ID: o.ID, Number: o.Number, Placed: placedWords(o.PlacedAt, loc),
		PlacedISO: o.PlacedAt.In(loc).Format(time.RFC3339), Currency: o.Currency,
		SubtotalMinor: o.SubtotalMinor, DiscountMinor: o.DiscountMinor, ShippingMinor: o.ShippingMinor,
		TaxMinor: o.TaxMinor, TotalMinor: o.TotalMinor, DiscountCodes: o.DiscountCodes,
		State: OrderState(o.Status, statuses),
	}
	v.StateLabel = StatusLabel(v.State)
	// The page writes the minus sign itself, whichever sign the store sent.
	if v.DiscountMinor < 0 {
		v.DiscountMinor = -v.DiscountMinor
	}
	switch o.Status {
	case "cancelled":
		v.Notice = "This order was cancelled."
	case "refunded":
		v.Notice = "This order was refunded."
	case "partially_refunded":
		v.Notice = "Part of this order was refunded."
	}
	for _, it := range o.Items {
		v.Items = append(v.Items, ItemLine{
			Title: it.Title, SKU: it.SKU, ImageURL: it.ImageURL, Quantity: it.Quantity,
			UnitPriceMinor: it.UnitPriceMinor, LineTotalMinor: it.UnitPriceMinor * int64(it.Quantity),
		})
	}
	for i, sh := range o.Shipments {
		sv := shipmentView(sh, now, loc)
		sv.Heading = "Your parcel"
		if len(o.Shipments) > 1 {
			sv.Heading = fmt.Sprintf("Parcel %d of %d", i+1, len(o.Shipments))
		}
		v.Shipments = append(v.Shipments, sv)
	}
	return v, nil
}

func shipmentView(sh Shipment, now time.Time, loc *time.Location) ShipmentView {
	today := civilDate(now, loc)
	sv := ShipmentView{
		ID: sh.ID, Carrier: CarrierName(sh.Carrier), TrackingNumber: sh.TrackingNumber,
		TrackingLink: TrackingLink(sh.Carrier, sh.TrackingNumber, sh.TrackingURL),
		Banner:       StatusBanner(sh, now, loc), Items: sh.Items,
	}
	// Once the parcel has arrived or gone back, an estimate only confuses.
	if sh.EstimatedDelivery != nil && sh.Status != "delivered" && sh.Status != "returned_to_sender" {
		eta := etaDate(*sh.EstimatedDelivery)
		sv.ETA, sv.ETAISO = dayMonth(eta, today), eta.Format(time.DateOnly)
	}
	for _, ev := range sh.Events {
		e := TimelineEntry{
			ISO: ev.OccurredAt.In(loc).Format(time.RFC3339), When: eventTime(ev.OccurredAt, today, loc),
			Status: ev.Status, Label: StatusLabel(ev.Status), Detail: ev.Detail, Location: ev.Location,
		}
		// Carriers often repeat the status as the detail ("Delivered — Delivered").
		if strings.EqualFold(strings.TrimSpace(e.Detail), e.Label) {
			e.Detail = ""
		}
		sv.Timeline = append(sv.Timeline, e)
	}
	return sv
}

// eventTime is "Tue 3 Mar, 14:05" in loc, with the year when it is not this one.
func eventTime(t, today time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Year() != today.Year() {
		return t.Format("Mon 2 Jan 2006, 15:04")
	}
	return t.Format("Mon 2 Jan, 15:04")
}

// placedWords is the order date, "3 March 2026", in loc.
func placedWords(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2 January 2006")
}

// stateRank orders shipment statuses for an order's summary: states that need
// the shopper's attention first, then the least advanced.
var stateRank = map[string]int{
	"returned_to_sender":   0,
	"exception":            1,
	"attempted_delivery":   2,
	"label_created":        3,
	"in_transit":           4,
	"out_for_delivery":     5,
	"available_for_pickup": 6,
	"delivered":            7,
}

// OrderState is the one-word state of an order for its badge: "cancelled" or
// "refunded" from the order's own status; "processing" while nothing has
// shipped; otherwise the shipment status that needs attention or, failing
// that, the least advanced one (an order is delivered when all of it is).
func OrderState(orderStatus string, shipmentStatuses []string) string {
	switch orderStatus {
	case "cancelled", "refunded":
		return orderStatus
	}
	state, best := "processing", len(stateRank)
	for _, s := range shipmentStatuses {
		r, ok := stateRank[s]
		if !ok {
			continue
		}
		if r < best {
			state, best = s, r
		}
	}
	return state
}
