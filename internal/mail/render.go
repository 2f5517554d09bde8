package mail

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"strings"
	"sync/atomic"
	texttemplate "text/template"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/web"
)

// View is what every email template sees: the store's branding as .Store
// and the email's own fields as .Data.
type View struct {
	Store settings.Store
	Data  any
	// Subject is set by Render from the .txt "subject", for the HTML title.
	Subject string
}

// button is the argument of the layout's "button" template.
type button struct{ Accent, URL, Label string }

// Renderer renders the emails under web/templates/email. Each email <name>
// has two files: <name>.html defines "body" (and optionally "preheader", the
// preview line) inside layout.html; <name>.txt defines "subject" and "body"
// inside layout.txt. partials.html and partials.txt hold shared parts.
// Templates are parsed once, by NewRenderer. The HTML layout is rendered
// once per store settings and kept with holes for each email's subject,
// preheader and body (see shellCache): it may read .Store and .Subject
// (in <title>), never .Data.
type Renderer struct {
	html map[string]*htmltemplate.Template
	text map[string]*texttemplate.Template
	// shells holds, for each email, its HTML layout without the email's
	// own parts, rendered once per store settings (see shell).
	shells map[string]*shellCache
	title  *htmltemplate.Template
}

// The email's own parts, as they stand in a shell template: literal text
// (never escaped), except the subject, which is data.
const (
	bodyHole      = "\x00aftercare-body\x00"
	preheaderHole = "\x00aftercare-preheader\x00"
	subjectHole   = "aftercareSubjectHole"
	titleHole     = "<title>" + subjectHole + "</title>"
)

// shellCache is the HTML layout of one email rendered for the store
// settings of the last email, with holes for the email's own parts. The
// layout is most of what an email's HTML costs to render (its styles,
// colours and links go through html/template's escapers for every email),
// and it sees only the store's settings and the subject: keyed by the
// settings themselves, a shell is never stale, whatever changed them.
type shellCache struct {
	tmpl *htmltemplate.Template // the layout, with the holes for body and preheader
	last atomic.Pointer[shell]
	off  atomic.Bool // the layout puts the subject elsewhere than <title>: render whole
}

// shell is a layout rendered for store, cut into literal text and holes.
type shell struct {
	store settings.Store
	parts []shellPart
}

type shellPart struct {
	text string
	hole string // bodyHole, preheaderHole or titleHole; "" for text
}

// get returns the shell for store, or nil when the email is rendered
// whole (the layout does not fit holes, or fails).
func (c *shellCache) get(store settings.Store) *shell {
	if c == nil || c.off.Load() {
		return nil
	}
	if s := c.last.Load(); s != nil && s.store == store {
		return s
	}
	var b strings.Builder
	if err := c.tmpl.ExecuteTemplate(&b, "layout", View{Store: store, Subject: subjectHole}); err != nil {
		return nil // rendered whole, which reports the error
	}
	s := &shell{store: store}
	out := b.String()
	for out != "" {
		i, hole := len(out), ""
		for _, h := range []string{bodyHole, preheaderHole, titleHole} {
			if j := strings.Index(out[:i], h); j >= 0 {
				i, hole = j, h
			}
		}
		if strings.Contains(out[:i], subjectHole) {
			c.off.Store(true) // the subject in another context than <title>
			return nil
		}
		if i > 0 {
			s.parts = append(s.parts, shellPart{text: out[:i]})
		}
		if hole == "" {
			break
		}
		s.parts = append(s.parts, shellPart{hole: hole})
		out = out[i+len(hole):]
	}
	c.last.Store(s)
	return s
}

// NewRenderer parses every email template with the functions of web.Funcs.
// It returns an error naming the file when a template is broken or an email
// lacks its .html or .txt half.
func NewRenderer() (*Renderer, error) {
	return newRenderer(web.Templates())
}

func newRenderer(files fs.FS) (*Renderer, error) {
	funcs := web.Funcs()
	// {{template "button" (button .Store.AccentColor $url "Label")}} draws a
	// bulletproof call-to-action button.
	funcs["button"] = func(accent, url, label string) button { return button{accent, url, label} }
	funcs["join"] = strings.Join
	htmlBase, err := htmltemplate.New("email").Funcs(funcs).ParseFS(files, "email/layout.html", "email/partials.html")
	if err != nil {
		return nil, fmt.Errorf("mail: parse email layout: %w", err)
	}
	textBase, err := texttemplate.New("email").Funcs(texttemplate.FuncMap(funcs)).ParseFS(files, "email/layout.txt", "email/partials.txt")
	if err != nil {
		return nil, fmt.Errorf("mail: parse email layout: %w", err)
	}
	r := &Renderer{html: map[string]*htmltemplate.Template{}, text: map[string]*texttemplate.Template{}, shells: map[string]*shellCache{},
		title: htmltemplate.Must(htmltemplate.New("title").Parse(`<title>{{.}}</title>`))}
	names, err := fs.Glob(files, "email/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range names {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		h, err := htmlBase.Clone()
		if err == nil {
			_, err = h.ParseFS(files, p)
		}
		if err != nil {
			return nil, fmt.Errorf("mail: parse %s: %w", p, err)
		}
		t, err := textBase.Clone()
		if err == nil {
			_, err = t.ParseFS(files, "email/"+name+".txt")
		}
		if err != nil {
			return nil, fmt.Errorf("mail: parse email/%s.txt: %w", name, err)
		}
		if t.Lookup("subject") == nil {
			return nil, fmt.Errorf("mail: email/%s.txt defines no subject", name)
		}
		// The same templates, with the email's own parts as holes: literal
		// text where the layout calls them, in the same context.
		sh, err := htmlBase.Clone()
		if err == nil {
			_, err = sh.ParseFS(files, p)
		}
		if err == nil {
			_, err = sh.Parse(`{{define "body"}}` + bodyHole + `{{end}}{{define "preheader"}}` + preheaderHole + `{{end}}`)
		}
		if err != nil {
			return nil, fmt.Errorf("mail: parse %s: %w", p, err)
		}
		r.html[name], r.text[name], r.shells[name] = h, t, &shellCache{tmpl: sh}
	}
	return r, nil
}

// Render renders email name with v into its subject, HTML and text parts.
// It returns an error for an unknown name or a template that fails on v.
func (r *Renderer) Render(name string, v View) (Content, error) {
	h, ok := r.html[name]
	if !ok {
		return Content{}, fmt.Errorf("mail: no email template %q", name)
	}
	t := r.text[name]
	// The buffers are reused: grown afresh for every email they were a
	// good part of the renderer's garbage.
	subject, text, html := getBuffer(), getBuffer(), getBuffer()
	defer putBuffer(subject)
	defer putBuffer(text)
	defer putBuffer(html)
	if err := t.ExecuteTemplate(subject, "subject", v); err != nil {
		return Content{}, fmt.Errorf("mail: render %s subject: %w", name, err)
	}
	v.Subject = strings.Join(strings.Fields(subject.String()), " ")
	if err := t.ExecuteTemplate(text, "layout", v); err != nil {
		return Content{}, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	if err := r.renderHTML(html, name, h, v); err != nil {
		return Content{}, fmt.Errorf("mail: render %s html: %w", name, err)
	}
	return Content{
		// A subject is one line: template line breaks and indents collapse.
		Subject: v.Subject,
		HTML:    html.String(),
		Text:    tidyText(unsafeString(text.Bytes())),
	}, nil
}

// renderHTML writes the HTML of email name (template h) for v: its
// layout's shell for v.Store with the email's own parts rendered into the
// holes, or, when the layout does not fit a shell, the whole layout.
// Either way the bytes are the same: each part is escaped in the context
// the layout gives it (the shell's holes are where the layout calls them;
// the subject is escaped as in <title>).
func (r *Renderer) renderHTML(w *bytes.Buffer, name string, h *htmltemplate.Template, v View) error {
	s := r.shells[name].get(v.Store)
	if s == nil {
		return h.ExecuteTemplate(w, "layout", v)
	}
	for _, p := range s.parts {
		var err error
		switch p.hole {
		case "":
			w.WriteString(p.text)
		case titleHole:
			err = r.title.Execute(w, v.Subject)
		case preheaderHole:
			err = h.ExecuteTemplate(w, "preheader", v)
		case bodyHole:
			err = h.ExecuteTemplate(w, "body", v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Compose renders email kind with data for the store whose settings q
// reads, and sends replies to the store's support address: the emails say
// "reply to this email". It returns an error for an unknown kind or a
// template that fails on data.
func (r *Renderer) Compose(ctx context.Context, q sqlx.QueryerContext, kind string, data any) (Content, error) {
	s, err := settings.Load(ctx, q)
	if err != nil {
		return Content{}, err
	}
	c, err := r.Render(kind, View{Store: s, Data: data})
	if err != nil {
		return c, err
	}
	if s.SupportEmail != "" {
		c.Headers = map[string]string{"Reply-To": s.SupportEmail}
	}
	return c, nil
}

// tidyText trims trailing spaces, leading blank lines and runs of blank
// lines left by template actions, so the text part reads as written.
func tidyText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	started, blank := false, false
	for more := true; more; {
		var l string
		l, s, more = strings.Cut(s, "\n")
		if more {
			l = strings.TrimSuffix(l, "\r")
		}
		if l != "-- " { // the signature separator keeps its space (RFC 3676)
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			// Runs of blank lines become one; leading and trailing ones go.
			blank = started
			continue
		}
		if started {
			b.WriteByte('\n')
			if blank {
				b.WriteByte('\n')
			}
		}
		started, blank = true, false
		b.WriteString(l)
	}
	b.WriteByte('\n')
	return b.String()
}
