package reviews

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/journey"
)

// The step (and email) kinds of review requests.
const (
	KindRequest  = "review_request"
	KindReminder = "review_reminder"
)

// Requests asks for reviews through the email journey: a delivered parcel
// schedules a request; the request, when it goes, schedules one reminder;
// a click in the request brings the reminder forward.
type Requests struct {
	e *journey.Engine
}

// NewRequests registers the request and reminder steps and the click
// trigger on e, at wiring time.
func NewRequests(e *journey.Engine) *Requests {
	r := &Requests{e: e}
	e.Handle(KindRequest, r.request)
	e.Handle(KindReminder, r.reminder)
	e.OnClick(KindRequest, r.engaged)
	return r
}

// Subscribe registers the reaction to delivered parcels on bus.
func (r *Requests) Subscribe(bus journey.Subscriber) {
	bus.Subscribe(events.ShipmentStatusChanged, "reviews.delivered", r.onDelivered)
}

func requestKey(shipmentID int64) string {
	return KindRequest + ":" + strconv.FormatInt(shipmentID, 10)
}
func reminderKey(shipmentID int64) string {
	return KindReminder + ":" + strconv.FormatInt(shipmentID, 10)
}

func (r *Requests) onDelivered(ctx context.Context, tx *sqlx.Tx, ev events.Event) error {
	d, ok, err := journey.DeliveredParcel(ctx, tx, ev)
	if err != nil || !ok {
		return err
	}
	set, err := LoadSettings(ctx, tx)
	if err != nil || !set.RequestEnabled {
		return err
	}
	_, err = r.e.Schedule(ctx, tx, journey.Step{Kind: KindRequest, Key: requestKey(d.ShipmentID), CustomerID: d.CustomerID,
		OrderID: d.OrderID, ShipmentID: d.ShipmentID, DueAt: d.DeliveredAt.AddDate(0, 0, set.RequestAfterDays)})
	return err
}

// request asks about each product of the parcel that the customer was never
// asked about and has not reviewed, then schedules the reminder.
func (r *Requests) request(ctx context.Context, tx *sqlx.Tx, st journey.Step) (journey.Outcome, error) {
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return journey.Outcome{}, err
	}
	if !set.RequestEnabled {
		return journey.Skipped("review requests are turned off"), nil
	}
	if why, err := r.e.Settled(ctx, tx, st); why != "" || err != nil {
		return journey.Skipped(why), err
	}
	now := r.e.Now()
	var asked []int64
	err = tx.SelectContext(ctx, &asked, `INSERT INTO review_asks (customer_id, sku, order_item_id, step_id, asked_at)
		SELECT DISTINCT ON (i.sku) $1::bigint, i.sku, i.id, $3::bigint, $4::timestamptz
		FROM shipment_items si JOIN order_items i ON i.id = si.order_item_id
		WHERE si.shipment_id = $2
		  AND NOT EXISTS (SELECT 1 FROM reviews rv WHERE rv.customer_id = $1 AND rv.sku = i.sku)
		ORDER BY i.sku, i.line_no
		ON CONFLICT (customer_id, sku) DO NOTHING
		RETURNING order_item_id`, st.CustomerID, st.ShipmentID, st.ID, now)
	if err != nil {
		return journey.Outcome{}, fmt.Errorf("reviews: ask about shipment %d: %w", st.ShipmentID, err)
	}
	if len(asked) == 0 {
		return journey.Skipped("every product was asked about or reviewed before"), nil
	}
	out, err := r.e.QueueMail(ctx, tx, st, KindRequest)
	if err != nil || !set.ReminderEnabled {
		return out, err
	}
	_, err = r.e.Schedule(ctx, tx, journey.Step{Kind: KindReminder, Key: reminderKey(st.ShipmentID), CustomerID: st.CustomerID,
		OrderID: st.OrderID, ShipmentID: st.ShipmentID, DueAt: now.AddDate(0, 0, set.ReminderAfterDays)})
	return out, err
}

// reminder asks once more about what the request asked and is still not
// reviewed.
func (r *Requests) reminder(ctx context.Context, tx *sqlx.Tx, st journey.Step) (journey.Outcome, error) {
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return journey.Outcome{}, err
	}
	if !set.ReminderEnabled {
		return journey.Skipped("review reminders are turned off"), nil
	}
	if why, err := r.e.Settled(ctx, tx, st); why != "" || err != nil {
		return journey.Skipped(why), err
	}
	items, err := unreviewed(ctx, tx, st.ShipmentID)
	if err != nil {
		return journey.Outcome{}, err
	}
	if len(items) == 0 {
		return journey.Skipped("everything asked about was reviewed"), nil
	}
	return r.e.QueueMail(ctx, tx, st, KindReminder)
}

// engaged brings the reminder forward when the shopper clicked the request
// but has not reviewed: the reminder then comes EngagedReminderHours after
// the click, if that is sooner than planned.
func (r *Requests) engaged(ctx context.Context, tx *sqlx.Tx, c journey.Clicked) error {
	if c.ShipmentID == 0 {
		return nil
	}
	set, err := LoadSettings(ctx, tx)
	if err != nil || set.EngagedReminderHours == 0 {
		return err
	}
	return r.e.Hasten(ctx, tx, reminderKey(c.ShipmentID), c.At.Add(time.Duration(set.EngagedReminderHours)*time.Hour))
}

// askedItem is an order line a review request asked about.
type askedItem struct {
	ItemID   int64  `db:"order_item_id"`
	Title    string `db:"title"`
	ImageURL string `db:"image_url"`
}

// unreviewed returns the lines the request of shipmentID asked about that
// still have no review of their product by the customer.
func unreviewed(ctx context.Context, q sqlx.QueryerContext, shipmentID int64) ([]askedItem, error) {
	var out []askedItem
	err := sqlx.SelectContext(ctx, q, &out, `SELECT a.order_item_id, i.title, COALESCE(p.image_url, '') AS image_url
		FROM review_asks a JOIN journey_steps s ON s.id = a.step_id
		JOIN order_items i ON i.id = a.order_item_id LEFT JOIN products p ON p.id = i.product_id
		WHERE s.key = $1 AND NOT EXISTS (SELECT 1 FROM reviews rv WHERE rv.customer_id = a.customer_id AND rv.sku = a.sku)
		ORDER BY i.line_no`, requestKey(shipmentID))
	if err != nil {
		return nil, fmt.Errorf("reviews: unreviewed items of shipment %d: %w", shipmentID, err)
	}
	return out, nil
}
