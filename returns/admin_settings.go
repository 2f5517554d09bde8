package returns

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
)

// SavePolicy validates and stores the return policy and audits who changed
// it, in one transaction. Errors: a fault.Fields error naming each bad
// setting.
func (s *Service) SavePolicy(ctx context.Context, p Policy, actor string) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := SavePolicy(ctx, tx, p, actor); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "settings.returns_saved", "settings:returns", p)
	})
}

func (h *Handlers) settingsPage(c *fiber.Ctx) error {
	p, err := h.svc.Policy(c.UserContext())
	if err != nil {
		return err
	}
	return h.renderSettings(c, fiber.StatusOK, p, nil, c.Query("done") == "saved")
}

func (h *Handlers) renderSettings(c *fiber.Ctx, status int, p Policy, problems map[string]string, saved bool) error {
	private(c)
	return c.Status(status).Render("admin/returns/settings", fiber.Map{
		"policy": p, "problems": problems, "saved": saved, "stripe": h.svc.StripeConfigured(),
		"maxMajor": formatMajor(p.AutoApproveMaxMinor), "euMinimum": EUMinimumDays,
	})
}

func (h *Handlers) saveSettings(c *fiber.Ctx) error {
	who, err := actor(c)
	if err != nil {
		return err
	}
	p, problems := policyForm(c)
	if problems == nil {
		err = h.svc.SavePolicy(c.UserContext(), p, who)
		problems = problemsOf(err)
		if problems == nil && err != nil {
			return err
		}
	}
	if problems != nil {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, p, problems, false)
	}
	return c.Redirect("/admin/settings/returns?done=saved", fiber.StatusSeeOther)
}

// policyForm reads the settings form; numbers that do not read are named
// in problems.
func policyForm(c *fiber.Ctx) (Policy, map[string]string) {
	var f fault.Fields
	num := func(name string) int {
		v, err := strconv.Atoi(strings.TrimSpace(c.FormValue(name)))
		if err != nil {
			f.Add(name, "must be a whole number")
		}
		return v
	}
	on := func(name string) bool { return c.FormValue(name) == "1" }
	p := Policy{
		WindowDays: num("window_days"), EUMode: on("eu_mode"),
		AllowRefund: on("allow_refund"), AllowCredit: on("allow_credit"), AllowExchange: on("allow_exchange"),
		AutoApprove: on("auto_approve"), AutoApproveNoDamage: on("auto_approve_no_damage"),
		CreditBonusPct: num("credit_bonus_pct"), RestockingFeePct: num("restocking_fee_pct"),
		CreditMethod: c.FormValue("credit_method"), ReturnAddress: c.FormValue("return_address"),
	}
	if m := strings.TrimSpace(c.FormValue("auto_approve_max")); m != "" {
		if p.AutoApproveMaxMinor = parseMoney(m); p.AutoApproveMaxMinor == 0 && strings.Trim(m, "0.") != "" {
			f.Add("auto_approve_max", "must be an amount such as 150.00")
		}
	}
	for _, r := range defaultReasons() {
		r.Enabled = on("reason_" + r.Code)
		r.Label = c.FormValue("label_" + r.Code)
		p.Reasons = append(p.Reasons, r)
	}
	return p, problemsOf(f.Err())
}

// formatMajor shows minor units of a two-decimal currency as "150.00".
func formatMajor(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }
