package auth

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// signIn spends a fresh login link in b and returns the session cookie value.
func (f *fixture) signIn(t *testing.T, b *browser, customerID int64) string {
	t.Helper()
	token, _ := f.issue(t, customerID, "login", SignInTTL)
	p := b.post("/m", url.Values{"token": {token}})
	wantStatus(t, p, http.StatusSeeOther)
	c := b.cookies[SessionCookie]
	if c == nil {
		t.Fatal("no session cookie after sign-in")
	}
	return c.Value
}

func TestSessionCookieIsHttpOnlySecureLaxAndOnlyItsHashIsStored(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "ivy@example.com")
	b := f.browser(t)
	value := f.signIn(t, b, id)
	c := b.cookies[SessionCookie]
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cookie flags: HttpOnly=%v Secure=%v SameSite=%v Path=%q", c.HttpOnly, c.Secure, c.SameSite, c.Path)
	}
	if d := time.Duration(c.MaxAge) * time.Second; d < ShopperSessionTTL-time.Minute || d > ShopperSessionTTL+time.Minute {
		t.Fatalf("cookie Max-Age is %s, want 30 days", d)
	}
	if n := f.count(t, `SELECT count(*) FROM sessions WHERE id_hash = sha256(convert_to($1, 'UTF8')) AND customer_id = $2`, value, id); n != 1 {
		t.Fatal("no session row under the SHA-256 of the cookie")
	}
	if n := f.count(t, `SELECT count(*) FROM sessions s WHERE strpos(s::text, $1) > 0`, value); n != 0 {
		t.Fatal("the session id is stored in the clear")
	}
	wantText(t, b.get("/orders"), "orders of customer "+strconv.FormatInt(id, 10))
}

func TestRequireCustomerSendsStrangersToSignIn(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	p := b.get("/orders/12?tab=items")
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/signin?next=%2Forders%2F12%3Ftab%3Ditems" {
		t.Fatalf("Location = %q", loc)
	}
	wantStatus(t, b.post("/orders/12/notes", nil), http.StatusUnauthorized)

	t.Run("and a stale or forged cookie is cleared", func(t *testing.T) {
		b := f.browser(t)
		b.cookies[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
		p := b.get("/orders")
		wantStatus(t, p, http.StatusSeeOther)
		if b.cookies[SessionCookie] != nil {
			t.Fatal("unknown session cookie kept")
		}
	})
}

func TestSafeNextAllowsOnlyLocalPaths(t *testing.T) {
	for in, want := range map[string]string{
		"/orders/5":              "/orders/5",
		"/orders?x=1#top":        "/orders?x=1#top",
		"":                       "",
		"orders":                 "",
		"//evil.example/x":       "",
		"/\\evil.example":        "",
		"https://evil.example/":  "",
		"javascript:alert(1)":    "",
		"/orders\r\nSet-Cookie:": "",
		"/%zz":                   "",
		"/\tevil":                "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignInReplacesTheSessionItCameWith(t *testing.T) {
	f := newFixture(t)
	a, bob := f.customer(t, "a@example.com"), f.customer(t, "bob@example.com")
	b := f.browser(t)
	first := f.signIn(t, b, a)
	second := f.signIn(t, b, bob)
	if first == second {
		t.Fatal("session id not rotated at sign-in")
	}
	if n := f.count(t, `SELECT count(*) FROM sessions WHERE id_hash = sha256(convert_to($1, 'UTF8'))`, first); n != 0 {
		t.Fatal("the session from before sign-in still exists")
	}
	wantText(t, b.get("/orders"), "orders of customer "+strconv.FormatInt(bob, 10))
}

func TestSignOutEndsTheSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	f.signIn(t, b, f.customer(t, "jo@example.com"))
	p := b.post("/signout", nil)
	wantStatus(t, p, http.StatusSeeOther)
	if c := p.set[SessionCookie]; c == nil || c.Value != "" {
		t.Fatalf("sign-out did not clear the cookie: %+v", c)
	}
	if n := f.count(t, `SELECT count(*) FROM sessions`); n != 0 {
		t.Fatalf("%d session rows left after sign-out", n)
	}
	wantText(t, b.get(p.header.Get("Location")), "You have signed out.")
	wantStatus(t, b.get("/orders"), http.StatusSeeOther)
}

func TestSessionExpirySlidesAtMostOnceAMinute(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	f.signIn(t, b, f.customer(t, "kai@example.com"))
	seen := func() (last, expires time.Time) {
		t.Helper()
		var row struct {
			Last    time.Time `db:"last_seen_at"`
			Expires time.Time `db:"expires_at"`
		}
		if err := f.db.Get(&row, `SELECT last_seen_at, expires_at FROM sessions`); err != nil {
			t.Fatal(err)
		}
		return row.Last, row.Expires
	}
	last0, _ := seen()
	b.get("/orders")
	if last1, _ := seen(); !last1.Equal(last0) {
		t.Fatal("a request within the minute wrote the session")
	}
	if _, err := f.db.Exec(`UPDATE sessions SET last_seen_at = now() - interval '2 minutes', expires_at = now() + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	p := b.get("/orders")
	wantStatus(t, p, http.StatusOK)
	_, expires := seen()
	if d := time.Until(expires); d < ShopperSessionTTL-time.Minute {
		t.Fatalf("expiry not slid: %s left", d)
	}
	if p.set[SessionCookie] == nil {
		t.Fatal("cookie not renewed with the slid expiry")
	}

	t.Run("and an expired session signs no one in", func(t *testing.T) {
		if _, err := f.db.Exec(`UPDATE sessions SET expires_at = now() - interval '1 second'`); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, b.get("/orders"), http.StatusSeeOther)
		if n, err := f.sessions.Sweep(t.Context()); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v", n, err)
		}
	})
}
