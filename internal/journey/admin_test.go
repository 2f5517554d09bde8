package journey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/staff"
)

func TestJourneySettingsAreForAdmins(t *testing.T) {
	s := newSite(t)
	accounts := staff.NewAccounts(s.db)
	sue, err := accounts.Create(context.Background(), staff.NewAccount{Email: "sue@example.com", Name: "Sue", Role: staff.RoleSupport}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	abe, err := accounts.Create(context.Background(), staff.NewAccount{Email: "abe@example.com", Name: "Abe", Role: staff.RoleAdmin}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	session := func(id int64) *http.Cookie {
		resp := s.do("GET", "/test-signin/"+itoa(id), nil)
		for _, c := range resp.Cookies() {
			if c.Name != "aftercare_csrf" {
				return c
			}
		}
		t.Fatal("no staff session cookie")
		return nil
	}
	if resp := s.do("GET", "/admin/journey", nil, session(sue.ID)); resp.StatusCode != fiber.StatusForbidden {
		t.Fatalf("support opened the journey settings: %d", resp.StatusCode)
	}
	admin := session(abe.ID)
	resp := s.do("GET", "/admin/journey", nil, admin)
	body := read(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "Pacing of marketing email") || !strings.Contains(body, "Stripe is not configured") {
		t.Fatalf("%d\n%s", resp.StatusCode, body)
	}
	m := csrfField.FindStringSubmatch(body)
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "aftercare_csrf" {
			csrf = c
		}
	}
	form := url.Values{"_csrf": {m[1]}, "frequency_cap_hours": {"24"}, "quiet_start": {"22:00"}, "quiet_end": {"07:30"},
		"recommend_enabled": {"1"}, "recommend_after_days": {"7"}, "also_bought_min_orders": {"3"}, "winback_after_days": {"120"},
		"winback_percent_off": {"20"}, "winback_valid_days": {"14"}, "tracking": {"1"}}
	if resp := s.do("POST", "/admin/journey", form, admin, csrf); resp.StatusCode != fiber.StatusSeeOther {
		t.Fatalf("save: %d %s", resp.StatusCode, read(t, resp))
	}
	set, err := journey.LoadSettings(context.Background(), s.db)
	if err != nil || set.RecommendAfterDays != 7 || set.WinbackEnabled || set.ReplenishEnabled || set.WinbackPercentOff != 20 {
		t.Errorf("saved journey settings = %+v (%v)", set, err)
	}
	p, err := mail.LoadPacing(context.Background(), s.db)
	if err != nil || p != (mail.Pacing{FrequencyCapHours: 24, QuietStart: "22:00", QuietEnd: "07:30"}) {
		t.Errorf("saved pacing = %+v (%v)", p, err)
	}
	form.Set("quiet_start", "late")
	form.Set("winback_percent_off", "0")
	resp = s.do("POST", "/admin/journey", form, admin, csrf)
	if body := read(t, resp); resp.StatusCode != fiber.StatusUnprocessableEntity || !strings.Contains(body, "must be between 1 and 100") ||
		!strings.Contains(body, "time of day") {
		t.Fatalf("bad settings: %d\n%s", resp.StatusCode, body)
	}
}
