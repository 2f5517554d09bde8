package referral

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
)

// SaveProgram validates and stores the program with an audit entry by
// actor; a fault.Fields error names each bad form field.
func (s *Service) SaveProgram(ctx context.Context, p program.Settings, actor string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	// As SetCodeDisabled: this instance's landing and panels follow at once.
	defer s.forgetProgram()
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := program.Save(ctx, tx, p, actor); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "referral.settings_saved", "settings:"+program.Section, p)
	})
}

// OfferSection is one offer's fieldset on the settings page (partial
// referral_offer_fields); Problems are keyed by field (kind, percent, ...).
type OfferSection struct {
	Side, Legend, Currency string
	Form                   OfferForm
	Problems               map[string]string
}

// NumberField is a whole-number field of the settings page (partial
// referral_number).
type NumberField struct {
	Name, Label string
	Value       int
	Problem     string
}

// OfferForm is one offer as the settings form shows it: money in major
// units, as typed.
type OfferForm struct {
	Kind, Percent, Amount, Minimum, ExpiryDays string
}

func formOf(o program.Offer, cur string) OfferForm {
	f := OfferForm{Kind: o.Kind, Minimum: formatMinor(o.MinimumMinor, cur), ExpiryDays: strconv.Itoa(o.ExpiryDays)}
	if o.Kind == program.Percent {
		f.Percent = strconv.Itoa(o.Percent)
	} else {
		f.Amount = formatMinor(o.AmountMinor, cur)
	}
	return f
}

func (h *Handlers) adminSettings(c *fiber.Ctx) error {
	p, err := program.Load(c.UserContext(), h.svc.db)
	if err != nil {
		return err
	}
	data := fiber.Map{"p": p, "problems": map[string]string{}}
	if c.Query("done") == "saved" {
		data["notice"] = "Settings saved. New referrals use them; rewards already earned keep theirs."
	}
	return h.renderSettings(c, fiber.StatusOK, p, data)
}

func (h *Handlers) renderSettings(c *fiber.Ctx, status int, p program.Settings, data fiber.Map) error {
	data["p"] = p
	if data["friend"] == nil {
		data["friend"], data["referrer"], data["milestone"] = formOf(p.Friend, p.Currency), formOf(p.Referrer, p.Currency), formOf(p.Milestone, p.Currency)
	}
	problems, _ := data["problems"].(map[string]string)
	section := func(side, legend string) OfferSection {
		sec := OfferSection{Side: side, Legend: legend, Form: data[side].(OfferForm), Currency: p.Currency, Problems: map[string]string{}}
		for k, v := range problems {
			if rest, ok := strings.CutPrefix(k, side+"."); ok {
				sec.Problems[rest] = v
			}
		}
		return sec
	}
	data["offers"] = []OfferSection{section("friend", "What the friend gets"), section("referrer", "What the referrer gets for each friend")}
	data["milestoneOffer"] = section("milestone", "The milestone bonus")
	data["numbers"] = []NumberField{
		{Name: "monthly_cap", Label: "Rewards per referrer per calendar month (0 = no cap)", Value: p.MonthlyCap, Problem: problems["monthly_cap"]},
		{Name: "lifetime_cap", Label: "Rewards per referrer in all (0 = no cap)", Value: p.LifetimeCap, Problem: problems["lifetime_cap"]},
		{Name: "velocity_limit", Label: "Review a referrer with more conversions than this in 30 days (0 = off)", Value: p.VelocityLimit, Problem: problems["velocity_limit"]},
		{Name: "attribution_days", Label: "Days after a friend takes the offer that their first order still counts", Value: p.AttributionDays, Problem: problems["attribution_days"]},
	}
	data["stripe"] = h.svc.rewards.StripeConfigured()
	days, err := rewards.ReturnDays(c.UserContext(), h.svc.db)
	if err != nil {
		return err
	}
	data["returnDays"] = days
	return c.Status(status).Render("admin/referrals/settings", data)
}

func (h *Handlers) adminSaveSettings(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	var f fault.Fields
	cur := strings.ToUpper(strings.TrimSpace(c.FormValue("currency")))
	p := program.Settings{
		Enabled: c.FormValue("enabled") == "on", Currency: cur, RewardType: c.FormValue("reward_type"),
		Friend: parseOffer(c, &f, "friend", cur), Referrer: parseOffer(c, &f, "referrer", cur), Milestone: parseOffer(c, &f, "milestone", cur),
		MilestoneAfter: formInt(c, &f, "milestone_after"), MilestoneRepeat: c.FormValue("milestone_repeat") == "on",
		MonthlyCap: formInt(c, &f, "monthly_cap"), LifetimeCap: formInt(c, &f, "lifetime_cap"), VelocityLimit: formInt(c, &f, "velocity_limit"),
		StoreParam: c.FormValue("store_param"), AttributionDays: formInt(c, &f, "attribution_days"),
		AskAfterDelivery: c.FormValue("ask_after_delivery") == "on", AskAfterReview: c.FormValue("ask_after_review") == "on",
	}
	err := f.Err()
	if err == nil {
		err = h.svc.SaveProgram(c.UserContext(), p, me.Actor())
	}
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		problems := map[string]string{}
		for _, x := range fe.Fields {
			if _, seen := problems[x.Field]; !seen {
				problems[x.Field] = x.Message
			}
		}
		// Show what was typed, not what it parsed to.
		data := fiber.Map{"problems": problems, "error": "Please correct the fields marked below.",
			"friend": typedOffer(c, "friend"), "referrer": typedOffer(c, "referrer"), "milestone": typedOffer(c, "milestone")}
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, p, data)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/referrals/settings?done=saved", fiber.StatusSeeOther)
}

func typedOffer(c *fiber.Ctx, side string) OfferForm {
	return OfferForm{Kind: c.FormValue(side + ".kind"), Percent: c.FormValue(side + ".percent"), Amount: c.FormValue(side + ".amount"),
		Minimum: c.FormValue(side + ".minimum"), ExpiryDays: c.FormValue(side + ".expiry_days")}
}

func parseOffer(c *fiber.Ctx, f *fault.Fields, side, cur string) program.Offer {
	o := program.Offer{Kind: c.FormValue(side + ".kind")}
	switch o.Kind {
	case program.Percent:
		o.Percent = formInt(c, f, side+".percent")
	case program.Amount:
		o.AmountMinor = formMoney(c, f, side+".amount", cur)
	}
	o.MinimumMinor = formMoney(c, f, side+".minimum", cur)
	o.ExpiryDays = formInt(c, f, side+".expiry_days")
	return o
}

func formInt(c *fiber.Ctx, f *fault.Fields, name string) int {
	v := strings.TrimSpace(c.FormValue(name))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f.Add(name, "must be a whole number")
	}
	return n
}

func formMoney(c *fiber.Ctx, f *fault.Fields, name, cur string) int64 {
	v := strings.TrimSpace(c.FormValue(name))
	if v == "" {
		return 0
	}
	n, ok := parseMinor(v, cur)
	if !ok {
		f.Add(name, fmt.Sprintf("must be an amount such as %s", formatMinor(1000*pow10(minorDigits(cur))/100, cur)))
	}
	return n
}
