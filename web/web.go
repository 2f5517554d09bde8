// Package web holds Aftercare's templates and static assets, embedded in the
// binary. Engine parses every page at start, so a broken template stops the
// boot rather than a shopper's request, and renders into Fiber's buffer.
package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
)

//go:embed templates static
var files embed.FS

// Static is the tree of static assets served under /static.
func Static() fs.FS {
	sub, _ := fs.Sub(files, "static")
	return sub
}

// Templates is the raw template tree, for packages (mail) that parse their own.
func Templates() fs.FS {
	sub, _ := fs.Sub(files, "templates")
	return sub
}

// Engine renders pages: each page file under templates/<area>/ is combined
// with a layout and every partial. Pages under templates/admin/ (and its
// subfolders) get layouts/admin.html, the staff's frame; every other page
// gets layouts/base.html. Render's layout argument ("layouts/admin" or
// "layouts/base") picks the other one for a page. It implements fiber.Views.
type Engine struct {
	pages map[string]*template.Template // with the page's own layout
	// other holds pages parsed with the other layout, made on first use:
	// few pages are ever shown in the other frame, and each parsed copy
	// holds every partial's trees (all of them at start were 8 MB of the
	// server's heap). Load checks that each one parses.
	other sync.Map                      // page name -> *template.Template
	files map[string]string             // page name -> its file
	bases map[string]*template.Template // layout -> layout and partials
	funcs template.FuncMap
	// partials is the shared set alone, for Partial.
	partials *template.Template
}

// Layouts: each defines the template "base", which wraps a page.
const (
	baseLayout  = "layouts/base"
	adminLayout = "layouts/admin"
)

// layoutOf is the layout of page rel by where it lives.
func layoutOf(rel string) string {
	if strings.HasPrefix(rel, "admin/") {
		return adminLayout
	}
	return baseLayout
}

// NewEngine parses every page with the given extra functions.
func NewEngine(extra template.FuncMap) (*Engine, error) {
	e := &Engine{pages: map[string]*template.Template{}, funcs: Funcs()}
	for k, v := range extra {
		e.funcs[k] = v
	}
	return e, e.Load()
}

// Load parses the templates; called once by NewEngine (and by Fiber).
func (e *Engine) Load() error {
	if len(e.pages) > 0 {
		return nil
	}
	e.files = map[string]string{}
	shared, err := fs.Glob(files, "templates/partials/*.html")
	if err != nil {
		return err
	}
	bases := map[string]*template.Template{}
	for _, layout := range []string{baseLayout, adminLayout} {
		t, err := template.New("base").Funcs(e.funcs).ParseFS(files, append([]string{"templates/" + layout + ".html"}, shared...)...)
		if err != nil {
			return fmt.Errorf("web: parse %s: %w", layout, err)
		}
		bases[layout] = t
	}
	e.bases = bases
	if e.partials, err = bases[baseLayout].Clone(); err != nil {
		return err
	}
	return fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		dir := path.Dir(rel)
		if dir == "layouts" || dir == "partials" || dir == "email" || strings.HasPrefix(dir, "email/") {
			return nil
		}
		for layout, base := range bases {
			t, err := base.Clone()
			if err != nil {
				return err
			}
			if _, err := t.ParseFS(files, p); err != nil {
				return fmt.Errorf("web: parse %s: %w", p, err)
			}
			if layout == layoutOf(rel) {
				e.pages[rel] = t
				e.files[rel] = p
			}
		}
		return nil
	})
}

// Render writes page name (e.g. "portal/order") with data into w, inside
// its layout, or inside layout[0] ("layouts/admin" or "layouts/base") when
// given.
func (e *Engine) Render(w io.Writer, name string, data interface{}, layout ...string) error {
	t, ok := e.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	if len(layout) > 0 && layout[0] != "" && layout[0] != layoutOf(name) {
		if layout[0] != baseLayout && layout[0] != adminLayout {
			return fmt.Errorf("web: no layout %q", layout[0])
		}
		var err error
		if t, err = e.inOther(name, layout[0]); err != nil {
			return err
		}
	}
	return t.ExecuteTemplate(w, "base", data)
}

// inOther is page name parsed with layout, the one that is not its own.
func (e *Engine) inOther(name, layout string) (*template.Template, error) {
	if t, ok := e.other.Load(name); ok {
		return t.(*template.Template), nil
	}
	t, err := e.bases[layout].Clone()
	if err != nil {
		return nil, fmt.Errorf("web: page %q in %s: %w", name, layout, err)
	}
	if _, err := t.ParseFS(files, e.files[name]); err != nil {
		return nil, fmt.Errorf("web: page %q in %s: %w", name, layout, err)
	}
	// Two first uses at once parse it twice; either copy is the same.
	got, _ := e.other.LoadOrStore(name, t)
	return got.(*template.Template), nil
}

// Partial renders a named template of the shared set (a partial under
// templates/partials, e.g. "returns_panel") to HTML, for the sections that
// feature packages add to another package's page.
func (e *Engine) Partial(name string, data any) (template.HTML, error) {
	var b strings.Builder
	if e.partials == nil {
		return "", fmt.Errorf("web: engine not loaded")
	}
	if err := e.partials.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("web: partial %s: %w", name, err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // produced by html/template, escaped
}

// Has reports whether a page exists.
func (e *Engine) Has(name string) bool { _, ok := e.pages[name]; return ok }
