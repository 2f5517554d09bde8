package staff

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/audit"
)

func TestRequireChecksSessionAndRole(t *testing.T) {
	f := newFixture(t)
	f.member(t, "sue@example.com", RoleSupport, "sue's long password")
	f.member(t, "abe@example.com", RoleAdmin, "abe's long password")
	support, admin := f.browser(t), f.browser(t)
	support.signIn("sue@example.com", "sue's long password")
	admin.signIn("abe@example.com", "abe's long password")
	stranger := f.browser(t)
	stranger.get("/admin/signin") // a CSRF cookie, so POSTs are judged on the session alone

	tests := []struct {
		name     string
		who      *browser
		method   string
		path     string
		status   int
		location string
		text     string
	}{
		{"a stranger's GET goes to sign-in with the page to return to", stranger, "GET", "/admin/returns?status=requested", 303, "/admin/signin?next=%2Fadmin%2Freturns%3Fstatus%3Drequested", ""},
		{"a stranger's GET of the dashboard goes to plain sign-in", stranger, "GET", "/admin", 303, "/admin/signin", ""},
		{"a stranger's POST is refused", stranger, "POST", "/admin/returns/1/approve", 401, "", "Sign-in needed"},
		{"support opens the returns queue", support, "GET", "/admin/returns", 200, "", "returns queue"},
		{"support acts on returns", support, "POST", "/admin/returns/1/approve", 200, "", "approved"},
		{"support may not open settings", support, "GET", "/admin/settings", 403, "", "Your role (Support) cannot open this page"},
		{"support may not open staff", support, "GET", "/admin/staff", 403, "", "Not allowed"},
		{"support may not add staff", support, "POST", "/admin/staff", 403, "", "Not allowed"},
		{"support reads the audit log", support, "GET", "/admin/audit", 200, "", "Audit log"},
		{"an admin opens settings", admin, "GET", "/admin/settings", 200, "", "settings"},
		{"an admin opens staff", admin, "GET", "/admin/staff", 200, "", "Add a staff member"},
		{"an admin works returns too", admin, "GET", "/admin/returns", 200, "", "returns queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p page
			if tt.method == "POST" {
				p = tt.who.post(tt.path, url.Values{})
			} else {
				p = tt.who.get(tt.path)
			}
			wantStatus(t, p, tt.status)
			if tt.location != "" {
				wantLocation(t, p, tt.location)
			}
			wantText(t, p, tt.text)
		})
	}
	if n := f.count(t, `SELECT count(*) FROM staff`); n != 2 {
		t.Fatalf("%d accounts: a refused POST created one", n)
	}
}

func TestARoleChangeOrDisableTakesEffectAtOnce(t *testing.T) {
	f := newFixture(t)
	f.member(t, "abe@example.com", RoleAdmin, "abe's long password")
	acc := f.member(t, "ray@example.com", RoleAdmin, "ray's long password")
	b := f.browser(t)
	b.signIn("ray@example.com", "ray's long password")
	wantStatus(t, b.get("/admin/settings"), http.StatusOK)
	f.db.MustExec(`UPDATE staff SET role = 'support' WHERE id = $1`, acc.ID)
	wantStatus(t, b.get("/admin/settings"), http.StatusForbidden)
	f.db.MustExec(`UPDATE staff SET disabled_at = now() WHERE id = $1`, acc.ID)
	wantStatus(t, b.get("/admin/returns"), http.StatusSeeOther)
}

func TestSessionEndsTwelveHoursAfterSignInHoweverBusy(t *testing.T) {
	f := newFixture(t)
	f.member(t, "val@example.com", RoleSupport, "val's long password")
	b := f.browser(t)
	b.signIn("val@example.com", "val's long password")
	var before struct {
		Expires string `db:"expires_at"`
	}
	f.db.Get(&before, `SELECT expires_at::text FROM staff_sessions`)
	// Ten hours of work later (seen a minute ago), a request moves last_seen_at only.
	f.db.MustExec(`UPDATE staff_sessions SET created_at = created_at - interval '10 hours', expires_at = expires_at - interval '10 hours',
		last_seen_at = now() - interval '2 minutes'`)
	wantStatus(t, b.get("/admin/returns"), http.StatusOK)
	if n := f.count(t, `SELECT count(*) FROM staff_sessions WHERE last_seen_at > now() - interval '1 minute'
		AND expires_at = created_at + interval '12 hours' AND expires_at < now() + interval '2 hours 1 minute'`); n != 1 {
		t.Fatal("the request slid the session or did not note it")
	}
	if _, err := f.db.Exec(`UPDATE staff_sessions SET expires_at = now() + interval '12 hours'`); err == nil {
		t.Fatal("the schema let a session outlive 12 hours from sign-in")
	}
	// Past the twelfth hour the session is over, cookie or not.
	f.db.MustExec(`UPDATE staff_sessions SET created_at = created_at - interval '2 hours 1 minute', expires_at = expires_at - interval '2 hours 1 minute'`)
	p := b.get("/admin/returns")
	wantStatus(t, p, http.StatusSeeOther)
	if c := p.set[SessionCookie]; c == nil || c.Value != "" {
		t.Fatal("the expired session's cookie was not cleared")
	}
}

func TestPostsWithoutTheCSRFFieldAreRefused(t *testing.T) {
	f := newFixture(t)
	f.member(t, "ann@example.com", RoleAdmin, "ann's long password")
	b := f.browser(t)
	b.get("/admin/signin")
	p := b.do(http.MethodPost, "/admin/signin", url.Values{"email": {"ann@example.com"}, "password": {"ann's long password"}})
	wantStatus(t, p, http.StatusForbidden)
	if b.cookies[SessionCookie] != nil {
		t.Fatal("signed in without CSRF")
	}
	b.signIn("ann@example.com", "ann's long password")
	form := url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"admin"}, "_csrf": {"forged"}}
	wantStatus(t, b.do(http.MethodPost, "/admin/staff", form), http.StatusForbidden)
	wantStatus(t, b.do(http.MethodPost, "/admin/signout", url.Values{}), http.StatusForbidden)
	if n := f.count(t, `SELECT count(*) FROM staff WHERE email = 'new@example.com'`); n != 0 {
		t.Fatal("an account was created without CSRF")
	}
	if n := f.count(t, `SELECT count(*) FROM staff_sessions`); n != 1 {
		t.Fatal("signed out without CSRF")
	}
}

func TestStaffPageAddsAndDisablesAccounts(t *testing.T) {
	f := newFixture(t)
	me := f.member(t, "abe@example.com", RoleAdmin, "abe's long password")
	b := f.browser(t)
	b.signIn("abe@example.com", "abe's long password")
	page := b.get("/admin/staff")
	wantText(t, page, "abe@example.com", `<label for="new-email">`, `<legend>Role</legend>`, `autocomplete="new-password"`, `data-label="Email"`)
	wantNoText(t, page, `action="/admin/staff/`+strconv.FormatInt(me.ID, 10)+`/disable"`)

	t.Run("a bad form is shown again with each problem and without the password", func(t *testing.T) {
		p := b.post("/admin/staff", url.Values{"email": {"not-an-address"}, "name": {""}, "role": {"owner"}, "password": {"short pw"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantText(t, p, "Email address must be an email address", "Name must not be empty", "Role must be support or admin",
			"Password must be at least 12 characters", `aria-invalid="true"`, `value="not-an-address"`)
		wantNoText(t, p, "short pw")
		p = b.post("/admin/staff", url.Values{"email": {"ABE@example.com"}, "name": {"Abe Two"}, "role": {"admin"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantText(t, p, "Email address already belongs to a staff account", `value="Abe Two"`)
	})
	t.Run("a good form adds the account", func(t *testing.T) {
		p := b.post("/admin/staff", url.Values{"email": {"Zoe@Example.com"}, "name": {"Zoe Quinn"}, "role": {"support"}, "password": {"zoe's long password"}})
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/admin/staff?done=added")
		wantText(t, b.get("/admin/staff?done=added"), "Staff member added.", "zoe@example.com", "Zoe Quinn")
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'staff.created' AND detail->>'email' = 'zoe@example.com'`, me.Subject()); n != 1 {
			t.Fatal("not audited as the admin who did it")
		}
		zoe := f.browser(t)
		zoe.signIn("zoe@example.com", "zoe's long password")
	})
	t.Run("disabling signs the account out", func(t *testing.T) {
		zoe, err := f.accounts.ByEmail(t.Context(), "zoe@example.com")
		if err != nil {
			t.Fatal(err)
		}
		p := b.post("/admin/staff/"+strconv.FormatInt(zoe.ID, 10)+"/disable", nil)
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/admin/staff?done=disabled")
		if n := f.count(t, `SELECT count(*) FROM staff_sessions WHERE staff_id = $1`, zoe.ID); n != 0 {
			t.Fatal("the disabled account is still signed in")
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'staff.disabled' AND subject = $2`, me.Subject(), zoe.Subject()); n != 1 {
			t.Fatal("not audited")
		}
	})
	t.Run("an admin cannot disable their own account", func(t *testing.T) {
		p := b.post("/admin/staff/"+strconv.FormatInt(me.ID, 10)+"/disable", nil)
		wantStatus(t, p, http.StatusConflict)
		wantText(t, p, "You cannot disable your own account.")
	})
	t.Run("an unknown account is not found", func(t *testing.T) {
		wantStatus(t, b.post("/admin/staff/99999/disable", nil), http.StatusNotFound)
	})
}

func TestAuditPageFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	me := f.member(t, "abe@example.com", RoleAdmin, "abe's long password")
	for i := range 60 {
		if err := audit.Record(t.Context(), f.db, audit.System, "return.approved", "return:"+strconv.Itoa(i), map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	b := f.browser(t)
	b.signIn("abe@example.com", "abe's long password")
	p := b.get("/admin/audit")
	wantStatus(t, p, http.StatusOK)
	wantText(t, p, "staff.signed_in", "Test admin (abe@example.com)", "return:59", `rel="next"`, `<option value="return.approved">`, `data-label="Action"`)
	// 62 entries: the sign-in, 60 returns, the account's creation; 50 a page.
	wantText(t, p, "return:11<")
	wantNoText(t, p, "return:10<", "Newest entries")
	older := p.body[strings.Index(p.body, `<a href="/admin/audit?before=`)+len(`<a href="`):]
	older = strings.ReplaceAll(older[:strings.Index(older, `"`)], "&amp;", "&")
	p = b.get(older)
	wantText(t, p, "return:10<", "return:0<", "staff.created", "Newest entries")
	wantNoText(t, p, "return:11<", `rel="next"`)

	mine := b.get("/admin/audit?actor=" + url.QueryEscape(me.Subject()))
	wantText(t, mine, "staff.signed_in")
	wantNoText(t, mine, "return.approved</code>")
	byAction := b.get("/admin/audit?action=staff")
	wantText(t, byAction, "staff.created", "staff.signed_in")
	wantNoText(t, byAction, "return:")
	wantText(t, b.get("/admin/audit?action=nothing.here"), "No entries match this filter.")
}

func TestSafeNextAllowsOnlyAdminPaths(t *testing.T) {
	for in, want := range map[string]string{
		"/admin":                 "/admin",
		"/admin/returns?x=1#top": "/admin/returns?x=1#top",
		"/admin?tab=2":           "/admin?tab=2",
		"/administrator":         "",
		"/orders":                "",
		"":                       "",
		"//evil.example/admin":   "",
		"/admin/../orders":       "",
		"/admin/\\evil":          "",
		"https://evil.example/":  "",
		"/admin\r\nSet-Cookie:":  "",
		"/admin/%zz":             "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
