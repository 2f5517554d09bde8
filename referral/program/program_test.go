package program

import (
	"slices"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/fault"
)

func TestValidateNamesEachBadField(t *testing.T) {
	cases := []struct {
		name   string
		change func(s *Settings)
		field  string
	}{
		{"the defaults are valid", func(s *Settings) {}, ""},
		{"a made-up currency", func(s *Settings) { s.Currency = "dollars" }, "currency"},
		{"a percent over 100", func(s *Settings) { s.Friend.Percent = 120 }, "friend.percent"},
		{"a zero amount", func(s *Settings) { s.Referrer.AmountMinor = 0 }, "referrer.amount"},
		{"an unknown kind", func(s *Settings) { s.Friend.Kind = "free" }, "friend.kind"},
		{"no expiry", func(s *Settings) { s.Referrer.ExpiryDays = 0 }, "referrer.expiry_days"},
		{"credit needs an amount", func(s *Settings) { s.RewardType, s.Referrer = Credit, Offer{Kind: Percent, Percent: 5, ExpiryDays: 5} }, "referrer.kind"},
		{"an unknown reward type", func(s *Settings) { s.RewardType = "cash" }, "reward_type"},
		{"a bad store parameter", func(s *Settings) { s.StoreParam = "dis count" }, "store_param"},
		{"a window of no days", func(s *Settings) { s.AttributionDays = 0 }, "attribution_days"},
		{"a negative cap", func(s *Settings) { s.MonthlyCap = -1 }, "monthly_cap"},
		{"a bad milestone offer", func(s *Settings) { s.MilestoneAfter, s.Milestone.AmountMinor = 5, 0 }, "milestone.amount"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Defaults()
			tc.change(&s)
			err := s.Validate()
			fe, _ := fault.As(err)
			var fields []string
			if fe != nil {
				for _, f := range fe.Fields {
					fields = append(fields, f.Field)
				}
			}
			if (tc.field == "") != (err == nil) || (tc.field != "" && !slices.Contains(fields, tc.field)) {
				t.Fatalf("error %v (fields %v), want one on %q", err, fields, tc.field)
			}
		})
	}
}

func TestTermsSayWhatEachSideGets(t *testing.T) {
	s := Defaults()
	s.Friend.MinimumMinor, s.MilestoneAfter, s.MilestoneRepeat = 2500, 5, true
	terms := strings.Join(s.Terms(14), "\n")
	for _, want := range []string{
		"Your friend gets 10% off their first order of $25.00 or more. Their code works once, for 30 days.",
		"You get $10.00 off your next order for each friend whose first order is delivered and kept past the 14-day return window.",
		"when 5 of your friends have earned you a reward, you get $25.00 off your next order as well, and again every 5 after that",
		"Up to 10 rewards a month and 50 in all.", "within 90 days",
	} {
		if !strings.Contains(terms, want) {
			t.Errorf("terms lack %q:\n%s", want, terms)
		}
	}
}
