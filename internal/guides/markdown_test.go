package guides_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/aftercare/aftercare/internal/guides"
)

// allowedTags are the elements a guide may produce.
var allowedTags = map[string]bool{
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "p": true, "a": true, "img": true,
	"strong": true, "em": true, "del": true, "code": true, "pre": true, "blockquote": true, "ul": true, "ol": true,
	"li": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "hr": true, "br": true,
	"input": true,
}

// unsafe reports what in rendered HTML could run or restyle: an element
// outside the guide's set, an event handler or style attribute, or a URL
// whose scheme is not http, https or mailto. Text is never unsafe: it is
// escaped.
func unsafe(rendered string) string {
	z := html.NewTokenizer(strings.NewReader(rendered))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if !allowedTags[tok.Data] {
				return "element " + tok.Data
			}
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" || key == "srcdoc" || key == "formaction" {
					return "attribute " + key
				}
				if key == "href" || key == "src" {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					scheme, _, hasColon := strings.Cut(v, ":")
					if hasColon && !strings.ContainsAny(scheme, "/?#") && scheme != "http" && scheme != "https" && scheme != "mailto" {
						return key + " " + a.Val
					}
				}
				if tok.Data == "input" && key == "type" && a.Val != "checkbox" {
					return "input type " + a.Val
				}
			}
		}
	}
}

func TestRenderKeepsWhatGuidesNeed(t *testing.T) {
	md := "# Brewing\n\nFill to the **line**, then _wait_.\n\n" +
		"| Cups | Grams |\n|---|--:|\n| 1 | 15 |\n| 2 | 30 |\n\n" +
		"- [x] Rinse the filter\n- [ ] Pour\n\n" +
		"![The kettle](https://fernfield.example/kettle.png \"Kettle\")\n\n" +
		"See [the video](https://video.example/brew) or [our tips](/guides/FILTER-1).\n\n" +
		"~~old way~~ and https://fernfield.example/autolink\n\n```\ncode <b>block</b>\n```\n"
	out := string(guides.Render(md))
	for _, want := range []string{
		`<h1 id="brewing">Brewing</h1>`,
		`<strong>line</strong>`, `<em>wait</em>`,
		`<table>`, `<th>Cups</th>`, `<td align="right">15</td>`,
		`<input checked="" disabled="" type="checkbox"`, `<input disabled="" type="checkbox"`,
		`<img src="https://fernfield.example/kettle.png" alt="The kettle" title="Kettle">`,
		`<a href="https://video.example/brew" rel="nofollow noreferrer noopener" target="_blank">the video</a>`,
		`<a href="/guides/FILTER-1" rel="nofollow">our tips</a>`,
		`<del>old way</del>`,
		`<a href="https://fernfield.example/autolink"`,
		"code &lt;b&gt;block&lt;/b&gt;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %s in\n%s", want, out)
		}
	}
	if u := unsafe(out); u != "" {
		t.Errorf("a plain guide came out with %s", u)
	}
}

func TestRenderDisarmsHostileMarkdown(t *testing.T) {
	tests := []struct{ name, md string }{
		{"a script tag", "Hello <script>alert(1)</script> world"},
		{"a script block", "<script>\nalert(document.cookie)\n</script>\n"},
		{"an event handler on raw HTML", `<img src="x.png" onerror="alert(1)">`},
		{"an event handler in a raw link", `<a href="https://ok.example" onclick="alert(1)">hi</a>`},
		{"a javascript link", "[click me](javascript:alert(1))"},
		{"an encoded javascript link", "[click me](jav&#x61;script:alert(1))"},
		{"a javascript link in another case", "[x](JaVaScRiPt:alert(1))"},
		{"a javascript image", "![x](javascript:alert(1))"},
		{"a data URL link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"},
		{"a vbscript link", "[x](vbscript:msgbox(1))"},
		{"an iframe", `<iframe src="https://evil.example" srcdoc="<script>alert(1)</script>"></iframe>`},
		{"a style element", "<style>body{display:none}</style>"},
		{"an svg with a handler", `<svg onload="alert(1)"><circle r="1"/></svg>`},
		{"a form", `<form action="https://evil.example"><input name="card"></form>`},
		{"an autolink to javascript", "<javascript:alert(1)>"},
		{"a reference link to javascript", "[x][1]\n\n[1]: javascript:alert(1)"},
		{"a meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example">`},
		{"a base element", `<base href="https://evil.example/">`},
		{"html inside a table", "| a |\n|---|\n| <img src=x onerror=alert(1)> |"},
		{"a heading with a handler", "# <span onmouseover=\"alert(1)\">hi</span>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(guides.Render(tt.md))
			if u := unsafe(out); u != "" {
				t.Fatalf("rendered %q with %s:\n%s", tt.md, u, out)
			}
			if strings.Contains(strings.ToLower(out), "<script") || strings.Contains(out, "onerror=") && strings.Contains(out, "<img") {
				t.Fatalf("rendered %q as\n%s", tt.md, out)
			}
		})
	}
	t.Run("the checker itself catches what it must", func(t *testing.T) {
		for _, bad := range []string{`<script>x</script>`, `<a href="javascript:alert(1)">`, `<img src=x onerror=y>`, `<p style="x">`, `<input type="text">`} {
			if unsafe(bad) == "" {
				t.Errorf("unsafe(%q) found nothing", bad)
			}
		}
	})
}

func TestRenderCutsHugeInput(t *testing.T) {
	out := guides.Render(strings.Repeat("word ", guides.MaxMarkdownBytes))
	if len(out) > guides.MaxMarkdownBytes+1000 {
		t.Errorf("rendered %d bytes from a cut input", len(out))
	}
}

func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"# Title\n\nText with **bold** and [a link](https://x.example).",
		"<script>alert(1)</script>", "[x](javascript:alert(1))", `<img src=x onerror=alert(1)>`,
		"| a | b |\n|---|---|\n| <b>1</b> | 2 |", "- [ ] task\n- [x] done", "```\n<script>\n```",
		"<a href=\"java\tscript:alert(1)\">x</a>", "![](data:image/svg+xml,<svg onload=alert(1)>)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, md string) {
		out := string(guides.Render(md))
		if u := unsafe(out); u != "" {
			t.Fatalf("rendered %q with %s:\n%s", md, u, out)
		}
	})
}
