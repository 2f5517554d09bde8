package main

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/aftercare/aftercare/internal/staff"
)

// limitHolds sends attempt n+1 times, alternating between the agents (two
// instances on one database), and wants the first n answered with ok and
// the last refused with 429 and a Retry-After.
func limitHolds(t *testing.T, what string, n int, ok int, agents []*secAgent, attempt func(a *secAgent) secPage) {
	t.Helper()
	for i := 0; i < n; i++ {
		if p := attempt(agents[i%len(agents)]); p.status != ok {
			t.Fatalf("%s: attempt %d answered %d, want %d", what, i+1, p.status, ok)
		}
	}
	p := attempt(agents[n%len(agents)])
	secs, err := strconv.Atoi(p.header.Get("Retry-After"))
	if p.status != http.StatusTooManyRequests || err != nil || secs <= 0 {
		t.Fatalf("%s: attempt %d answered %d with Retry-After %q, want 429 and a positive Retry-After", what, n+1, p.status, p.header.Get("Retry-After"))
	}
}

func TestSecurityRateLimitsHoldAcrossTwoInstances(t *testing.T) {
	a := startLive(t)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	b := startLiveWith(t, map[string]string{"AFTERCARE_DATABASE_URL": a.Config.DatabaseURL})
	a.placeDemoOrder(t, "jane@example.com", "#9101")
	a.createStaff(t, "ops@example.com", staff.RoleAdmin)
	agents := []*secAgent{a.agent(t), b.agent(t)}

	// Sign-in links: 5 per address per 15 minutes.
	limitHolds(t, "sign-in link by email", 5, http.StatusOK, agents, func(v *secAgent) secPage {
		return v.post("/signin", url.Values{"email": {"jane@example.com"}})
	})
	// Codes: 10 tries per address, right or wrong.
	limitHolds(t, "sign-in code", 10, http.StatusUnauthorized, agents, func(v *secAgent) secPage {
		return v.post("/signin/code", url.Values{"email": {"jane@example.com"}, "code": {"000000"}})
	})
	// Once limited, even the right code is refused.
	link, err := a.Links.Issue(t.Context(), a.DB, a.customerID(t, "jane@example.com"), "login", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	if p := agents[1].post("/signin/code", url.Values{"email": {"jane@example.com"}, "code": {link.Code}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("the right code after the limit: %d, want 429", p.status)
	}
	// Staff passwords: 10 per address.
	limitHolds(t, "staff password", 10, http.StatusUnauthorized, agents, func(v *secAgent) secPage {
		return v.post("/admin/signin", url.Values{"email": {"ops@example.com"}, "password": {"wrong password, long enough"}})
	})
	if p := agents[0].post("/admin/signin", url.Values{"email": {"ops@example.com"}, "password": {"a long staff password"}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("the right password after the limit: %d, want 429", p.status)
	}
	// Referral claims: 5 per friend's address per hour. Without Stripe each
	// allowed claim ends in 503 (no code can be issued); the limit comes first.
	jane := a.signInShopper(t, "jane@example.com")
	if p := jane.get("/refer"); p.status != http.StatusOK {
		t.Fatalf("refer page: %d", p.status)
	}
	var code string
	if err := a.DB.Get(&code, `SELECT code FROM referral_codes LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	limitHolds(t, "referral claim", 5, http.StatusServiceUnavailable, agents, func(v *secAgent) secPage {
		return v.post("/r/"+code, url.Values{"email": {"friend@example.org"}})
	})
}
