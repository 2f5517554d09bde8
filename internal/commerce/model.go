// Package commerce is the one record of purchases: customers, products,
// orders, shipments and their tracking events, how they come in (the JSON
// API v1) and the emails their changes cause. Stores (the machines) push
// orders, shipments and tracking here; shoppers and staff read them elsewhere.
package commerce

import (
	"time"

	"github.com/lib/pq"
)

// Customer is a shopper, known by a normalized (trimmed, lower-case) email.
type Customer struct {
	ID        int64     `db:"id" json:"id"`
	Email     string    `db:"email" json:"email"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// Product is something the store sells, known by its SKU.
type Product struct {
	ID            int64     `db:"id" json:"id"`
	SKU           string    `db:"sku" json:"sku"`
	Title         string    `db:"title" json:"title"`
	ImageURL      string    `db:"image_url" json:"image_url"`
	ProductURL    string    `db:"product_url" json:"product_url"`
	Returnable    bool      `db:"returnable" json:"returnable"`
	ReplenishDays *int      `db:"replenish_days" json:"replenish_days"`
	GuideMD       string    `db:"guide_md" json:"guide_md"`
	GuideVideoURL string    `db:"guide_video_url" json:"guide_video_url"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time `db:"updated_at" json:"updated_at"`
}

// Order is a purchase as the store reported it. Money is in minor units of
// Currency (cents for USD, yen for JPY); Total = Subtotal - Discount +
// Shipping + Tax. An order is unique per (Source, ExternalID). Status is
// open, cancelled (CancelledAt is set; it stays cancelled whatever is
// refunded later), refunded (RefundedMinor == TotalMinor) or
// partially_refunded.
type Order struct {
	ID               int64          `db:"id" json:"id"`
	Source           string         `db:"source" json:"source"`
	ExternalID       string         `db:"external_id" json:"external_id"`
	Number           string         `db:"number" json:"number"`
	CustomerID       int64          `db:"customer_id" json:"-"`
	PlacedAt         time.Time      `db:"placed_at" json:"placed_at"`
	Currency         string         `db:"currency" json:"currency"`
	SubtotalMinor    int64          `db:"subtotal_minor" json:"subtotal"`
	DiscountMinor    int64          `db:"discount_minor" json:"discount"`
	ShippingMinor    int64          `db:"shipping_minor" json:"shipping"`
	TaxMinor         int64          `db:"tax_minor" json:"tax"`
	TotalMinor       int64          `db:"total_minor" json:"total"`
	DiscountCodes    pq.StringArray `db:"discount_codes" json:"discount_codes"`
	PaymentReference string         `db:"payment_reference" json:"payment_reference"`
	Status           string         `db:"status" json:"status"`
	ContentHash      []byte         `db:"content_hash" json:"-"`
	CreatedAt        time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time      `db:"updated_at" json:"updated_at"`
	// ShippingAddress is nil when the store did not send one.
	ShippingAddress *Address `db:"shipping_address" json:"shipping_address"`
	// PaymentFingerprint identifies the means of payment across orders (a
	// Stripe card fingerprint); ReferralCode and DeviceID say how the
	// shopper arrived. Each is "" when unknown.
	PaymentFingerprint string `db:"payment_fingerprint" json:"payment_fingerprint"`
	ReferralCode       string `db:"referral_code" json:"referral_code"`
	DeviceID           string `db:"device_id" json:"device_id"`
	// CancelledAt is set once the store cancels the order; CancelReason is
	// what it said.
	CancelledAt  *time.Time `db:"cancelled_at" json:"cancelled_at"`
	CancelReason string     `db:"cancel_reason" json:"cancel_reason"`
	// RefundedMinor is the sum of the order's refunds, never above TotalMinor.
	RefundedMinor int64 `db:"refunded_minor" json:"refunded"`

	Customer  Customer    `db:"-" json:"customer"`
	Items     []OrderItem `db:"-" json:"items"`
	Shipments []Shipment  `db:"-" json:"shipments,omitempty"`
	Refunds   []Refund    `db:"-" json:"refunds,omitempty"`
}

// OrderItem is one line of an order; LineNo is its 1-based position in the
// order's items. ProductID is set when a product with the SKU exists.
type OrderItem struct {
	ID             int64  `db:"id" json:"id"`
	OrderID        int64  `db:"order_id" json:"-"`
	LineNo         int    `db:"line_no" json:"line_no"`
	SKU            string `db:"sku" json:"sku"`
	ProductID      *int64 `db:"product_id" json:"product_id"`
	Title          string `db:"title" json:"title"`
	Quantity       int    `db:"quantity" json:"quantity"`
	UnitPriceMinor int64  `db:"unit_price_minor" json:"unit_price"`
}

// Shipment is a parcel of an order, unique per (Carrier, TrackingNumber).
// Status, EstimatedDelivery (YYYY-MM-DD) and DeliveredAt follow its newest
// tracking event; ShippedAt is its first event in transit or later.
type Shipment struct {
	ID                int64          `db:"id" json:"id"`
	OrderID           int64          `db:"order_id" json:"order_id"`
	Carrier           string         `db:"carrier" json:"carrier"`
	TrackingNumber    string         `db:"tracking_number" json:"tracking_number"`
	TrackingURL       string         `db:"tracking_url" json:"tracking_url"`
	Status            ShipmentStatus `db:"status" json:"status"`
	EstimatedDelivery *string        `db:"estimated_delivery" json:"estimated_delivery"`
	ShippedAt         *time.Time     `db:"shipped_at" json:"shipped_at"`
	DeliveredAt       *time.Time     `db:"delivered_at" json:"delivered_at"`
	LastEventAt       *time.Time     `db:"last_event_at" json:"last_event_at"`
	CreatedAt         time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt         time.Time      `db:"updated_at" json:"updated_at"`

	Items  []ShipmentItem  `db:"-" json:"items"`
	Events []TrackingEvent `db:"-" json:"events,omitempty"`
}

// ShipmentItem is a quantity of one order line inside a shipment.
type ShipmentItem struct {
	ShipmentID  int64  `db:"shipment_id" json:"-"`
	OrderItemID int64  `db:"order_item_id" json:"order_item_id"`
	LineNo      int    `db:"line_no" json:"line_no"`
	SKU         string `db:"sku" json:"sku"`
	Quantity    int    `db:"quantity" json:"quantity"`
}

// TrackingEvent is one carrier scan, unique per (ShipmentID, ProviderEventID).
type TrackingEvent struct {
	ID              int64          `db:"id" json:"id"`
	ShipmentID      int64          `db:"shipment_id" json:"shipment_id"`
	Status          ShipmentStatus `db:"status" json:"status"`
	Detail          string         `db:"detail" json:"detail"`
	Location        string         `db:"location" json:"location"`
	OccurredAt      time.Time      `db:"occurred_at" json:"occurred_at"`
	ProviderEventID string         `db:"provider_event_id" json:"provider_event_id"`
	CreatedAt       time.Time      `db:"created_at" json:"created_at"`
}

// Outcome says what an idempotent write did.
type Outcome string

// The outcomes of an upsert.
const (
	Created   Outcome = "created"   // a new record
	Updated   Outcome = "updated"   // an existing record took the new content
	Unchanged Outcome = "unchanged" // a retry: the record already had this content
)

// ValidCurrency reports whether code is an ISO 4217 code: three upper-case
// ASCII letters, the form stored in orders.currency.
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// ShipmentStatus is where a parcel is, in one vocabulary for every carrier
// and integration.
type ShipmentStatus string

// The shipment statuses, in the order a parcel normally passes them.
const (
	LabelCreated       ShipmentStatus = "label_created"
	InTransit          ShipmentStatus = "in_transit"
	OutForDelivery     ShipmentStatus = "out_for_delivery"
	AttemptedDelivery  ShipmentStatus = "attempted_delivery"
	AvailableForPickup ShipmentStatus = "available_for_pickup"
	Delivered          ShipmentStatus = "delivered"
	Exception          ShipmentStatus = "exception"
	ReturnedToSender   ShipmentStatus = "returned_to_sender"
)

// ShipmentStatuses returns the vocabulary in the order a parcel passes it.
func ShipmentStatuses() []ShipmentStatus {
	return []ShipmentStatus{
		LabelCreated, InTransit, OutForDelivery, AttemptedDelivery,
		AvailableForPickup, Delivered, Exception, ReturnedToSender,
	}
}

// Valid reports whether s is in the vocabulary.
func (s ShipmentStatus) Valid() bool { return s.rank() >= 0 }

// Moving reports whether a parcel in status s has left the store: every
// status after label_created. The first such event sets shipped_at.
func (s ShipmentStatus) Moving() bool { return s.Valid() && s != LabelCreated }

// NeedsAttention reports whether s is a delivery problem the shopper is
// told about (the shipment_exception email).
func (s ShipmentStatus) NeedsAttention() bool {
	switch s {
	case Exception, AttemptedDelivery, AvailableForPickup, ReturnedToSender:
		return true
	}
	return false
}

// rank orders statuses by progress; it only breaks ties between events
// stamped with the same instant, so that such a tie never moves a parcel
// back. It is -1 for an unknown status.
func (s ShipmentStatus) rank() int {
	switch s {
	case LabelCreated:
		return 0
	case InTransit:
		return 1
	case OutForDelivery:
		return 2
	case AttemptedDelivery, AvailableForPickup, Exception:
		return 3
	case Delivered:
		return 4
	case ReturnedToSender:
		return 5
	}
	return -1
}

// mailKind is the email a shipment's move to s causes, or "" for none.
func (s ShipmentStatus) mailKind() string {
	switch {
	case s == OutForDelivery:
		return "shipment_out_for_delivery"
	case s == Delivered:
		return "shipment_delivered"
	case s.NeedsAttention():
		return "shipment_exception"
	}
	return ""
}
