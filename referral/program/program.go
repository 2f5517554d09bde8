// Package program holds the referral program's settings: what the friend
// and the referrer get, how rewards are paid, the fraud limits and the
// attribution window. Both referral (codes, landing, attribution) and
// referral/rewards (holds and Stripe grants) read them; staff change them on
// the admin's settings page.
package program

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/web"
)

// Section is the key of the program in store_settings.
const Section = "referrals"

// Offer kinds: a percentage off, or an amount off in the program currency.
const (
	Percent = "percent"
	Amount  = "amount"
)

// Reward types for the referrer.
const (
	// Coupon pays with a single-use Stripe promotion code restricted to the
	// referrer's Stripe customer.
	Coupon = "coupon"
	// Credit pays with a Stripe customer balance transaction; Stripe applies
	// balance to invoices only.
	Credit = "credit"
)

// Offer is one side's reward: Percent (1-100) or AmountMinor (> 0) off,
// usable on orders of at least MinimumMinor (0 = any), for ExpiryDays days.
type Offer struct {
	Kind         string `json:"kind"`
	Percent      int    `json:"percent"`
	AmountMinor  int64  `json:"amount_minor"`
	MinimumMinor int64  `json:"minimum_minor"`
	ExpiryDays   int    `json:"expiry_days"`
}

// Settings is the program. Zero caps and limits mean "none".
type Settings struct {
	Enabled  bool   `json:"enabled"`
	Currency string `json:"currency"`
	Friend   Offer  `json:"friend"`
	Referrer Offer  `json:"referrer"`
	// RewardType is Coupon or Credit (Credit needs an Amount offer).
	RewardType string `json:"reward_type"`
	// MilestoneAfter gives Milestone as an extra reward when a referrer
	// reaches this many rewarded referrals (0 = off); with MilestoneRepeat,
	// at every multiple of it.
	MilestoneAfter  int   `json:"milestone_after"`
	MilestoneRepeat bool  `json:"milestone_repeat"`
	Milestone       Offer `json:"milestone"`
	// MonthlyCap and LifetimeCap bound a referrer's rewards; VelocityLimit
	// flags more than that many conversions in 30 days.
	MonthlyCap    int `json:"monthly_cap"`
	LifetimeCap   int `json:"lifetime_cap"`
	VelocityLimit int `json:"velocity_limit"`
	// StoreParam is the URL parameter the store reads a discount code from
	// (https://shop.example/?discount=CODE).
	StoreParam string `json:"store_param"`
	// AttributionDays is how long after a friend's claim or visit an order
	// still counts.
	AttributionDays int `json:"attribution_days"`
	// AskAfterDelivery and AskAfterReview send the referral invite when an
	// order is delivered and after a 4-5 star review.
	AskAfterDelivery bool `json:"ask_after_delivery"`
	AskAfterReview   bool `json:"ask_after_review"`
}

// Defaults is the program before staff change anything.
func Defaults() Settings {
	return Settings{
		Enabled:          true,
		Currency:         "USD",
		Friend:           Offer{Kind: Percent, Percent: 10, ExpiryDays: 30},
		Referrer:         Offer{Kind: Amount, AmountMinor: 1000, ExpiryDays: 180},
		RewardType:       Coupon,
		Milestone:        Offer{Kind: Amount, AmountMinor: 2500, ExpiryDays: 180},
		MonthlyCap:       10,
		LifetimeCap:      50,
		VelocityLimit:    5,
		StoreParam:       "discount",
		AttributionDays:  90,
		AskAfterDelivery: true,
		AskAfterReview:   true,
	}
}

// Load returns the stored program over the defaults.
func Load(ctx context.Context, q sqlx.QueryerContext) (Settings, error) {
	s := Defaults()
	if err := settings.LoadSection(ctx, q, Section, &s); err != nil {
		return s, err
	}
	return s, nil
}

// Save validates s and stores it; by is the audit actor ("staff:3"). It
// returns a fault.Fields error naming each bad form field.
func Save(ctx context.Context, q sqlx.ExecerContext, s Settings, by string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return settings.SaveSection(ctx, q, Section, s, by)
}

// Validate reports each bad field by its form name (friend.percent,
// reward_type, ...) in a fault.Fields error.
func (s *Settings) Validate() error {
	var f fault.Fields
	s.Currency = strings.ToUpper(strings.TrimSpace(s.Currency))
	if !commerce.ValidCurrency(s.Currency) {
		f.Add("currency", "must be a three-letter currency code such as USD")
	}
	s.Friend.validate(&f, "friend")
	s.Referrer.validate(&f, "referrer")
	switch s.RewardType {
	case Coupon:
	case Credit:
		if s.Referrer.Kind != Amount {
			f.Add("referrer.kind", "must be an amount when rewards are paid as credit")
		}
	default:
		f.Add("reward_type", "must be coupon or credit")
	}
	if s.MilestoneAfter < 0 || s.MilestoneAfter > 1000 {
		f.Add("milestone_after", "must be between 0 (off) and 1000")
	}
	if s.MilestoneAfter > 0 {
		s.Milestone.validate(&f, "milestone")
		if s.RewardType == Credit && s.Milestone.Kind != Amount {
			f.Add("milestone.kind", "must be an amount when rewards are paid as credit")
		}
	}
	for name, v := range map[string]int{"monthly_cap": s.MonthlyCap, "lifetime_cap": s.LifetimeCap, "velocity_limit": s.VelocityLimit} {
		if v < 0 || v > 100000 {
			f.Add(name, "must be between 0 (none) and 100000")
		}
	}
	s.StoreParam = strings.TrimSpace(s.StoreParam)
	if !validParam(s.StoreParam) {
		f.Add("store_param", "must be a URL parameter name of letters, digits, _ or - (such as discount)")
	}
	if s.AttributionDays < 1 || s.AttributionDays > 365 {
		f.Add("attribution_days", "must be between 1 and 365")
	}
	return f.Err()
}

func (o *Offer) validate(f *fault.Fields, side string) {
	switch o.Kind {
	case Percent:
		if o.Percent < 1 || o.Percent > 100 {
			f.Add(side+".percent", "must be between 1 and 100")
		}
		o.AmountMinor = 0
	case Amount:
		if o.AmountMinor < 1 {
			f.Add(side+".amount", "must be more than zero")
		}
		o.Percent = 0
	default:
		f.Add(side+".kind", "must be percent or amount")
	}
	if o.MinimumMinor < 0 {
		f.Add(side+".minimum", "must not be negative")
	}
	if o.ExpiryDays < 1 || o.ExpiryDays > 730 {
		f.Add(side+".expiry_days", "must be between 1 and 730")
	}
}

func validParam(p string) bool {
	if p == "" || len(p) > 40 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Describe is the offer in a shopper's words: "10% off" or "$10.00 off".
func (o Offer) Describe(currency string) string {
	if o.Kind == Percent {
		return fmt.Sprintf("%d%% off", o.Percent)
	}
	return web.Money(o.AmountMinor, currency) + " off"
}

// DescribeReward is the referrer's reward as the shopper reads it: "$10.00
// off your next order" or "$10.00 store credit".
func (s Settings) DescribeReward(o Offer) string {
	if s.RewardType == Credit {
		return web.Money(o.AmountMinor, s.Currency) + " store credit"
	}
	return o.Describe(s.Currency) + " your next order"
}
