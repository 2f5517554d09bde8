package staff

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/mail"
)

func TestMagicLinkOpensAContinuePageThatChangesNothing(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "gus@example.com", RoleSupport, "")
	token := f.token(t, acc.ID, LinkTTL)
	b := f.browser(t)
	for i := range 3 { // a mail scanner, a preview, then the person
		p := b.get("/admin/m/" + token)
		wantStatus(t, p, http.StatusOK)
		wantText(t, p, "Continue to the admin", `action="/admin/m"`, `name="token" value="`+token+`"`, `name="_csrf"`)
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("Referrer-Policy") != "same-origin" {
			t.Fatalf("visit %d: headers %v", i, p.header)
		}
		if p.set[SessionCookie] != nil {
			t.Fatalf("visit %d started a session", i)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM staff_login_tokens WHERE used_at IS NOT NULL`); n != 0 {
		t.Fatal("GET spent the link")
	}
	if n := f.count(t, `SELECT count(*) FROM staff_sessions`); n != 0 {
		t.Fatal("GET created a session")
	}
}

func TestContinueSpendsTheLinkOnce(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "hal@example.com", RoleSupport, "")
	token := f.token(t, acc.ID, LinkTTL)
	b := f.browser(t)
	b.get("/admin/m/" + token)
	p := b.post("/admin/m", url.Values{"token": {token}})
	wantStatus(t, p, http.StatusSeeOther)
	wantLocation(t, p, "/admin")
	wantText(t, b.get("/admin"), "Dashboard", "Test support")
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'staff.signed_in' AND detail->>'method' = 'link'`, acc.Subject()); n != 1 {
		t.Fatal("link sign-in not audited")
	}

	t.Run("a replay is refused and starts no session", func(t *testing.T) {
		other := f.browser(t)
		p := other.post("/admin/m", url.Values{"token": {token}})
		wantStatus(t, p, http.StatusGone)
		wantText(t, p, "This sign-in link has been used or has expired.", `href="/admin/signin"`)
		if other.cookies[SessionCookie] != nil {
			t.Fatal("replay started a session")
		}
		wantStatus(t, other.get("/admin/m/"+token), http.StatusGone)
	})
	if n := f.count(t, `SELECT count(*) FROM staff_sessions`); n != 1 {
		t.Fatalf("%d sessions from one link", n)
	}
}

func TestLinksThatCannotSignInAreRefused(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "ida@example.com", RoleSupport, "")
	gone := f.member(t, "jon@example.com", RoleSupport, "")
	expired := f.token(t, acc.ID, LinkTTL)
	f.db.MustExec(`UPDATE staff_login_tokens SET expires_at = now() - interval '1 second'`)
	ofDisabled := f.token(t, gone.ID, LinkTTL)
	if _, err := f.accounts.Disable(context.Background(), gone.ID, "system"); err != nil {
		t.Fatal(err)
	}
	f.db.MustExec(`INSERT INTO staff_login_tokens (token_hash, staff_id, expires_at) VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + interval '1 hour')`, ofDisabled, gone.ID)
	valid := f.token(t, acc.ID, LinkTTL)
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"never issued", strings.Repeat("A", tokenLen), http.StatusBadRequest},
		{"too short", "abc", http.StatusBadRequest},
		{"one character off", valid[:tokenLen-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(valid, "A")], http.StatusBadRequest},
		{"expired", expired, http.StatusGone},
		{"of a disabled account", ofDisabled, http.StatusGone},
	} {
		t.Run(tc.name+" on GET", func(t *testing.T) {
			wantStatus(t, f.browser(t).get("/admin/m/"+tc.token), tc.status)
		})
		t.Run(tc.name+" on POST", func(t *testing.T) {
			b := f.browser(t)
			wantStatus(t, b.post("/admin/m", url.Values{"token": {tc.token}}), tc.status)
			if b.cookies[SessionCookie] != nil {
				t.Fatal("signed in")
			}
		})
	}
	if n := f.count(t, `SELECT count(*) FROM staff_sessions`); n != 0 {
		t.Fatalf("%d sessions from refused links", n)
	}
}

var staffLink = regexp.MustCompile(`http://shop\.example/admin/m/[A-Za-z0-9_-]{43}`)

func TestAskingForALinkEmailsOnlyStaffAndAnswersTheSame(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "kim@example.com", RoleSupport, "")
	answer := func(email string) page {
		p := f.browser(t).post("/admin/signin/link", url.Values{"email": {email}})
		p.body = random.ReplaceAllString(p.body, "")
		return p
	}
	known := answer(" KIM@example.com")
	wantStatus(t, known, http.StatusOK)
	wantText(t, known, "If that address belongs to a staff account, we have emailed it a sign-in link", "20 minutes")
	unknown := answer("stranger@example.com")
	if known.status != unknown.status || known.body != unknown.body {
		t.Fatalf("answers differ:\n%s\n----\n%s", known.body, unknown.body)
	}
	var m mail.Message
	if err := f.db.Get(&m, `SELECT id, kind, dedupe_key, to_address FROM messages`); err != nil {
		t.Fatalf("the one message: %v", err)
	}
	if m.Kind != MailKind || m.To != "kim@example.com" || f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'mail.deliver'`) != 1 {
		t.Fatalf("message %+v", m)
	}
	renderer, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	content, err := Composer(f.db, testBaseURL+"/", renderer).Compose(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	link := staffLink.FindString(content.Text)
	if link == "" || !strings.Contains(content.HTML, link) || !strings.Contains(content.Subject, "Sign in to the") {
		t.Fatalf("email lacks a link:\n%s\n%s", content.Subject, content.Text)
	}
	if !strings.Contains(content.Text, "Hi Test,") || !strings.Contains(content.Text, "20 minutes") {
		t.Fatalf("text part:\n%s", content.Text)
	}
	b := f.browser(t)
	token := strings.TrimPrefix(link, testBaseURL+"/admin/m/")
	wantStatus(t, b.get("/admin/m/"+token), http.StatusOK)
	wantStatus(t, b.post("/admin/m", url.Values{"token": {token}}), http.StatusSeeOther)
	if n := f.count(t, `SELECT count(*) FROM staff_sessions WHERE staff_id = $1`, acc.ID); n != 1 {
		t.Fatal("the emailed link did not sign in")
	}

	t.Run("the composer skips an address that stopped being staff", func(t *testing.T) {
		if _, err := f.accounts.Disable(context.Background(), acc.ID, "system"); err != nil {
			t.Fatal(err)
		}
		_, err := Composer(f.db, testBaseURL, renderer).Compose(context.Background(), m)
		if !mail.IsSkip(err) {
			t.Fatalf("error %v, want a skip", err)
		}
		_, err = Composer(f.db, testBaseURL, renderer).Compose(context.Background(), mail.Message{ID: 9, Kind: MailKind, To: "nobody@example.com"})
		if !mail.IsSkip(err) {
			t.Fatalf("error %v, want a skip", err)
		}
	})
}

func TestAskingForLinksIsRateLimited(t *testing.T) {
	f := newFixture(t)
	f.member(t, "lou@example.com", RoleSupport, "")
	b := f.browser(t)
	for range linkPerEmail.n {
		wantStatus(t, b.post("/admin/signin/link", url.Values{"email": {"lou@example.com"}}), http.StatusOK)
	}
	wantStatus(t, b.post("/admin/signin/link", url.Values{"email": {"lou@example.com"}}), http.StatusTooManyRequests)
	if n := f.count(t, `SELECT count(*) FROM messages`); n != linkPerEmail.n {
		t.Fatalf("%d emails, want %d", n, linkPerEmail.n)
	}
	wantStatus(t, b.post("/admin/signin/link", url.Values{"email": {"not an address"}}), http.StatusUnprocessableEntity)
}

func TestIssueBoundsTheLifetime(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "max@example.com", RoleAdmin, "")
	for _, ttl := range []time.Duration{0, -time.Minute, MaxLinkTTL + time.Second} {
		if _, err := f.links.Issue(context.Background(), f.db, acc.ID, ttl); err == nil {
			t.Fatalf("ttl %s accepted", ttl)
		}
	}
	link, err := f.links.Issue(context.Background(), f.db, acc.ID, MaxLinkTTL)
	if err != nil || time.Until(link.ExpiresAt) < MaxLinkTTL-time.Minute {
		t.Fatalf("link %+v, err %v", link, err)
	}
}

func TestTwoSpendsOfOneLinkAtOnceSignInOnce(t *testing.T) {
	f := newFixture(t)
	acc := f.member(t, "ned@example.com", RoleSupport, "")
	for range 5 {
		token := f.token(t, acc.ID, LinkTTL)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { _, errs[i] = f.links.Spend(context.Background(), f.db, token) })
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("errors %v: want exactly one spend", errs)
		}
	}
}
