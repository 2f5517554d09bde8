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
// with layouts/base.html and every partial. It implements fiber.Views.
type Engine struct {
	pages map[string]*template.Template
	funcs template.FuncMap
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
	base := template.New("base").Funcs(e.funcs)
	shared, err := fs.Glob(files, "templates/partials/*.html")
	if err != nil {
		return err
	}
	shared = append([]string{"templates/layouts/base.html"}, shared...)
	base, err = base.ParseFS(files, shared...)
	if err != nil {
		return fmt.Errorf("web: parse layout: %w", err)
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
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(files, p); err != nil {
			return fmt.Errorf("web: parse %s: %w", p, err)
		}
		e.pages[rel] = t
		return nil
	})
}

// Render writes page name (e.g. "portal/order") with data into w.
func (e *Engine) Render(w io.Writer, name string, data interface{}, _ ...string) error {
	t, ok := e.pages[name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	return t.ExecuteTemplate(w, "base", data)
}

// Has reports whether a page exists.
func (e *Engine) Has(name string) bool { _, ok := e.pages[name]; return ok }
