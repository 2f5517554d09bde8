package returns

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// SettingsSection is the store_settings section of the return policy.
const SettingsSection = "returns"

// EUMinimumDays is the withdrawal period of EU consumer law: a store in EU
// mode never offers less.
const EUMinimumDays = 14

// The reason codes. Their behaviour is fixed (photos, guide, comment); their
// labels and whether the store offers them are policy.
const (
	ReasonWrongSize      = "wrong_size"
	ReasonDamaged        = "damaged"
	ReasonNotAsDescribed = "not_as_described"
	ReasonNotWorking     = "not_working"
	ReasonArrivedLate    = "arrived_late"
	ReasonChangedMind    = "changed_mind"
	ReasonOther          = "other"
	// ReasonWithdrawal is an EU withdrawal, which needs no reason; the store
	// cannot switch it off and the shopper does not pick it from the list.
	ReasonWithdrawal = "withdrawal"
)

// Reason is one entry of the store's list of return reasons.
type Reason struct {
	Code    string `json:"code"`
	Label   string `json:"label"`
	Enabled bool   `json:"enabled"`
}

// NeedsPhotos reports whether the reason claims damage: the shopper adds
// photos and the return is never approved automatically.
func (r Reason) NeedsPhotos() bool { return claimsDamage(r.Code) }

// ShowsGuide reports whether the product's guide is offered first.
func (r Reason) ShowsGuide() bool { return r.Code == ReasonNotWorking }

// NeedsComment reports whether the shopper must say more.
func (r Reason) NeedsComment() bool { return r.Code == ReasonOther }

func claimsDamage(code string) bool { return code == ReasonDamaged || code == ReasonNotAsDescribed }

// storeFault reports whether the reason is the store's doing, which waives
// the restocking fee.
func storeFault(code string) bool {
	switch code {
	case ReasonDamaged, ReasonNotAsDescribed, ReasonNotWorking, ReasonArrivedLate, ReasonWithdrawal:
		return true
	}
	return false
}

// defaultReasons is the list a store starts with, in the order shown.
func defaultReasons() []Reason {
	return []Reason{
		{ReasonWrongSize, "Wrong size or fit", true},
		{ReasonDamaged, "Arrived damaged", true},
		{ReasonNotAsDescribed, "Not as described", true},
		{ReasonNotWorking, "Not working / don't know how to use it", true},
		{ReasonArrivedLate, "Arrived too late", true},
		{ReasonChangedMind, "Changed my mind", true},
		{ReasonOther, "Other", true},
	}
}

// Credit methods: how store credit reaches the shopper in Stripe.
const (
	CreditBalance   = "balance"        // a Customer balance transaction (applies to invoices only)
	CreditPromoCode = "promotion_code" // an amount-off promotion code restricted to the customer
)

// Policy is the store's return policy, stored as the "returns" settings
// section. Amounts are minor units of the order's currency.
type Policy struct {
	WindowDays int      `json:"window_days"`
	EUMode     bool     `json:"eu_mode"`
	Reasons    []Reason `json:"reasons"`
	// Resolutions the shopper may choose from.
	AllowRefund   bool `json:"allow_refund"`
	AllowCredit   bool `json:"allow_credit"`
	AllowExchange bool `json:"allow_exchange"`
	// Auto-approval: a return within the window, worth at most
	// AutoApproveMaxMinor, and (when AutoApproveNoDamage) with no damage
	// claim is approved at once; anything else waits for review.
	AutoApprove         bool  `json:"auto_approve"`
	AutoApproveMaxMinor int64 `json:"auto_approve_max_minor"`
	AutoApproveNoDamage bool  `json:"auto_approve_no_damage"`
	// CreditBonusPct is added to store credit (10 means +10%).
	CreditBonusPct int `json:"credit_bonus_pct"`
	// RestockingFeePct is kept from refunds of units returned for the
	// shopper's own reasons (not for damage, defects or lateness).
	RestockingFeePct int    `json:"restocking_fee_pct"`
	CreditMethod     string `json:"credit_method"`
	ReturnAddress    string `json:"return_address"`
}

// DefaultPolicy is the policy of a store that has not set one.
func DefaultPolicy() Policy {
	return Policy{
		WindowDays: 30, Reasons: defaultReasons(),
		AllowRefund: true, AllowCredit: true, AllowExchange: true,
		AutoApprove: true, AutoApproveMaxMinor: 15000, AutoApproveNoDamage: true,
		CreditBonusPct: 10, CreditMethod: CreditPromoCode,
	}
}

// LoadPolicy reads the policy, with defaults for what was never set, and
// the EU minimum applied.
func LoadPolicy(ctx context.Context, q sqlx.QueryerContext) (Policy, error) {
	p := DefaultPolicy()
	p.Reasons = nil // stored reasons replace the defaults, never merge into them
	if err := settings.LoadSection(ctx, q, SettingsSection, &p); err != nil {
		return p, err
	}
	p.Reasons = mergeReasons(p.Reasons)
	return p, nil
}

// mergeReasons keeps the stored labels and switches of known codes, in the
// default order, adding codes a newer version knows.
func mergeReasons(stored []Reason) []Reason {
	out := defaultReasons()
	for i := range out {
		for _, s := range stored {
			if s.Code == out[i].Code {
				out[i].Enabled = s.Enabled
				if l := strings.TrimSpace(s.Label); l != "" {
					out[i].Label = l
				}
			}
		}
	}
	return out
}

// Days is the window length in force: at least EUMinimumDays in EU mode.
func (p Policy) Days() int {
	if p.EUMode && p.WindowDays < EUMinimumDays {
		return EUMinimumDays
	}
	return p.WindowDays
}

// Reason returns the enabled reason with code, or false. The withdrawal
// reason is known in EU mode only.
func (p Policy) Reason(code string) (Reason, bool) {
	if code == ReasonWithdrawal && p.EUMode {
		return Reason{Code: ReasonWithdrawal, Label: "Withdrawal from the purchase", Enabled: true}, true
	}
	for _, r := range p.Reasons {
		if r.Code == code && r.Enabled {
			return r, true
		}
	}
	return Reason{}, false
}

// EnabledReasons lists the reasons the shopper picks from.
func (p Policy) EnabledReasons() []Reason {
	var out []Reason
	for _, r := range p.Reasons {
		if r.Enabled {
			out = append(out, r)
		}
	}
	return out
}

// Allows reports whether the shopper may choose r.
func (p Policy) Allows(r Resolution) bool {
	switch r {
	case Refund:
		return p.AllowRefund
	case Credit:
		return p.AllowCredit
	case Exchange:
		return p.AllowExchange
	}
	return false
}

// Resolutions lists what the shopper may choose, in the order shown.
func (p Policy) Resolutions() []Resolution {
	var out []Resolution
	for _, r := range []Resolution{Refund, Credit, Exchange} {
		if p.Allows(r) {
			out = append(out, r)
		}
	}
	return out
}

// Validate returns a fault.Fields error naming each bad setting.
func (p Policy) Validate() error {
	var f fault.Fields
	if p.WindowDays < 1 || p.WindowDays > 365 {
		f.Add("window_days", "must be between 1 and 365 days")
	} else if p.EUMode && p.WindowDays < EUMinimumDays {
		f.Add("window_days", fmt.Sprintf("must be at least %d days in EU mode", EUMinimumDays))
	}
	if !p.AllowRefund && !p.AllowCredit && !p.AllowExchange {
		f.Add("resolutions", "must offer at least one of refund, store credit and exchange")
	}
	if p.EUMode && !p.AllowRefund {
		f.Add("resolutions", "must offer a refund in EU mode: a withdrawal is refunded")
	}
	if len(p.EnabledReasons()) == 0 {
		f.Add("reasons", "must offer at least one reason")
	}
	for _, r := range p.Reasons {
		if l := strings.TrimSpace(r.Label); l == "" || len(l) > 80 {
			f.Add("reasons."+r.Code, "must have a label of 1 to 80 characters")
		}
	}
	if p.AutoApproveMaxMinor < 0 {
		f.Add("auto_approve_max", "must not be negative")
	}
	if p.CreditBonusPct < 0 || p.CreditBonusPct > 100 {
		f.Add("credit_bonus_pct", "must be between 0 and 100")
	}
	if p.RestockingFeePct < 0 || p.RestockingFeePct > 50 {
		f.Add("restocking_fee_pct", "must be between 0 and 50")
	}
	if p.CreditMethod != CreditBalance && p.CreditMethod != CreditPromoCode {
		f.Add("credit_method", "must be balance or promotion_code")
	}
	if a := strings.TrimSpace(p.ReturnAddress); len(a) > 1000 {
		f.Add("return_address", "must be at most 1000 characters")
	}
	return f.Err()
}

// SavePolicy validates p and stores it, by the actor ("staff:3").
func SavePolicy(ctx context.Context, q sqlx.ExecerContext, p Policy, actor string) error {
	p.ReturnAddress = strings.TrimSpace(p.ReturnAddress)
	for i := range p.Reasons {
		p.Reasons[i].Label = strings.TrimSpace(p.Reasons[i].Label)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	return settings.SaveSection(ctx, q, SettingsSection, p, actor)
}
