package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/staff"
)

// secAgent is a plain HTTP client with a cookie jar that does not follow
// redirects, so tests see every Location the product answers with.
type secAgent struct {
	t *testing.T
	l *liveApp
	c *http.Client
}

// secPage is one answer: status, headers and body.
type secPage struct {
	status int
	header http.Header
	body   string
}

func (l *liveApp) agent(t *testing.T) *secAgent {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	// Its own transport, closed before the app stops: an idle keep-alive
	// connection would hold the graceful shutdown for its whole timeout.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &secAgent{t: t, l: l, c: &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request with the jar's cookies and extra headers.
func (b *secAgent) do(method, path, contentType string, body io.Reader, headers map[string]string) secPage {
	b.t.Helper()
	req, err := http.NewRequest(method, b.l.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return secPage{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *secAgent) get(path string) secPage { b.t.Helper(); return b.do("GET", path, "", nil, nil) }

// csrf is the double-submit token of this browser, fetching a page first
// when the jar has none yet.
func (b *secAgent) csrf() string {
	b.t.Helper()
	u, _ := url.Parse(b.l.base)
	for i := 0; i < 2; i++ {
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "aftercare_csrf" {
				return c.Value
			}
		}
		b.get("/signin")
	}
	b.t.Fatal("no CSRF cookie")
	return ""
}

// postRaw sends form values as they are (no token added).
func (b *secAgent) postRaw(path string, v url.Values) secPage {
	b.t.Helper()
	return b.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()), nil)
}

// post sends a form the way the product's pages do, with the CSRF field.
func (b *secAgent) post(path string, v url.Values) secPage {
	b.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	v.Set("_csrf", b.csrf())
	return b.postRaw(path, v)
}

func (l *liveApp) customerID(t *testing.T, email string) int64 {
	t.Helper()
	var id int64
	if err := l.DB.Get(&id, `SELECT id FROM customers WHERE email = $1`, email); err != nil {
		t.Fatalf("customer %s: %v", email, err)
	}
	return id
}

// magicToken issues a sign-in token for the customer with email.
func (l *liveApp) magicToken(t *testing.T, email, purpose string) string {
	t.Helper()
	link, err := l.Links.Issue(context.Background(), l.DB, l.customerID(t, email), purpose, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return link.URL[strings.LastIndex(link.URL, "/m/")+3:]
}

// signInShopper signs the customer with email in through a magic link, as
// the Continue button does, and returns their browser.
func (l *liveApp) signInShopper(t *testing.T, email string) *secAgent {
	t.Helper()
	b := l.agent(t)
	b.signInShopper(email)
	return b
}

func (b *secAgent) signInShopper(email string) {
	b.t.Helper()
	token := b.l.magicToken(b.t, email, "login")
	if p := b.get("/m/" + token); p.status != http.StatusOK {
		b.t.Fatalf("continue page: %d", p.status)
	}
	if p := b.post("/m", url.Values{"token": {token}}); p.status != http.StatusSeeOther {
		b.t.Fatalf("spend link: %d %s", p.status, p.body)
	}
}

// signInStaff creates a staff account with role and signs this browser in
// with its password.
func (b *secAgent) signInStaff(email string, role staff.Role) {
	b.t.Helper()
	b.l.createStaff(b.t, email, role)
	p := b.post("/admin/signin", url.Values{"email": {email}, "password": {"a long staff password"}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("staff sign-in: %d %s", p.status, p.body)
	}
}

func (l *liveApp) createStaff(t *testing.T, email string, role staff.Role) int64 {
	t.Helper()
	m, err := staff.NewAccounts(l.DB).Create(context.Background(),
		staff.NewAccount{Email: email, Name: "Staff " + email, Role: role, Password: "a long staff password"}, audit.System)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// fingerprintTables are the tables an unsafe request could change.
var fingerprintTables = []string{"customers", "orders", "order_items", "products", "store_settings", "settings", "staff",
	"login_tokens", "return_requests", "return_items", "return_events", "reviews", "referral_codes", "referrals",
	"rewards", "product_pairings", "audit_log", "webhook_events"}

// fingerprint is a digest of every row of fingerprintTables, in one query,
// taken once the jobs due now have run and the outbox is idle: an event's
// job queues an email in the background, and delivering it issues its
// sign-in link (a login_tokens row).
func (l *liveApp) fingerprint(t *testing.T) string {
	t.Helper()
	l.waitUntil(t, "the jobs due and the outbox to be idle", `SELECT NOT EXISTS (SELECT 1 FROM messages WHERE status = 'queued')
		AND NOT EXISTS (SELECT 1 FROM river_job WHERE state IN ('available', 'running') AND scheduled_at <= now())`)
	var parts []string
	for _, table := range fingerprintTables {
		parts = append(parts, fmt.Sprintf(`(SELECT '%[1]s=' || count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM %[1]s x)`, table))
	}
	var sum string
	if err := l.DB.Get(&sum, `SELECT `+strings.Join(parts, " || ' ' || ")); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	return sum
}
