package mail

import (
	"context"
	"html"
	"regexp"
	"strings"
)

// Finisher completes every composed email before it is stored: the email
// journey adds the preferences link to the footer, List-Unsubscribe
// headers to marketing mail, and open and click tracking. It is called once
// per message, with the message and what its composer made; an error is
// handled like a composer's.
type Finisher interface {
	Finish(ctx context.Context, m Message, c Content) (Content, error)
}

// Decorate wraps each composer in composers (in place) so that f finishes
// what it composes. Call it after every kind is registered: a composer
// added later is not finished.
func Decorate(composers map[string]Composer, f Finisher) {
	for kind, c := range composers {
		if _, done := c.(finished); done {
			continue
		}
		composers[kind] = finished{inner: c, f: f}
	}
}

type finished struct {
	inner Composer
	f     Finisher
}

func (d finished) Compose(ctx context.Context, m Message) (Content, error) {
	c, err := d.inner.Compose(ctx, m)
	if err != nil {
		return c, err
	}
	return d.f.Finish(ctx, m, c)
}

// FooterMarker is where the email layout (email/layout.html) wants extra
// footer lines, such as the preferences link; AddFooter replaces it.
const FooterMarker = `<span class="aftercare-footer"></span>`

// AddFooter puts snippet (trusted HTML) into the footer of a rendered email
// at FooterMarker, or before </body> when the layout has no marker.
func AddFooter(htmlBody, snippet string) string {
	if strings.Contains(htmlBody, FooterMarker) {
		return strings.Replace(htmlBody, FooterMarker, snippet, 1)
	}
	return BeforeBodyEnd(htmlBody, snippet)
}

// BeforeBodyEnd inserts snippet (trusted HTML) just before the last
// </body>, or appends it when there is none.
func BeforeBodyEnd(htmlBody, snippet string) string {
	if i := strings.LastIndex(strings.ToLower(htmlBody), "</body>"); i >= 0 {
		return htmlBody[:i] + snippet + htmlBody[i:]
	}
	return htmlBody + snippet
}

// anchorHref finds the href of each <a> element as html/template writes
// it: double-quoted, with & escaped.
var anchorHref = regexp.MustCompile(`(?i)(<a\s[^>]*?\bhref=")([^"]*)(")`)

// RewriteLinks replaces the href of every <a> element of htmlBody whose
// target is an http or https URL with rewrite(target); rewrite returning
// its argument leaves a link alone. Targets are given unescaped and
// written back escaped.
func RewriteLinks(htmlBody string, rewrite func(target string) string) string {
	return anchorHref.ReplaceAllStringFunc(htmlBody, func(match string) string {
		parts := anchorHref.FindStringSubmatch(match)
		target := html.UnescapeString(parts[2])
		lower := strings.ToLower(target)
		if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
			return match
		}
		return parts[1] + html.EscapeString(rewrite(target)) + parts[3]
	})
}
