package auth

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func TestMagicLinkOpensAContinuePageThatChangesNothing(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "lu@example.com")
	token, _ := f.issue(t, id, "order:41", EmailLinkTTL)
	b := f.browser(t)
	for i := range 3 { // a mail scanner, a preview, then the shopper
		p := b.get("/m/" + token)
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "Continue to your order", `action="/m"`, `name="token" value="`+token+`"`, `name="_csrf"`)
		// The token is in the URL: never cached, never sent to another site.
		if rp := p.header.Get("Referrer-Policy"); p.header.Get("Cache-Control") != "no-store" || (rp != "no-referrer" && rp != "same-origin") {
			t.Fatalf("visit %d: headers %v", i, p.header)
		}
		if p.set[SessionCookie] != nil {
			t.Fatalf("visit %d started a session", i)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM login_tokens WHERE used_at IS NOT NULL`); n != 0 {
		t.Fatal("GET spent the token")
	}
	if n := f.count(t, `SELECT count(*) FROM sessions`); n != 0 {
		t.Fatal("GET created a session")
	}
}

func TestContinueSpendsTheLinkOnceAndOpensTheOrder(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "mo@example.com")
	token, _ := f.issue(t, id, "order:41", EmailLinkTTL)
	b := f.browser(t)
	b.get("/m/" + token)
	p := b.post("/m", url.Values{"token": {token}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/orders/41" {
		t.Fatalf("Location = %q, want /orders/41", loc)
	}
	wantText(t, b.get("/orders/41"), fmt.Sprintf("order 41 of customer %d", id))

	t.Run("a replay shows the used page and starts no session", func(t *testing.T) {
		other := f.browser(t)
		p := other.post("/m", url.Values{"token": {token}})
		wantStatus(t, p, http.StatusGone)
		wantText(t, p, "This link has been used or has expired", `action="/m/fresh"`)
		if other.cookies[SessionCookie] != nil {
			t.Fatal("replay started a session")
		}
		wantText(t, other.get("/m/"+token), "This link has been used or has expired")
	})
}

func TestLinksThatAreNotOursAreRefused(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "ned@example.com")
	token, _ := f.issue(t, id, "login", SignInTTL)
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sub := fmt.Sprintf(`"sub":"%d"`, id)
	if !strings.Contains(string(payload), sub) {
		t.Fatalf("payload %s lacks %s", payload, sub)
	}
	otherCustomer := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), sub, `"sub":"999"`, 1)))
	claims := jwt.MapClaims{"sub": strconv.FormatInt(id, 10), "pur": "login", "jti": uuid.NewString(), "exp": time.Now().Add(time.Hour).Unix()}
	f.links.now = func() time.Time { return time.Now().Add(-time.Hour) }
	expired, _ := f.issue(t, id, "login", SignInTTL)
	f.links.now = time.Now

	cases := []struct {
		name, token string
		status      int
		text        string
	}{
		{"tampered to name another customer", parts[0] + "." + otherCustomer + "." + parts[2], 400, "This link is not valid"},
		{"signed by an unknown kid", forge(t, jwt.SigningMethodHS256, "stolen", testKeys[0].Secret, claims), 400, "This link is not valid"},
		{"alg none", forge(t, jwt.SigningMethodNone, testKeys[0].ID, jwt.UnsafeAllowNoneSignatureType, claims), 400, "This link is not valid"},
		{"genuine but never stored", forge(t, jwt.SigningMethodHS256, testKeys[0].ID, testKeys[0].Secret, claims), 410, "used or has expired"},
		{"expired", expired, 410, "used or has expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" on GET", func(t *testing.T) {
			p := f.browser(t).get("/m/" + tc.token)
			wantStatus(t, p, tc.status)
			wantText(t, p, tc.text)
		})
		t.Run(tc.name+" on POST", func(t *testing.T) {
			b := f.browser(t)
			p := b.post("/m", url.Values{"token": {tc.token}})
			wantStatus(t, p, tc.status)
			wantText(t, p, tc.text)
			if b.cookies[SessionCookie] != nil {
				t.Fatal("a refused token started a session")
			}
		})
	}
	if n := f.count(t, `SELECT count(*) FROM sessions`); n != 0 {
		t.Fatalf("%d sessions from refused tokens", n)
	}
}

func TestLoginLinkGoesToTheWantedLocalPage(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "ola@example.com")
	for _, tc := range []struct{ name, next, want string }{
		{"no next goes to the orders", "", "/orders"},
		{"a local next is followed", "/orders/9", "/orders/9"},
		{"another site is ignored", "//evil.example/orders", "/orders"},
		{"a scheme is ignored", "https://evil.example/", "/orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, _ := f.issue(t, id, "login", SignInTTL)
			p := f.browser(t).post("/m", url.Values{"token": {token}, "next": {tc.next}})
			wantStatus(t, p, http.StatusSeeOther)
			if loc := p.header.Get("Location"); loc != tc.want {
				t.Fatalf("Location = %q, want %q", loc, tc.want)
			}
		})
	}
}

func TestExpiredLinkOffersAFreshOneToTheAddressOnFile(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "pia.long@example.com")
	f.links.now = func() time.Time { return time.Now().Add(-time.Hour) }
	token, _ := f.issue(t, id, "order:5", SignInTTL)
	f.links.now = time.Now
	b := f.browser(t)
	wantStatus(t, b.get("/m/"+token), http.StatusGone)
	p := b.post("/m/fresh", url.Values{"token": {token}, "email": {"attacker@evil.example"}})
	wantStatus(t, p, http.StatusOK)
	wantText(t, p, "p•••@e•••.com")
	if strings.Contains(p.body, "pia.long@example.com") {
		t.Fatal("the page shows the full address")
	}
	if n := f.count(t, `SELECT count(*) FROM messages WHERE kind = 'login_link' AND customer_id = $1 AND to_address = 'pia.long@example.com'`, id); n != 1 {
		t.Fatalf("%d fresh link emails to the address on file, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM messages WHERE to_address <> 'pia.long@example.com'`); n != 0 {
		t.Fatal("a fresh link went to an address from the form")
	}
	t.Run("but not for a forged token", func(t *testing.T) {
		last := "A"
		if strings.HasSuffix(token, "A") {
			last = "B"
		}
		p := f.browser(t).post("/m/fresh", url.Values{"token": {token[:len(token)-1] + last}})
		wantStatus(t, p, http.StatusBadRequest)
	})
}

func TestSignInAnswersTheSameForKnownAndUnknownAddresses(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "quinn@example.com")
	// The CSRF token and the CSP nonce are random per visitor and per request.
	random := regexp.MustCompile(`name="_csrf" value="[^"]*"|nonce="[^"]*"`)
	answer := func(email string) page {
		b := f.browser(t)
		wantStatus(t, b.get("/signin"), http.StatusOK)
		p := b.post("/signin", url.Values{"email": {email}})
		p.body = random.ReplaceAllString(p.body, "")
		return p
	}
	known := answer("  Quinn@Example.com ")
	unknown := answer("stranger@example.com")
	wantStatus(t, known, http.StatusOK)
	wantText(t, known, "If that address has orders with us, we have sent a sign-in link and a 6-digit code", "20 minutes")
	if known.status != unknown.status || known.body != unknown.body {
		t.Fatalf("answers differ:\nknown %d:\n%s\nunknown %d:\n%s", known.status, known.body, unknown.status, unknown.body)
	}
	if n := f.count(t, `SELECT count(*) FROM messages WHERE kind = 'login_link' AND customer_id = $1 AND to_address = 'quinn@example.com' AND dedupe_key LIKE 'login_link:%'`, id); n != 1 {
		t.Fatalf("%d login_link messages for the known address, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM messages`); n != 1 {
		t.Fatalf("%d messages in all, want only the known address's", n)
	}
	if n := f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'mail.deliver'`); n != 1 {
		t.Fatalf("%d delivery jobs, want 1", n)
	}
}

func TestSignInRefusesAnInvalidAddress(t *testing.T) {
	f := newFixture(t)
	p := f.browser(t).post("/signin", url.Values{"email": {"Quinn <q@example.com>"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantText(t, p, `aria-invalid="true"`, "Enter the email address you used")
}

func TestSignInIsRateLimited(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		f := newFixture(t)
		f.customer(t, "ray@example.com")
		b := f.browser(t)
		for range linkPerEmail.n {
			wantStatus(t, b.post("/signin", url.Values{"email": {"ray@example.com"}}), http.StatusOK)
		}
		p := b.post("/signin", url.Values{"email": {"RAY@example.com"}})
		wantStatus(t, p, http.StatusTooManyRequests)
		wantText(t, p, "Too many attempts")
		if s, _ := strconv.Atoi(p.header.Get("Retry-After")); s < 1 || s > 15*60 {
			t.Fatalf("Retry-After = %q", p.header.Get("Retry-After"))
		}
		if n := f.count(t, `SELECT count(*) FROM messages`); n != linkPerEmail.n {
			t.Fatalf("%d emails sent, want %d", n, linkPerEmail.n)
		}
	})
	t.Run("per IP address", func(t *testing.T) {
		f := newFixture(t)
		b := f.browser(t)
		for i := range linkPerIP.n {
			wantStatus(t, b.post("/signin", url.Values{"email": {fmt.Sprintf("guess%d@example.com", i)}}), http.StatusOK)
		}
		wantStatus(t, b.post("/signin", url.Values{"email": {"one-more@example.com"}}), http.StatusTooManyRequests)
	})
}

func TestCodeSignsInOnAnotherDevice(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "sam@example.com")
	token, code := f.issue(t, id, "order:77", SignInTTL)
	b := f.browser(t)
	wantText(t, b.get("/signin/code"), `autocomplete="one-time-code"`, `inputmode="numeric"`)
	p := b.post("/signin/code", url.Values{"email": {"Sam@example.com"}, "code": {code}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/orders/77" {
		t.Fatalf("Location = %q", loc)
	}
	wantText(t, b.get("/orders/77"), fmt.Sprintf("order 77 of customer %d", id))
	wantStatus(t, f.browser(t).post("/m", url.Values{"token": {token}}), http.StatusGone)
}

func TestCodeLocksAfterFiveWrongTries(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "tia@example.com")
	_, code := f.issue(t, id, "login", SignInTTL)
	b := f.browser(t)
	for i := range MaxCodeTries {
		p := b.post("/signin/code", url.Values{"email": {"tia@example.com"}, "code": {wrongCode(code, i)}})
		wantStatus(t, p, http.StatusUnauthorized)
		wantText(t, p, "That code is not right")
	}
	p := b.post("/signin/code", url.Values{"email": {"tia@example.com"}, "code": {code}})
	wantStatus(t, p, http.StatusUnauthorized)
	if b.cookies[SessionCookie] != nil {
		t.Fatal("signed in after the code locked")
	}
	t.Run("and the code form is rate-limited", func(t *testing.T) {
		var last page
		for range codePerEmail.n {
			last = b.post("/signin/code", url.Values{"email": {"tia@example.com"}, "code": {"000000"}})
		}
		wantStatus(t, last, http.StatusTooManyRequests)
	})
}

func TestSignInReturnsToThePageTheShopperWanted(t *testing.T) {
	f := newFixture(t)
	id := f.customer(t, "uma@example.com")
	b := f.browser(t)
	p := b.get("/orders/9")
	wantStatus(t, p, http.StatusSeeOther)
	form := b.get(p.header.Get("Location"))
	wantText(t, form, `name="next" value="/orders/9"`, `autocomplete="email"`, `<label for="email">`)
	wantStatus(t, b.post("/signin", url.Values{"email": {"uma@example.com"}, "next": {"/orders/9"}}), http.StatusOK)
	// The emailed link is opened on the same device; it carries no next itself.
	token, _ := f.issue(t, id, "login", SignInTTL)
	p = b.post("/m", url.Values{"token": {token}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/orders/9" {
		t.Fatalf("Location = %q, want /orders/9", loc)
	}
	if b.cookies[nextCookie] != nil {
		t.Fatal("the remembered page outlived the sign-in")
	}
}
