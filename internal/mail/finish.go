package mail

import (
	"context"
	"html"
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
		switch c.(type) {
		case finished, finishedMany:
			continue
		}
		if many, ok := c.(ManyComposer); ok {
			composers[kind] = finishedMany{finished: finished{inner: c, f: f}, many: many}
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

// finishedMany is finished for a ManyComposer: what it composes together
// is finished one by one.
type finishedMany struct {
	finished
	many ManyComposer
}

func (d finishedMany) ComposeMany(ctx context.Context, ms []Message) ([]Content, []error) {
	cs, errs := d.many.ComposeMany(ctx, ms)
	for i, m := range ms {
		if errs[i] == nil {
			cs[i], errs[i] = d.f.Finish(ctx, m, cs[i])
		}
	}
	return cs, errs
}

// FooterMarker is where the email layout (email/layout.html) wants extra
// footer lines, such as the preferences link; AddFooter replaces it.
const FooterMarker = `<span class="aftercare-footer"></span>`

// AddFooter puts snippet (trusted HTML) into the footer of a rendered email
// at FooterMarker, or before </body> when the layout has no marker.
func AddFooter(htmlBody, snippet string) string {
	// One search and one copy (Contains and then Replace searched twice).
	if i := strings.Index(htmlBody, FooterMarker); i >= 0 {
		return htmlBody[:i] + snippet + htmlBody[i+len(FooterMarker):]
	}
	return BeforeBodyEnd(htmlBody, snippet)
}

// BeforeBodyEnd inserts snippet (trusted HTML) just before the last
// </body> (in any case), or appends it when there is none.
func BeforeBodyEnd(htmlBody, snippet string) string {
	// Searched in place: lowering a copy of every email cost an allocation
	// of its size.
	for i := len(htmlBody); i > 0; {
		j := strings.LastIndex(htmlBody[:i], "</")
		if j < 0 {
			break
		}
		if len(htmlBody)-j >= 7 && strings.EqualFold(htmlBody[j+2:j+7], "body>") {
			return htmlBody[:j] + snippet + htmlBody[j:]
		}
		i = j
	}
	return htmlBody + snippet
}

// RewriteLinks replaces the href of every <a> element of htmlBody whose
// target is an http or https URL with rewrite(target); rewrite returning
// its argument leaves a link alone. Targets are given unescaped and
// written back escaped. An href is found as html/template writes it:
// double-quoted, with & escaped; the first href="..." of an <a ...> tag
// (what the expression (?i)(<a\s[^>]*?\bhref=")([^"]*)(") matches, which
// this scanner replaced: the regular expression took 6% of the delivery's
// CPU).
func RewriteLinks(htmlBody string, rewrite func(target string) string) string {
	var b strings.Builder
	done := 0 // htmlBody[:done] is in b
	scanLinks(htmlBody, rewrite, func(value, end int, replacement string) {
		if b.Len() == 0 {
			b.Grow(len(htmlBody) + len(htmlBody)/4)
		}
		b.WriteString(htmlBody[done:value])
		b.WriteString(replacement)
		done = end
	})
	if done == 0 {
		return htmlBody
	}
	b.WriteString(htmlBody[done:])
	return b.String()
}

// scanLinks calls replace, in order, with the bounds of every href value
// that RewriteLinks replaces and its replacement (escaped).
func scanLinks(htmlBody string, rewrite func(target string) string, replace func(value, end int, replacement string)) {
	for i := 0; ; {
		j := strings.IndexByte(htmlBody[i:], '<')
		if j < 0 {
			break
		}
		start := i + j
		i = start + 1
		if start+2 >= len(htmlBody) || htmlBody[start+1]|0x20 != 'a' || !isSpace(htmlBody[start+2]) {
			continue
		}
		value := -1
		for k := start + 3; k < len(htmlBody) && htmlBody[k] != '>'; k++ {
			if htmlBody[k]|0x20 == 'h' && len(htmlBody)-k >= 6 && strings.EqualFold(htmlBody[k:k+4], "href") &&
				htmlBody[k+4] == '=' && htmlBody[k+5] == '"' && !isWordByte(htmlBody[k-1]) {
				value = k + 6
				break
			}
		}
		if value < 0 {
			continue
		}
		n := strings.IndexByte(htmlBody[value:], '"')
		if n < 0 {
			continue // no closing quote here, nor after a later href
		}
		end := value + n
		i = end + 1
		target := html.UnescapeString(htmlBody[value:end])
		lower := strings.ToLower(target)
		if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
			continue
		}
		replace(value, end, html.EscapeString(rewrite(target)))
	}
}

// edit replaces htmlBody[at:end] (an insertion when end == at) with text.
type edit struct {
	at, end int
	text    string
}

// FinishHTML is AddFooter(BeforeBodyEnd(RewriteLinks(htmlBody, rewrite),
// pixel), footer) in one pass and one copy of the body (the journey's
// finisher copied every email three times): RewriteLinks is left out when
// rewrite is nil, BeforeBodyEnd when pixel is "".
func FinishHTML(htmlBody string, rewrite func(target string) string, pixel, footer string) string {
	var edits []edit
	if rewrite != nil {
		scanLinks(htmlBody, rewrite, func(value, end int, replacement string) {
			edits = append(edits, edit{value, end, replacement})
		})
	}
	// A replaced href value is gone from the rewritten body, and what
	// replaces it is escaped (it has no "<"), so the marker and </body> of
	// the rewritten body are those of htmlBody outside the replaced values.
	replaced := func(at, n int) bool {
		for _, e := range edits {
			if at < e.end && e.at < at+n {
				return true
			}
		}
		return false
	}
	bodyEnd := len(htmlBody) // where BeforeBodyEnd inserts
	for i := len(htmlBody); i > 0; {
		j := strings.LastIndex(htmlBody[:i], "</")
		if j < 0 {
			break
		}
		if len(htmlBody)-j >= 7 && strings.EqualFold(htmlBody[j+2:j+7], "body>") && !replaced(j, 7) {
			bodyEnd = j
			break
		}
		i = j
	}
	marker := -1
	for i := 0; ; {
		j := strings.Index(htmlBody[i:], FooterMarker)
		if j < 0 {
			break
		}
		if !replaced(i+j, len(FooterMarker)) {
			marker = i + j
			break
		}
		i += j + 1
	}
	// The pixel holds no "</" nor the marker: the footer goes where the
	// marker was, or right after the pixel, before the same </body>.
	var inserts []edit
	if pixel != "" {
		inserts = append(inserts, edit{bodyEnd, bodyEnd, pixel})
	}
	if marker >= 0 {
		inserts = append(inserts, edit{marker, marker + len(FooterMarker), footer})
	} else {
		inserts = append(inserts, edit{bodyEnd, bodyEnd, footer})
	}
	if len(inserts) == 2 && inserts[1].at < inserts[0].at {
		inserts[0], inserts[1] = inserts[1], inserts[0]
	}
	n := len(htmlBody)
	for _, e := range edits {
		n += len(e.text) - (e.end - e.at)
	}
	for _, e := range inserts {
		n += len(e.text) - (e.end - e.at)
	}
	var b strings.Builder
	b.Grow(n)
	done := 0
	write := func(e edit) {
		b.WriteString(htmlBody[done:e.at])
		b.WriteString(e.text)
		done = e.end
	}
	// Both lists are in order and an insertion is never inside a replaced
	// value, so merging them keeps the order.
	for _, e := range edits {
		for len(inserts) > 0 && inserts[0].at <= e.at {
			write(inserts[0])
			inserts = inserts[1:]
		}
		write(e)
	}
	for _, e := range inserts {
		write(e)
	}
	b.WriteString(htmlBody[done:])
	return b.String()
}

// isSpace is \s of Go's regular expressions: ASCII white space but \v.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// isWordByte is \w of Go's regular expressions.
func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
