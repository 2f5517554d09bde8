package referral

import (
	"html/template"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/referral/rewards"
)

// queueStates are the tabs of /admin/referrals, in the order staff work.
var queueStates = []string{rewards.Flagged, rewards.Held, rewards.Pending, rewards.Failed, rewards.Granted, rewards.Voided}

// RewardActions is what the action buttons of one reward need (partial
// referral_reward_actions): the reward, the form token, the tab to go back
// to, and the referrer's id when shown on their own page.
type RewardActions struct {
	R        rewards.Reward
	CSRF     string
	Back     string
	Referrer string
}

// adminIndex lists rewards of one state (flagged first) with the funnel.
func (h *Handlers) adminIndex(c *fiber.Ctx) error {
	state := c.Query("state", rewards.Flagged)
	if !slices.Contains(queueStates, state) {
		state = rewards.Flagged
	}
	data := fiber.Map{}
	switch c.Query("done") {
	case "approve":
		data["notice"] = "Approved: the reward goes on hold until the friend's return window has passed."
	case "reject":
		data["notice"] = "Rejected: the referrer sees your reason in their ledger."
	case "void":
		data["notice"] = "Voided. A reward already paid is being taken back."
	case "retry":
		data["notice"] = "The reward will be tried again in a moment."
	}
	return h.renderIndex(c, fiber.StatusOK, state, data)
}

func (h *Handlers) renderIndex(c *fiber.Ctx, status int, state string, data fiber.Map) error {
	ctx := c.UserContext()
	rows, err := h.svc.Queue(ctx, state, 200)
	if err != nil {
		return err
	}
	counts, err := h.svc.rewards.Counts(ctx)
	if err != nil {
		return err
	}
	funnel, err := h.svc.Funnel(ctx)
	if err != nil {
		return err
	}
	csrf, _ := c.Locals("csrf").(string)
	actions := map[int64]RewardActions{}
	for _, r := range rows {
		actions[r.Reward.ID] = RewardActions{R: r.Reward, CSRF: csrf, Back: state}
	}
	data["rows"], data["state"], data["states"], data["counts"], data["funnel"] = rows, state, queueStates, counts, funnel
	data["actions"] = actions
	data["stripe"] = h.svc.rewards.StripeConfigured()
	return c.Status(status).Render("admin/referrals/index", data)
}

// adminRewardAction approves, rejects, voids or retries a reward, then
// goes back to the tab it came from.
func (h *Handlers) adminRewardAction(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return rewards.ErrNotFound
	}
	back := c.FormValue("back")
	if !slices.Contains(queueStates, back) {
		back = rewards.Flagged
	}
	ctx, reason := c.UserContext(), c.FormValue("reason")
	action := c.Params("action")
	switch action {
	case "approve":
		err = h.svc.rewards.Approve(ctx, id, me.Actor())
	case "reject":
		err = h.svc.rewards.Reject(ctx, id, reason, me.Actor())
	case "void":
		err = h.svc.rewards.Void(ctx, id, reason, me.Actor())
	case "retry":
		err = h.svc.rewards.Retry(ctx, id, me.Actor())
	default:
		return fiber.ErrNotFound
	}
	if kind, msg := problem(err); err != nil && (kind == fault.Invalid || kind == fault.Conflict) {
		status := fiber.StatusConflict
		if kind == fault.Invalid {
			status, msg = fiber.StatusUnprocessableEntity, "Reason "+msg+"."
		}
		return h.renderIndex(c, status, back, fiber.Map{"error": msg})
	}
	if err != nil {
		return err
	}
	if ref := c.FormValue("referrer"); ref != "" {
		if rid, err := strconv.ParseInt(ref, 10, 64); err == nil {
			return c.Redirect("/admin/referrals/referrers/"+strconv.FormatInt(rid, 10)+"?done="+action, fiber.StatusSeeOther)
		}
	}
	return c.Redirect("/admin/referrals?state="+back+"&done="+action, fiber.StatusSeeOther)
}

// adminFind opens the history of the referrer with an email or code.
func (h *Handlers) adminFind(c *fiber.Ctx) error {
	id, err := h.svc.FindReferrer(c.UserContext(), c.Query("q"))
	if kind, msg := problem(err); kind == fault.NotFound {
		return h.renderIndex(c, fiber.StatusNotFound, rewards.Flagged, fiber.Map{"error": msg, "q": c.Query("q")})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/referrals/referrers/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
}

// adminReferrer is one referrer's history.
func (h *Handlers) adminReferrer(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fault.Errorf(fault.NotFound, "There is no such customer.")
	}
	hist, err := h.svc.History(c.UserContext(), id)
	if err != nil {
		return err
	}
	csrf, _ := c.Locals("csrf").(string)
	actions := map[int64]RewardActions{}
	for _, r := range hist.Rewards {
		actions[r.ID] = RewardActions{R: r.Reward, CSRF: csrf, Back: r.Status, Referrer: strconv.FormatInt(id, 10)}
	}
	data := fiber.Map{"h": hist, "actions": actions}
	if hist.Code != nil {
		data["link"] = h.svc.ShareLink(hist.Code.Code)
	}
	if d := c.Query("done"); d != "" {
		data["notice"] = "Done."
	}
	return c.Render("admin/referrals/referrer", data)
}

// adminCodeSwitch disables or enables a referrer's code.
func (h *Handlers) adminCodeSwitch(c *fiber.Ctx) error {
	me, _ := staff.Current(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fault.Errorf(fault.NotFound, "There is no such customer.")
	}
	if err := h.svc.SetCodeDisabled(c.UserContext(), id, c.FormValue("disabled") == "true", me.Actor()); err != nil {
		return err
	}
	return c.Redirect("/admin/referrals/referrers/"+strconv.FormatInt(id, 10)+"?done=code", fiber.StatusSeeOther)
}

// adminInsert is the printable parcel card of an order.
func (h *Handlers) adminInsert(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("orderID"), 10, 64)
	if err != nil {
		return fault.Errorf(fault.NotFound, "There is no such order.")
	}
	card, err := h.svc.InsertCard(c.UserContext(), id)
	if err != nil {
		return err
	}
	svg, err := QRSVG(card.Link)
	if err != nil {
		return err
	}
	//nolint:gosec // our own SVG of rects, no user text in it
	return c.Render("admin/referrals/insert", fiber.Map{"card": card, "qr": template.HTML(svg)})
}
