package referral

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
	"github.com/aftercare/aftercare/web"
)

// Ledger states, as the Refer page names and colours them.
const (
	StateInvited  = "invited"
	StateOrdered  = "ordered"
	StatePending  = "pending"
	StateRewarded = "rewarded"
	StateVoided   = "voided"
)

// LedgerEntry is one line of a referrer's ledger: a friend (or a milestone
// bonus) and how far it got.
type LedgerEntry struct {
	Friend    string // the friend's email, masked; "" for a bonus
	Bonus     bool
	InvitedAt time.Time
	OrderedAt *time.Time
	State     string
	// Until is the end of the hold once the order is delivered.
	Until *time.Time
	// Detail says what the state means now: what it waits for, the reward,
	// or why it was voided.
	Detail string
	// Code is the reward's promotion code once granted (coupon rewards).
	Code        string
	CodeExpires *time.Time
}

// ReferPage is what the Refer page shows a signed-in referrer.
type ReferPage struct {
	Code       Code
	Link       string
	Program    program.Settings
	Offer      string // the friend's offer in words
	Reward     string // the referrer's reward in words
	Terms      []string
	ReturnDays int
	Ledger     []LedgerEntry
	Rewarded   int
}

// ReferPage builds the Refer page of a customer, creating their code the
// first time and remembering the device they look at it from (a friend's
// order from this device is then a self-referral).
func (s *Service) ReferPage(ctx context.Context, customerID int64, deviceID string) (ReferPage, error) {
	var pg ReferPage
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if pg.Code, err = s.EnsureCode(ctx, tx, customerID); err != nil {
			return err
		}
		ids := Identities{}
		ids.Add(IdentityDevice, deviceID)
		return rememberIdentities(ctx, tx, customerID, ids)
	})
	if err != nil {
		return pg, err
	}
	if pg.Program, err = program.Load(ctx, s.db); err != nil {
		return pg, err
	}
	if pg.ReturnDays, err = rewards.ReturnDays(ctx, s.db); err != nil {
		return pg, err
	}
	p := pg.Program
	pg.Link, pg.Offer, pg.Reward = s.ShareLink(pg.Code.Code), p.Friend.Describe(p.Currency), p.DescribeReward(p.Referrer)
	pg.Terms = p.Terms(pg.ReturnDays)
	pg.Ledger, err = s.Ledger(ctx, customerID)
	for _, e := range pg.Ledger {
		if e.State == StateRewarded && !e.Bonus {
			pg.Rewarded++
		}
	}
	return pg, err
}

// Ledger lists a referrer's referrals and bonuses, newest first, with what
// each is waiting for or why it ended.
func (s *Service) Ledger(ctx context.Context, customerID int64) ([]LedgerEntry, error) {
	refs, err := referralsWhere(ctx, s.db, `referrer_id = $1 AND (status = 'converted' OR stripe_promotion_code_id <> '')`, customerID)
	if err != nil {
		return nil, err
	}
	rs, err := s.rewards.OfCustomer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	byReferral := map[int64]rewards.Reward{}
	var out []LedgerEntry
	for _, r := range rs {
		if r.ReferralID != nil {
			byReferral[*r.ReferralID] = r
		} else {
			e := LedgerEntry{Bonus: true, InvitedAt: r.CreatedAt}
			fill(&e, r)
			out = append(out, e)
		}
	}
	for _, ref := range refs {
		e := LedgerEntry{Friend: maskEmail(ref.FriendEmail), InvitedAt: ref.CreatedAt, OrderedAt: ref.ConvertedAt, State: StateInvited,
			Detail: "They have your offer; you earn when they order."}
		if r, ok := byReferral[ref.ID]; ok {
			fill(&e, r)
		} else if ref.Status == Converted {
			e.State, e.Detail = StateOrdered, "They ordered."
		}
		out = append(out, e)
	}
	// Newest first, by when each began.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].InvitedAt.After(out[j-1].InvitedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// fill sets an entry's state from its reward.
func fill(e *LedgerEntry, r rewards.Reward) {
	what := describeReward(r)
	switch r.Status {
	case rewards.Held:
		e.State, e.Until = StatePending, r.PayableAt
		switch r.HoldNote {
		case "waiting for delivery":
			e.Detail = "Waiting for their order to be delivered; then the return window runs."
		case "a return is open":
			e.Detail = "They have a return open; we wait until it is settled."
		default:
			e.Detail = "You get " + what + " once their return window has passed."
		}
	case rewards.Flagged:
		e.State, e.Detail = StatePending, "Our team is checking this referral; you get "+what+" once it is approved."
	case rewards.Pending, rewards.Failed:
		e.State, e.Detail = StatePending, "Your reward of "+what+" is on its way."
	case rewards.Granted:
		e.State, e.Code, e.CodeExpires = StateRewarded, r.Code(), r.CodeExpiresAt
		e.Detail = "You got " + what + "."
	case rewards.Voided:
		e.State, e.Detail = StateVoided, r.VoidReason
		if r.Clawback != rewards.ClawbackNone {
			if r.RewardType == program.Credit {
				e.Detail += " The credit was taken back."
			} else {
				e.Detail += " Your reward code was switched off."
			}
		}
	}
}

// describeReward is a reward in a shopper's words.
func describeReward(r rewards.Reward) string {
	o := program.Offer{Kind: r.OfferKind, Percent: r.Percent, AmountMinor: r.AmountMinor}
	if r.RewardType == program.Credit {
		return web.Money(r.AmountMinor, r.Currency) + " store credit"
	}
	return o.Describe(r.Currency) + " your next order"
}

// maskEmail shows enough of a friend's address to recognize it, not to
// harvest it: s•••@example.com.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "a friend"
	}
	return string([]rune(local)[0]) + "•••@" + domain
}
