package staff

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPasswordSignInStartsATwelveHourSession(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "ana@example.com", RoleAdmin, "ana's long password")
	b := f.browser(t)
	wantText(t, b.get("/admin/signin"), `autocomplete="current-password"`, `<label for="password">`, `action="/admin/signin/link"`)
	p := b.post("/admin/signin", url.Values{"email": {" Ana@Example.com"}, "password": {"ana's long password"}})
	wantStatus(t, p, http.StatusSeeOther)
	wantLocation(t, p, "/admin")

	c := p.set[SessionCookie]
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/admin" {
		t.Fatalf("cookie %+v", c)
	}
	if d := time.Duration(c.MaxAge) * time.Second; d < SessionTTL-time.Minute || d > SessionTTL {
		t.Fatalf("cookie Max-Age %s, want 12 h", d)
	}
	if n := f.count(t, `SELECT count(*) FROM staff_sessions WHERE id_hash = sha256(convert_to($1, 'UTF8')) AND staff_id = $2
		AND expires_at = created_at + interval '12 hours'`, c.Value, acc.ID); n != 1 {
		t.Fatal("no 12-hour session row under the SHA-256 of the cookie")
	}
	if n := f.count(t, `SELECT count(*) FROM staff_sessions s WHERE strpos(s::text, $1) > 0`, c.Value); n != 0 {
		t.Fatal("the session id is stored in the clear")
	}
	if n := f.count(t, `SELECT count(*) FROM staff WHERE id = $1 AND last_sign_in_at > now() - interval '1 minute'`, acc.ID); n != 1 {
		t.Fatal("last_sign_in_at not set")
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'staff.signed_in' AND detail->>'method' = 'password'`, acc.Subject()); n != 1 {
		t.Fatal("sign-in not audited")
	}
	home := b.get("/admin")
	wantStatus(t, home, http.StatusOK)
	wantText(t, home, "Dashboard", `aria-label="Admin sections"`, `href="/admin/returns"`, "Test admin", `action="/admin/signout"`)

	t.Run("the cookie is never sent outside /admin", func(t *testing.T) {
		p := f.browser(t).do(http.MethodGet, "/admin/signin", nil)
		if p.set[SessionCookie] != nil {
			t.Fatal("a visitor got a session cookie")
		}
	})
	t.Run("signing in again replaces the session", func(t *testing.T) {
		old := b.cookies[SessionCookie].Value
		b.signIn("ana@example.com", "ana's long password")
		if b.cookies[SessionCookie].Value == old {
			t.Fatal("session id kept")
		}
		if n := f.count(t, `SELECT count(*) FROM staff_sessions WHERE id_hash = sha256(convert_to($1, 'UTF8'))`, old); n != 0 {
			t.Fatal("the old session survives")
		}
	})
}

func TestWrongPasswordAndUnknownAddressAnswerTheSame(t *testing.T) {
	f := newFixture(t)
	f.member(t, "ben@example.com", RoleSupport, "ben's long password")
	f.member(t, "linky@example.com", RoleSupport, "")
	gone := f.member(t, "gone@example.com", RoleSupport, "gone's long password")
	if _, err := f.accounts.Disable(t.Context(), gone.ID, "system"); err != nil {
		t.Fatal(err)
	}
	answer := func(email, password string) page {
		b := f.browser(t)
		p := b.post("/admin/signin", url.Values{"email": {email}, "password": {password}})
		p.body = random.ReplaceAllString(p.body, "")
		if b.cookies[SessionCookie] != nil {
			t.Fatalf("%s signed in", email)
		}
		return p
	}
	wrong := answer("ben@example.com", "not ben's password")
	wantStatus(t, wrong, http.StatusUnauthorized)
	wantText(t, wrong, "That email address and password do not match a staff account.", `aria-invalid="true"`)
	for _, tc := range []struct{ name, email, password string }{
		{"an unknown address", "nobody@example.com", "not ben's password"},
		{"a link-only account", "linky@example.com", "not ben's password"},
		{"a disabled account with its right password", "gone@example.com", "gone's long password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := answer(tc.email, tc.password)
			// The form keeps what was typed; the rest must be identical.
			other.body = strings.ReplaceAll(other.body, tc.email, "ben@example.com")
			if other.status != wrong.status || other.body != wrong.body {
				t.Fatalf("answers differ:\nwrong password %d:\n%s\n%s %d:\n%s", wrong.status, wrong.body, tc.name, other.status, other.body)
			}
		})
	}
	if n := f.count(t, `SELECT count(*) FROM staff_sessions`); n != 0 {
		t.Fatalf("%d sessions", n)
	}
}

func TestPasswordSignInIsRateLimited(t *testing.T) {
	t.Run("per address, even with the right password", func(t *testing.T) {
		f := newFixture(t)
		f.member(t, "cleo@example.com", RoleSupport, "cleo's long password")
		b := f.browser(t)
		for range passwordPerEmail.n {
			wantStatus(t, b.post("/admin/signin", url.Values{"email": {"cleo@example.com"}, "password": {"a guess at it"}}), http.StatusUnauthorized)
		}
		p := b.post("/admin/signin", url.Values{"email": {"CLEO@example.com"}, "password": {"cleo's long password"}})
		wantStatus(t, p, http.StatusTooManyRequests)
		wantText(t, p, "Too many attempts")
		if s, _ := strconv.Atoi(p.header.Get("Retry-After")); s < 1 || s > 15*60 {
			t.Fatalf("Retry-After = %q", p.header.Get("Retry-After"))
		}
		if b.cookies[SessionCookie] != nil {
			t.Fatal("signed in past the limit")
		}
	})
	t.Run("per IP address", func(t *testing.T) {
		f := newFixture(t)
		b := f.browser(t)
		for i := range passwordPerIP.n {
			wantStatus(t, b.post("/admin/signin", url.Values{"email": {"guess" + strconv.Itoa(i) + "@example.com"}, "password": {"password guess"}}), http.StatusUnauthorized)
		}
		wantStatus(t, b.post("/admin/signin", url.Values{"email": {"one-more@example.com"}, "password": {"password guess"}}), http.StatusTooManyRequests)
	})
}

func TestSignInRefusesAnEmptyForm(t *testing.T) {
	f := newFixture(t)
	p := f.browser(t).post("/admin/signin", url.Values{"email": {"dee@example.com"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantText(t, p, "Enter your staff email address and your password.")
}

func TestSignInReturnsToTheWantedAdminPage(t *testing.T) {
	f := newFixture(t)
	f.member(t, "eve@example.com", RoleAdmin, "eve's long password")
	b := f.browser(t)
	p := b.get("/admin/audit?action=staff")
	wantStatus(t, p, http.StatusSeeOther)
	wantLocation(t, p, "/admin/signin?next=%2Fadmin%2Faudit%3Faction%3Dstaff")
	wantText(t, b.get(p.header.Get("Location")), `name="next" value="/admin/audit?action=staff"`)
	for _, tc := range []struct{ next, want string }{
		{"/admin/audit?action=staff", "/admin/audit?action=staff"},
		{"//evil.example/admin", "/admin"},
		{"/orders", "/admin"},
		{"https://evil.example/admin", "/admin"},
		{"/admin/../orders", "/admin"},
	} {
		t.Run("next "+tc.next, func(t *testing.T) {
			p := f.browser(t).post("/admin/signin", url.Values{"email": {"eve@example.com"}, "password": {"eve's long password"}, "next": {tc.next}})
			wantStatus(t, p, http.StatusSeeOther)
			wantLocation(t, p, tc.want)
		})
	}
	t.Run("a signed-in member skips the sign-in page", func(t *testing.T) {
		b := f.browser(t)
		b.signIn("eve@example.com", "eve's long password")
		p := b.get("/admin/signin?next=/admin/staff")
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/admin/staff")
	})
}

func TestSignOutEndsTheSession(t *testing.T) {
	f := newFixture(t)
	f.member(t, "fay@example.com", RoleSupport, "fay's long password")
	b := f.browser(t)
	b.signIn("fay@example.com", "fay's long password")
	old := b.cookies[SessionCookie].Value
	p := b.post("/admin/signout", nil)
	wantStatus(t, p, http.StatusSeeOther)
	wantLocation(t, p, "/admin/signin?out=1")
	if c := p.set[SessionCookie]; c == nil || c.Value != "" || c.Path != "/admin" {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	wantText(t, b.get("/admin/signin?out=1"), "You have signed out.")
	if n := f.count(t, `SELECT count(*) FROM staff_sessions`); n != 0 {
		t.Fatal("session row survives sign-out")
	}
	t.Run("and the old cookie no longer works", func(t *testing.T) {
		thief := f.browser(t)
		thief.cookies[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: old, Path: "/admin"}
		wantStatus(t, thief.get("/admin"), http.StatusSeeOther)
		if thief.cookies[SessionCookie] != nil {
			t.Fatal("the dead cookie was not cleared")
		}
	})
}
