package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/staff"
	"github.com/aftercare/aftercare/referral"
)

// offsite are redirect targets that lead, or that some browser reads as
// leading, to another site.
var offsite = []string{
	"https://evil.example", "http://evil.example/orders", "//evil.example", "///evil.example", "/\\evil.example",
	"\\\\evil.example", "/\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
	"https:evil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example", "/%5Cevil.example", "/\t/evil.example",
	" //evil.example", "/orders\r\nLocation: https://evil.example", "//evil.example/%2F..", "/admin//evil.example",
	"/admin/\\evil.example", "//evil.example@127.0.0.1", "/admin@evil.example", "\x00//evil.example", "／／evil.example",
}

// assertLocal fails unless loc is empty or stays on base's origin as every
// browser reads it (backslashes count as slashes, tabs and newlines vanish).
func assertLocal(t *testing.T, what, base, loc string) {
	t.Helper()
	if loc == "" {
		return
	}
	cleaned := strings.NewReplacer("\\", "/", "\t", "", "\n", "", "\r", "").Replace(strings.TrimSpace(loc))
	b, _ := url.Parse(base)
	u, err := url.Parse(cleaned)
	if err != nil || !strings.HasPrefix(cleaned, "/") || strings.HasPrefix(cleaned, "//") || b.ResolveReference(u).Host != b.Host {
		t.Errorf("%s: redirects to %q, off the site", what, loc)
	}
}

func TestSecurityRedirectParametersStayOnSite(t *testing.T) {
	l := startLive(t)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	l.placeDemoOrder(t, "jane@example.com", "#9001")
	l.createStaff(t, "ops@example.com", staff.RoleAdmin)
	signedInStaff := l.agent(t)
	signedInStaff.signInStaff("lead@example.com", staff.RoleAdmin)
	id := l.customerID(t, "jane@example.com")

	for i, evil := range offsite {
		// Many sign-ins from one address: the limits are another test's.
		if _, err := l.DB.Exec(`DELETE FROM rate_limits`); err != nil {
			t.Fatal(err)
		}
		// Shopper: next on the sign-in form (kept in a cookie), then on the link's Continue form.
		v := l.agent(t)
		v.post("/signin", url.Values{"email": {"jane@example.com"}, "next": {evil}})
		token := l.magicToken(t, "jane@example.com", "login")
		p := v.post("/m", url.Values{"token": {token}})
		assertLocal(t, "magic link after next="+evil+" on /signin", l.base, p.header.Get("Location"))
		v = l.agent(t)
		token = l.magicToken(t, "jane@example.com", "login")
		p = v.post("/m", url.Values{"token": {token}, "next": {evil}})
		assertLocal(t, "magic link with next="+evil, l.base, p.header.Get("Location"))
		// The 6-digit code, on another device.
		link, err := l.Links.Issue(t.Context(), l.DB, id, "login", 3600e9)
		if err != nil {
			t.Fatal(err)
		}
		v = l.agent(t)
		p = v.post("/signin/code", url.Values{"email": {"jane@example.com"}, "code": {link.Code}, "next": {evil}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("code sign-in: %d", p.status)
		}
		assertLocal(t, "code with next="+evil, l.base, p.header.Get("Location"))
		// Pages that need sign-in put the path they were asked for in next.
		assertLocal(t, "signed-out "+evil, l.base, l.agent(t).get("/orders?x="+url.QueryEscape(evil)).header.Get("Location"))

		// Staff: next on the password form, and on the sign-in page when already signed in.
		// (A password costs a slow hash: the same safeNext is checked for
		// every payload on the signed-in page below.)
		if i < 6 {
			p = l.agent(t).post("/admin/signin", url.Values{"email": {"ops@example.com"}, "password": {"a long staff password"}, "next": {evil}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("staff sign-in: %d", p.status)
			}
			assertLocal(t, "staff sign-in with next="+evil, l.base, p.header.Get("Location"))
		}
		p = signedInStaff.get("/admin/signin?next=" + url.QueryEscape(evil))
		assertLocal(t, "signed-in staff with next="+evil, l.base, p.header.Get("Location"))
		p = signedInStaff.post("/admin/referrals/rewards/1/approve", url.Values{"back": {evil}})
		assertLocal(t, "reward action back="+evil, l.base, p.header.Get("Location"))

		// The store link on a referral landing page takes only http(s).
		if link := referral.StoreLink(evil, "discount", "JANE-1"); link != "" && !strings.HasPrefix(link, "http") {
			t.Errorf("store link from %q: %q", evil, link)
		}
	}

	// Click tracking redirects only to the target signed for the message.
	var msg int64
	if err := l.DB.Get(&msg, `SELECT min(id) FROM messages`); err != nil {
		t.Fatal(err)
	}
	links := journey.NewLinks(l.Config.SigningKeys, l.base)
	genuine, _ := url.Parse(links.ClickURL(msg, "https://shop.example/kettle"))
	v := l.agent(t)
	if p := v.get(genuine.RequestURI()); p.status != http.StatusFound || p.header.Get("Location") != "https://shop.example/kettle" {
		t.Fatalf("a genuine click link: %d %q", p.status, p.header.Get("Location"))
	}
	for _, evil := range offsite {
		q := genuine.Query()
		q.Set("u", evil)
		p := v.get(genuine.Path + "?" + q.Encode())
		if loc := p.header.Get("Location"); loc != "" || p.status < 400 {
			t.Errorf("click link with u=%q and the genuine signature: %d %q", evil, p.status, loc)
		}
		signedEvil, _ := url.Parse(links.ClickURL(msg, evil))
		p = v.get(signedEvil.RequestURI())
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(evil)), "javascript") || strings.HasPrefix(evil, "data:") {
			if p.header.Get("Location") != "" {
				t.Errorf("a signed %q link redirects: %q", evil, p.header.Get("Location"))
			}
		}
	}
}
