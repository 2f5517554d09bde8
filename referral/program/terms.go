package program

import (
	"fmt"

	"github.com/aftercare/aftercare/web"
)

// Terms are the program's rules in a shopper's words, one sentence a
// line, for the Refer page, the friend's page and the invite email.
// returnDays is the store's return window.
func (s Settings) Terms(returnDays int) []string {
	friend := fmt.Sprintf("Your friend gets %s their first order", s.Friend.Describe(s.Currency))
	if s.Friend.MinimumMinor > 0 {
		friend += " of " + web.Money(s.Friend.MinimumMinor, s.Currency) + " or more"
	}
	friend += fmt.Sprintf(". Their code works once, for %d days.", s.Friend.ExpiryDays)
	you := fmt.Sprintf("You get %s for each friend whose first order is delivered and kept past the %d-day return window.",
		s.DescribeReward(s.Referrer), returnDays)
	out := []string{friend, you}
	if s.RewardType == Coupon {
		line := fmt.Sprintf("Your reward comes as a single-use code for you, valid for %d days", s.Referrer.ExpiryDays)
		if s.Referrer.MinimumMinor > 0 {
			line += " on orders of " + web.Money(s.Referrer.MinimumMinor, s.Currency) + " or more"
		}
		out = append(out, line+".")
	} else {
		out = append(out, "Your reward is credit on your account with us.")
	}
	if s.MilestoneAfter > 0 {
		line := fmt.Sprintf("Bonus: when %d of your friends have earned you a reward, you get %s as well", s.MilestoneAfter, s.DescribeReward(s.Milestone))
		if s.MilestoneRepeat {
			line += fmt.Sprintf(", and again every %d after that", s.MilestoneAfter)
		}
		out = append(out, line+".")
	}
	if s.MonthlyCap > 0 && s.LifetimeCap > 0 {
		out = append(out, fmt.Sprintf("Up to %d rewards a month and %d in all.", s.MonthlyCap, s.LifetimeCap))
	} else if s.MonthlyCap > 0 {
		out = append(out, fmt.Sprintf("Up to %d rewards a month.", s.MonthlyCap))
	} else if s.LifetimeCap > 0 {
		out = append(out, fmt.Sprintf("Up to %d rewards in all.", s.LifetimeCap))
	}
	out = append(out,
		fmt.Sprintf("A friend counts once, for the first person who referred them, and only for a first order placed within %d days of taking the offer.", s.AttributionDays),
		"Orders that are cancelled, refunded or disputed do not count, and neither does referring yourself.")
	return out
}
