package portal

import (
	"time"
)

// Banner is a shipment's status in plain words: a headline and, when there
// is something useful to add, a second line.
type Banner struct {
	Status   string // the shipment status, for styling
	Headline string
	Detail   string
}

// StatusBanner words the state of sh for a shopper. Days ("today",
// "tomorrow", "Tuesday 3 March") are calendar days in loc, the store's time
// zone, as of now.
func StatusBanner(sh Shipment, now time.Time, loc *time.Location) Banner {
	b := Banner{Status: sh.Status}
	today := civilDate(now, loc)
	carrier := CarrierName(sh.Carrier)
	switch sh.Status {
	case "label_created":
		b.Headline = "Preparing your parcel"
		b.Detail = "Label created, waiting for " + carrier + " to pick it up"
	case "in_transit":
		b.Headline = "On its way"
		if sh.EstimatedDelivery != nil {
			b.Detail = arrivalWords(etaDate(*sh.EstimatedDelivery), today)
		}
	case "out_for_delivery":
		b.Headline = "Out for delivery today"
	case "attempted_delivery":
		b.Headline = "Delivery attempted — " + carrier + " will try again or leave a notice"
	case "available_for_pickup":
		b.Headline = "Ready for pickup"
		if ev, ok := latestEvent(sh, sh.Status); ok && ev.Location != "" {
			b.Detail = "At " + ev.Location
		}
	case "delivered":
		b.Headline = deliveredWords(sh, today, loc)
	case "exception":
		b.Headline = "There's a problem with the delivery"
		if ev, ok := latestEvent(sh, sh.Status); ok {
			b.Detail = ev.Detail
		}
	case "returned_to_sender":
		b.Headline = "Returned to sender"
	default:
		b.Headline = StatusLabel(sh.Status)
	}
	return b
}

// arrivalWords words an expected delivery date relative to today.
func arrivalWords(eta, today time.Time) string {
	switch d := daysBetween(today, eta); {
	case d == 0:
		return "Arriving today"
	case d == 1:
		return "Arriving tomorrow"
	case d < 0:
		// The carrier's estimate has passed; saying "expected" a past day reads as a mistake.
		return "Running late — it was expected " + dayMonth(eta, today)
	default:
		return "Expected " + dayMonth(eta, today)
	}
}

func deliveredWords(sh Shipment, today time.Time, loc *time.Location) string {
	var at time.Time
	switch {
	case sh.DeliveredAt != nil:
		at = *sh.DeliveredAt
	default:
		ev, ok := latestEvent(sh, "delivered")
		if !ok || ev.Status != "delivered" {
			return "Delivered"
		}
		at = ev.OccurredAt
	}
	day := civilDate(at, loc)
	switch daysBetween(day, today) {
	case 0:
		return "Delivered today"
	case 1:
		return "Delivered yesterday"
	}
	return "Delivered on " + dayMonth(day, today)
}

// latestEvent returns the newest event with the given status, or else the
// newest event at all: a late scan of another status may be newer than the
// one that set the shipment's status.
func latestEvent(sh Shipment, status string) (TrackingEvent, bool) {
	for _, ev := range sh.Events {
		if ev.Status == status {
			return ev, true
		}
	}
	if len(sh.Events) > 0 {
		return sh.Events[0], true
	}
	return TrackingEvent{}, false
}

// StatusLabel is the short name of a shipment or order state, for badges and
// the timeline.
func StatusLabel(status string) string {
	switch status {
	case "processing":
		return "Processing"
	case "cancelled":
		return "Cancelled"
	case "refunded":
		return "Refunded"
	case "label_created":
		return "Label created"
	case "in_transit":
		return "In transit"
	case "out_for_delivery":
		return "Out for delivery"
	case "attempted_delivery":
		return "Delivery attempted"
	case "available_for_pickup":
		return "Ready for pickup"
	case "delivered":
		return "Delivered"
	case "exception":
		return "Delivery problem"
	case "returned_to_sender":
		return "Returned to sender"
	}
	return "Update"
}

// civilDate is t's calendar day in loc, as midnight UTC so that day
// arithmetic never meets a daylight-saving jump.
func civilDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// etaDate reads a PostgreSQL date (scanned as midnight in some zone) as a
// calendar day without shifting it.
func etaDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts calendar days from a to b, both from civilDate.
func daysBetween(a, b time.Time) int {
	return int(b.Sub(a).Hours() / 24)
}

// dayMonth is "Tuesday 3 March", with the year only when it is not today's.
func dayMonth(day, today time.Time) string {
	if day.Year() != today.Year() {
		return day.Format("Monday 2 January 2006")
	}
	return day.Format("Monday 2 January")
}
