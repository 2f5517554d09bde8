// Package journey times the emails that follow a purchase so that shoppers
// are helped, not flooded. Events (a parcel delivered, an order placed)
// schedule steps: a replenishment reminder per product, recommendations, a
// win-back offer; other packages (reviews) add their own step kinds. Each
// step is a row in journey_steps (its unique key makes scheduling
// idempotent) and a River job scheduled for its due time; when it runs it
// checks again that the email is still wanted (no refund, no open return,
// consent, the shopper did not come back) and queues a marketing message,
// which delivery then paces (frequency cap, quiet hours).
//
// The package also gives every email its preferences link, marketing mail
// its RFC 8058 unsubscribe headers, and records opens (a pixel) and clicks
// (a signed redirect, never an open one).
package journey

import (
	"context"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// Section is the settings section of the journey.
const Section = "journey"

// Settings are the journey's timings and switches, stored in the settings
// section "journey". Pacing (frequency cap, quiet hours) is mail.Pacing.
type Settings struct {
	// ReplenishEnabled sends a reminder replenish_days (a product field)
	// after delivery, with a re-order link, unless the product was bought
	// again since.
	ReplenishEnabled bool `json:"replenish_enabled"`
	// RecommendEnabled sends "goes well with" and "also bought" products
	// RecommendAfterDays after delivery, when there are any.
	RecommendEnabled   bool `json:"recommend_enabled"`
	RecommendAfterDays int  `json:"recommend_after_days"`
	// AlsoBoughtMinOrders is how many orders must hold two products before
	// one is recommended with the other.
	AlsoBoughtMinOrders int `json:"also_bought_min_orders"`
	// WinbackEnabled sends a personal Stripe promotion code to a customer
	// who has not ordered for WinbackAfterDays: WinbackPercentOff off one
	// order, valid WinbackValidDays.
	WinbackEnabled    bool `json:"winback_enabled"`
	WinbackAfterDays  int  `json:"winback_after_days"`
	WinbackPercentOff int  `json:"winback_percent_off"`
	WinbackValidDays  int  `json:"winback_valid_days"`
	// Tracking records opens (a pixel) and clicks (redirects) of emails to
	// shoppers; sign-in emails are never tracked.
	Tracking bool `json:"tracking"`
}

// DefaultSettings are the timings of a new store.
func DefaultSettings() Settings {
	return Settings{
		ReplenishEnabled: true,
		RecommendEnabled: true, RecommendAfterDays: 10, AlsoBoughtMinOrders: 2,
		WinbackEnabled: true, WinbackAfterDays: 90, WinbackPercentOff: 15, WinbackValidDays: 30,
		Tracking: true,
	}
}

// LoadSettings reads the journey's settings, with defaults for what was
// never saved.
func LoadSettings(ctx context.Context, q sqlx.QueryerContext) (Settings, error) {
	s := DefaultSettings()
	err := settings.LoadSection(ctx, q, Section, &s)
	return s, err
}

// Validate returns a fault.Fields error naming each bad field.
func (s Settings) Validate() error {
	var f fault.Fields
	between := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			f.Add(field, "must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
		}
	}
	between("recommend_after_days", s.RecommendAfterDays, 0, 365)
	between("also_bought_min_orders", s.AlsoBoughtMinOrders, 1, 1000)
	between("winback_after_days", s.WinbackAfterDays, 14, 3650)
	between("winback_percent_off", s.WinbackPercentOff, 1, 100)
	between("winback_valid_days", s.WinbackValidDays, 1, 365)
	return f.Err()
}
