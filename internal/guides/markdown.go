// Package guides shows shoppers how to use what they bought: each product's
// guide is markdown (GitHub-flavoured: tables, task lists, images) with an
// optional video link, rendered safely, linked from the order page and the
// delivered email, shown on a page per product to its buyers, and edited by
// staff in /admin/guides with a preview.
package guides

import (
	"bytes"
	"html/template"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

// MaxMarkdownBytes bounds what Render works on; a guide is a page, not a book.
const MaxMarkdownBytes = 200 << 10

// markdown renders GFM without raw HTML: goldmark drops raw HTML blocks and
// inline tags unless told otherwise, so a guide cannot carry markup of its
// own; the sanitizer below is the second wall.
var markdown = goldmark.New(
	goldmark.WithExtensions(
		// GFM, with table alignment as attributes: the sanitizer drops
		// style attributes.
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough, extension.Linkify, extension.TaskList,
	),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// policy keeps the HTML a guide legitimately produces (headings, lists,
// tables, images, links, code, task-list boxes) and nothing that runs:
// no script, style, iframe or form, no event handlers, and only http,
// https, mailto and relative URLs. Links to other sites open in a new tab
// without handing it our window, and carry no Referer (guide pages are
// behind sign-in).
var policy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnFullyQualifiedLinks(true)
	p.RequireNoReferrerOnFullyQualifiedLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
	return p
}()

// Render turns guide markdown into HTML that is safe to put in a page or an
// email. Input beyond MaxMarkdownBytes is cut; a document goldmark cannot
// render comes out empty, never as raw input.
func Render(md string) template.HTML {
	if len(md) > MaxMarkdownBytes {
		md = md[:MaxMarkdownBytes]
	}
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(md), &buf); err != nil {
		return ""
	}
	return template.HTML(policy.SanitizeBytes(buf.Bytes())) //nolint:gosec // sanitized just now
}
