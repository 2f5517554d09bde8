package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/staff"
)

// bobsTraces are strings only Bob's objects show.
func (w *secWorld) bobsTraces() []string {
	return []string{"#7002", "bob@example.com", "Bob Roe", w.bobRMA, "Bob&#39;s", "Bob's"}
}

func TestSecurityIDORShopperCannotReachAnotherShoppersObjects(t *testing.T) {
	w := newSecWorld(t)
	aliceRMA := w.requestReturn(t, w.alice, w.aliceOrder, w.aliceItem, "Alice's words")
	gets := []string{
		fmt.Sprintf("/orders/%d", w.bobOrder),
		fmt.Sprintf("/orders/%d/return", w.bobOrder),
		fmt.Sprintf("/orders/%d/withdraw", w.bobOrder),
		"/returns/" + w.bobRMA,
		"/returns/" + w.bobRMA + "/qr.png",
		fmt.Sprintf("/returns/%s/photos/%d", w.bobRMA, w.bobPhoto),
		fmt.Sprintf("/returns/%s/photos/%d", aliceRMA, w.bobPhoto), // her own return, his photo
		fmt.Sprintf("/reviews/items/%d", w.bobItem),
		fmt.Sprintf("/reviews/items/%d/thanks", w.bobItem),
	}
	// Bob reaches each of them: the 404s below are about who asks.
	for _, path := range gets {
		if strings.Contains(path, "/withdraw") || strings.Contains(path, aliceRMA) {
			continue // not offered for this order; not his return
		}
		if p := w.bob.get(path); p.status != http.StatusOK && p.status != http.StatusSeeOther {
			t.Errorf("Bob GET %s: %d, want his own object", path, p.status)
		}
	}
	for _, path := range gets {
		p := w.alice.get(path)
		if p.status != http.StatusNotFound {
			t.Errorf("Alice GET %s: %d, want 404", path, p.status)
		}
		w.noTraces(t, "GET "+path, p)
	}
	n := fmt.Sprint(w.bobItem)
	posts := map[string]url.Values{
		fmt.Sprintf("/orders/%d/return", w.bobOrder): {"key": {"idor-1"}, "qty_" + n: {"1"}, "reason_" + n: {"wrong_size"},
			"resolution": {"refund"}, "guide_seen": {"1"}},
		fmt.Sprintf("/orders/%d/withdraw", w.bobOrder): {"key": {"idor-2"}, "qty_" + n: {"1"}, "guide_seen": {"1"}},
		"/returns/" + w.bobRMA + "/cancel":             {},
		fmt.Sprintf("/reviews/items/%d", w.bobItem):    {"rating": {"1"}, "title": {"Alice was here"}, "body": {"Overwritten by Alice"}},
	}
	before := w.l.fingerprint(t)
	for path, form := range posts {
		p := w.alice.post(path, form)
		if p.status != http.StatusNotFound {
			t.Errorf("Alice POST %s: %d, want 404", path, p.status)
		}
		w.noTraces(t, "POST "+path, p)
	}
	if w.l.fingerprint(t) != before {
		t.Fatal("Alice's requests on Bob's objects changed the database")
	}
}

// noTraces fails when a page shows any of Bob's data.
func (w *secWorld) noTraces(t *testing.T, what string, p secPage) {
	t.Helper()
	for _, s := range w.bobsTraces() {
		if strings.Contains(p.body, s) {
			t.Errorf("%s shows %q to Alice", what, s)
		}
	}
}

func TestSecurityIDORShopperCannotOpenTheAdmin(t *testing.T) {
	w := newSecWorld(t)
	support := w.l.agent(t)
	support.signInStaff("support@example.com", staff.RoleSupport)
	before := w.l.fingerprint(t)
	checked := 0
	for _, r := range w.l.HTTP.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/admin") || strings.HasPrefix(r.Path, "/admin/signin") || strings.HasPrefix(r.Path, "/admin/m") {
			continue
		}
		path := w.fill(r.Path)
		var p secPage
		switch r.Method {
		case http.MethodGet:
			p = w.bob.get(path)
		case http.MethodPost:
			p = w.bob.post(path, formFor(""))
		default:
			continue
		}
		// The admin sends a shopper's browser to the staff sign-in, and
		// refuses a form outright.
		toSignIn := (p.status == http.StatusSeeOther || p.status == http.StatusFound) && strings.HasPrefix(p.header.Get("Location"), "/admin/signin")
		if r.Method == http.MethodGet && !toSignIn || r.Method == http.MethodPost && p.status != http.StatusUnauthorized && !toSignIn {
			t.Errorf("shopper %s %s: %d %q, want a redirect to the staff sign-in or 401", r.Method, path, p.status, p.header.Get("Location"))
		}
		if strings.Contains(p.body, "bob@example.com") || strings.Contains(p.body, w.bobRMA) {
			t.Errorf("shopper %s %s: the answer shows customer data", r.Method, path)
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d admin routes checked", checked)
	}
	// Support staff are not admins: the staff pages and erasing are not theirs.
	for _, path := range []string{"/admin/staff"} {
		if p := support.get(path); p.status != http.StatusForbidden && p.status != http.StatusNotFound {
			t.Errorf("support GET %s: %d, want 403 or 404", path, p.status)
		}
	}
	if p := support.post(fmt.Sprintf("/admin/staff/%d/disable", w.staffID), nil); p.status != http.StatusForbidden && p.status != http.StatusNotFound {
		t.Errorf("support disabling staff: %d, want 403 or 404", p.status)
	}
	if w.l.fingerprint(t) != before {
		t.Fatal("a shopper or support member changed something in the admin")
	}
}
