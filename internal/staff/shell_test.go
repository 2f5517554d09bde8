package staff

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/web"
)

func TestNavShowsTheSectionsTheRoleMayOpenInOrder(t *testing.T) {
	f := newFixture(t)
	f.member(t, "sue@example.com", RoleSupport, "sue's long password")
	f.member(t, "abe@example.com", RoleAdmin, "abe's long password")
	nav := func(email, path string) string {
		b := f.browser(t)
		b.signIn(email, strings.Split(email, "@")[0]+"'s long password")
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		start := strings.Index(p.body, `<nav class="admin-nav"`)
		end := strings.Index(p.body[start:], "</nav>")
		return p.body[start : start+end]
	}
	labels := func(html string) string {
		var out []string
		for _, part := range strings.Split(html, "<a href=")[1:] {
			label := part[strings.Index(part, ">")+1 : strings.Index(part, "</a>")]
			if strings.Contains(part[:strings.Index(part, ">")], `aria-current="page"`) {
				label = "[" + label + "]"
			}
			out = append(out, label)
		}
		return strings.Join(out, ",")
	}
	if got := labels(nav("abe@example.com", "/admin/audit?action=staff")); got != "Dashboard,Returns,Settings,Staff,[Audit log]" {
		t.Fatalf("admin's nav %s", got)
	}
	if got := labels(nav("sue@example.com", "/admin")); got != "[Dashboard],Returns,Audit log" {
		t.Fatalf("support's nav %s", got)
	}
	t.Run("the dashboard links the same sections", func(t *testing.T) {
		b := f.browser(t)
		b.signIn("sue@example.com", "sue's long password")
		p := b.get("/admin")
		wantText(t, p, `<ul class="admin-sections"`, `<a class="card" href="/admin/returns">Returns</a>`)
		wantNoText(t, p, `href="/admin/staff"`)
	})
}

func TestShellPutsUnknownSectionsBeforeSettings(t *testing.T) {
	s := NewShell()
	s.AddNav("Staff", "/admin/staff", RoleAdmin)
	s.AddNav("Exports", "/admin/exports", RoleSupport)
	s.AddNav("Returns", "/admin/returns", RoleSupport)
	s.AddNav("Settings", "/admin/settings", RoleAdmin)
	s.AddNav("Imports", "/admin/imports", RoleSupport)
	var got []string
	for _, l := range s.Nav(Member{ID: 1, Role: RoleAdmin}, "/admin/imports/3") {
		if l.Current {
			got = append(got, "["+l.Label+"]")
		} else {
			got = append(got, l.Label)
		}
	}
	if strings.Join(got, ",") != "Dashboard,Returns,Exports,[Imports],Settings,Staff" {
		t.Fatalf("nav %v", got)
	}
}

func TestAdminLayoutFramesAdminPages(t *testing.T) {
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"role": "Support", "adminNav": []NavLink{{Label: "Returns", Path: "/admin/returns", Current: true}}}
	render := func(page string, layout ...string) string {
		var b strings.Builder
		if err := engine.Render(&b, page, data, layout...); err != nil {
			t.Fatalf("render %s %v: %v", page, layout, err)
		}
		return b.String()
	}
	if html := render("admin/forbidden"); !strings.Contains(html, `<header class="admin-bar">`) ||
		!strings.Contains(html, `<a href="/admin/returns" aria-current="page">Returns</a>`) || !strings.Contains(html, "/static/admin.css") {
		t.Fatalf("an admin page without the admin frame:\n%s", html)
	}
	if html := render("auth/signin"); strings.Contains(html, "admin-bar") {
		t.Fatal("a shopper page got the admin frame")
	}
	if html := render("auth/signin", "layouts/admin"); !strings.Contains(html, "admin-bar") {
		t.Fatal("the layout argument did not frame the page")
	}
	if html := render("admin/forbidden", "layouts/base"); strings.Contains(html, "admin-bar") {
		t.Fatal("the layout argument did not unframe the page")
	}
	var b strings.Builder
	if err := engine.Render(&b, "admin/forbidden", data, "layouts/nope"); err == nil {
		t.Fatal("an unknown layout rendered")
	}
}
