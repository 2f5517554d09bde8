package mail

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aftercare/aftercare/internal/settings"
)

func TestTheShippedTemplatesParse(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"order_confirmation", "shipment_shipped", "shipment_out_for_delivery",
		"shipment_delivered", "shipment_exception", "login_link",
		"review_request", "review_reminder", "replenish_reminder", "recommendations", "winback_offer"} {
		if r.html[name] == nil || r.text[name] == nil {
			t.Errorf("no email %q", name)
		}
	}
}

func emailFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"email/layout.html":   {Data: []byte(`{{define "layout"}}<html><head><title>{{.Subject}}</title></head><body style="color:{{.Store.AccentColor}}">{{template "body" .}}</body></html>{{end}}`)},
		"email/layout.txt":    {Data: []byte("{{define \"layout\"}}{{template \"body\" .}}\n-- \n{{.Store.StoreName}}\n{{end}}")},
		"email/partials.html": {Data: []byte(`{{define "greet"}}<p>Hi {{.}},</p>{{end}}`)},
		"email/partials.txt":  {Data: []byte(`{{define "greet"}}Hi {{.}},{{end}}`)},
	}
	for name, body := range files {
		fsys["email/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestRender(t *testing.T) {
	r, err := newRenderer(emailFS(map[string]string{
		"hello.html": `{{define "body"}}{{template "greet" .Data.Name}}<p>{{money .Data.Total "EUR"}}</p>{{end}}`,
		"hello.txt": "{{define \"subject\"}}\n  Hello   {{.Data.Name}}\n  from {{.Store.StoreName}}\n{{end}}" +
			"{{define \"body\"}}{{template \"greet\" .Data.Name}}   \n\n\n\nTotal: {{money .Data.Total \"EUR\"}}{{end}}",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Render("hello", View{Store: settings.Store{StoreName: "Fern & Field", AccentColor: "#aa3300"},
		Data: map[string]any{"Name": "<Ada>", "Total": int64(1250)}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "Hello <Ada> from Fern & Field" {
		t.Errorf("subject = %q, want one line, unescaped", c.Subject)
	}
	if want := "Hi <Ada>,\n\nTotal: €12.50\n-- \nFern & Field\n"; c.Text != want {
		t.Errorf("text = %q, want %q", c.Text, want)
	}
	for _, want := range []string{"<title>Hello &lt;Ada&gt; from Fern &amp; Field</title>", "<p>Hi &lt;Ada&gt;,</p>", "color:#aa3300", "€12.50"} {
		if !strings.Contains(c.HTML, want) {
			t.Errorf("html lacks %q: %s", want, c.HTML)
		}
	}
	if _, err := r.Render("nope", View{}); err == nil {
		t.Error("an unknown email rendered")
	}
}

func TestBrokenTemplatesStopTheStart(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"a syntax error names the file", map[string]string{"bad.html": `{{define "body"}}{{if}}{{end}}`, "bad.txt": `{{define "subject"}}x{{end}}`}, "bad.html"},
		{"an email without a text part", map[string]string{"half.html": `{{define "body"}}x{{end}}`}, "half.txt"},
		{"an email without a subject", map[string]string{"mute.html": `{{define "body"}}x{{end}}`, "mute.txt": `{{define "body"}}x{{end}}`}, "no subject"},
		{"an unknown function", map[string]string{"fn.html": `{{define "body"}}{{nosuch 1}}{{end}}`, "fn.txt": `{{define "subject"}}x{{end}}`}, "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newRenderer(emailFS(tt.files))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
