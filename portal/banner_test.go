package portal

import (
	"reflect"
	"testing"
	"time"
)

func eta(day string) *time.Time {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return &t
}

func at(s string) *time.Time { t := utc(s); return &t }

func TestStatusBannerWordsEachStateForTheShopper(t *testing.T) {
	// Tuesday 3 March 2026, 10:00 UTC, unless a case says otherwise.
	const now = "2026-03-03T10:00:00Z"
	pickup := []TrackingEvent{
		{Status: "available_for_pickup", Location: "Main Street Post Office", OccurredAt: utc("2026-03-03T08:00:00Z")},
		{Status: "in_transit", Location: "Depot", OccurredAt: utc("2026-03-02T08:00:00Z")},
	}
	// A late in_transit scan arrived after the exception; the banner still explains the exception.
	problem := []TrackingEvent{
		{Status: "in_transit", Detail: "Scanned at depot", OccurredAt: utc("2026-03-03T09:00:00Z")},
		{Status: "exception", Detail: "Address incomplete", OccurredAt: utc("2026-03-03T08:00:00Z")},
	}
	tests := []struct {
		name, zone, now  string
		sh               Shipment
		headline, detail string
	}{
		{"a new label waits for the carrier", "UTC", now,
			Shipment{Status: "label_created", Carrier: "ups"},
			"Preparing your parcel", "Label created, waiting for UPS to pick it up"},
		{"in transit without an estimate says only that", "UTC", now,
			Shipment{Status: "in_transit", Carrier: "UPS"}, "On its way", ""},
		{"in transit arriving today", "Europe/London", now,
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2026-03-03")}, "On its way", "Arriving today"},
		{"in transit arriving tomorrow", "Europe/London", now,
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2026-03-04")}, "On its way", "Arriving tomorrow"},
		{"in transit expected next week names the day", "Europe/London", now,
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2026-03-10")}, "On its way", "Expected Tuesday 10 March"},
		{"in transit expected next year names the year", "UTC", "2026-12-30T10:00:00Z",
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2027-01-04")}, "On its way", "Expected Monday 4 January 2027"},
		{"in transit past its estimate is running late", "UTC", now,
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2026-03-02")}, "On its way",
			"Running late — it was expected Monday 2 March"},
		{"just after midnight in Tokyo the estimate is today", "Asia/Tokyo", "2026-03-03T15:30:00Z",
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2026-03-04")}, "On its way", "Arriving today"},
		{"the same instant in UTC the estimate is tomorrow", "UTC", "2026-03-03T15:30:00Z",
			Shipment{Status: "in_transit", EstimatedDelivery: eta("2026-03-04")}, "On its way", "Arriving tomorrow"},
		{"out for delivery", "UTC", now, Shipment{Status: "out_for_delivery"}, "Out for delivery today", ""},
		{"an attempted delivery names the carrier", "UTC", now,
			Shipment{Status: "attempted_delivery", Carrier: "fedex"},
			"Delivery attempted — FedEx will try again or leave a notice", ""},
		{"ready for pickup says where", "UTC", now,
			Shipment{Status: "available_for_pickup", Events: pickup}, "Ready for pickup", "At Main Street Post Office"},
		{"delivered today", "UTC", now,
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-03T09:00:00Z")}, "Delivered today", ""},
		{"delivered yesterday", "UTC", now,
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-02T09:00:00Z")}, "Delivered yesterday", ""},
		{"delivered earlier names the day", "UTC", "2026-03-10T10:00:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-03T09:00:00Z")}, "Delivered on Tuesday 3 March", ""},
		{"delivered last year names the year", "UTC", "2026-01-05T10:00:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2025-12-30T09:00:00Z")}, "Delivered on Tuesday 30 December 2025", ""},
		{"late evening UTC delivery is yesterday in UTC", "UTC", "2026-03-04T08:00:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-03T23:30:00Z")}, "Delivered yesterday", ""},
		{"the same delivery is today in Tokyo", "Asia/Tokyo", "2026-03-04T08:00:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-03T23:30:00Z")}, "Delivered today", ""},
		{"and yesterday in Los Angeles at midnight", "America/Los_Angeles", "2026-03-04T08:00:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-03T23:30:00Z")}, "Delivered yesterday", ""},
		// New York falls back on Sunday 1 November 2026; that day has 25 hours,
		// so "now minus 24 hours" would land after this delivery.
		{"yesterday across the autumn clock change", "America/New_York", "2026-11-02T05:30:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2026-11-01T04:30:00Z")}, "Delivered yesterday", ""},
		// London springs forward on Sunday 29 March 2026: exactly 24 hours
		// before Monday 00:30 BST is Saturday 23:30 GMT, two calendar days back.
		{"two days back across the spring clock change", "Europe/London", "2026-03-29T23:30:00Z",
			Shipment{Status: "delivered", DeliveredAt: at("2026-03-28T23:30:00Z")}, "Delivered on Saturday 28 March", ""},
		{"delivered without a timestamp uses the delivered scan", "UTC", now,
			Shipment{Status: "delivered", Events: []TrackingEvent{{Status: "delivered", OccurredAt: utc("2026-03-02T12:00:00Z")}}},
			"Delivered yesterday", ""},
		{"delivered with nothing to date it", "UTC", now, Shipment{Status: "delivered"}, "Delivered", ""},
		{"an exception gives the carrier's reason", "UTC", now,
			Shipment{Status: "exception", Events: problem}, "There's a problem with the delivery", "Address incomplete"},
		{"returned to sender", "UTC", now, Shipment{Status: "returned_to_sender"}, "Returned to sender", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := StatusBanner(tc.sh, utc(tc.now), zone(t, tc.zone))
			if b.Headline != tc.headline || b.Detail != tc.detail || b.Status != tc.sh.Status {
				t.Errorf("banner = %q / %q (%s), want %q / %q", b.Headline, b.Detail, b.Status, tc.headline, tc.detail)
			}
		})
	}
}

func TestTimelineTimesAreInTheStoreZone(t *testing.T) {
	sh := Shipment{Status: "in_transit", Events: []TrackingEvent{
		{Status: "in_transit", Detail: "Departed facility", Location: "Newark, NJ", OccurredAt: utc("2026-03-03T14:05:00Z")},
		{Status: "label_created", OccurredAt: utc("2025-12-31T23:30:00Z")},
	}}
	tests := []struct {
		zone      string
		when, iso []string
	}{
		{"Europe/London", []string{"Tue 3 Mar, 14:05", "Wed 31 Dec 2025, 23:30"},
			[]string{"2026-03-03T14:05:00Z", "2025-12-31T23:30:00Z"}},
		{"America/New_York", []string{"Tue 3 Mar, 09:05", "Wed 31 Dec 2025, 18:30"},
			[]string{"2026-03-03T09:05:00-05:00", "2025-12-31T18:30:00-05:00"}},
		// In Sydney the label was made on New Year's Day, so no year is shown.
		{"Australia/Sydney", []string{"Wed 4 Mar, 01:05", "Thu 1 Jan, 10:30"},
			[]string{"2026-03-04T01:05:00+11:00", "2026-01-01T10:30:00+11:00"}},
	}
	for _, tc := range tests {
		t.Run("in "+tc.zone, func(t *testing.T) {
			v := shipmentView(sh, utc("2026-03-05T12:00:00Z"), zone(t, tc.zone))
			var when, iso []string
			for _, e := range v.Timeline {
				when, iso = append(when, e.When), append(iso, e.ISO)
			}
			if !reflect.DeepEqual(when, tc.when) || !reflect.DeepEqual(iso, tc.iso) {
				t.Errorf("timeline = %q %q, want %q %q", when, iso, tc.when, tc.iso)
			}
			if e := v.Timeline[0]; e.Label != "In transit" || e.Detail != "Departed facility" || e.Location != "Newark, NJ" {
				t.Errorf("entry = %+v", e)
			}
		})
	}
}

func TestOrderStateIsTheShipmentThatNeedsAttentionOrLagsBehind(t *testing.T) {
	tests := []struct {
		name, order string
		shipments   []string
		want        string
	}{
		{"nothing shipped yet is processing", "open", nil, "processing"},
		{"a cancelled order is cancelled", "cancelled", []string{"delivered"}, "cancelled"},
		{"a refunded order is refunded", "refunded", nil, "refunded"},
		{"a partial refund still follows the parcels", "partially_refunded", []string{"delivered"}, "delivered"},
		{"the least advanced parcel wins", "open", []string{"delivered", "in_transit", "out_for_delivery"}, "in_transit"},
		{"all delivered is delivered", "open", []string{"delivered", "delivered"}, "delivered"},
		{"a problem outranks progress", "open", []string{"label_created", "exception"}, "exception"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OrderState(tc.order, tc.shipments); got != tc.want {
				t.Errorf("OrderState(%q, %q) = %q, want %q", tc.order, tc.shipments, got, tc.want)
			}
		})
	}
}

func TestTimelineDropsADetailThatOnlyRepeatsTheStatus(t *testing.T) {
	sh := Shipment{Status: "delivered", Events: []TrackingEvent{
		{Status: "delivered", Detail: "DELIVERED", OccurredAt: utc("2026-03-03T14:05:00Z")},
		{Status: "in_transit", Detail: "Departed facility", OccurredAt: utc("2026-03-02T14:05:00Z")},
	}}
	v := shipmentView(sh, utc("2026-03-05T12:00:00Z"), time.UTC)
	if v.Timeline[0].Detail != "" || v.Timeline[1].Detail != "Departed facility" {
		t.Errorf("details = %q, %q", v.Timeline[0].Detail, v.Timeline[1].Detail)
	}
}
