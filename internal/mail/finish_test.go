package mail

import (
	"context"
	"html"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestRewriteLinks(t *testing.T) {
	in := `<p><a href="https://shop.test/a?x=1&amp;y=2" style="c">A</a> <a class="b" href="mailto:help@shop.test">mail</a>
<a href="/relative">rel</a> <A HREF="http://shop.test/b">B</A> <img src="https://shop.test/i.png"></p>`
	got := RewriteLinks(in, func(u string) string { return "https://t.test/c?u=" + u })
	for _, want := range []string{
		`<a href="https://t.test/c?u=https://shop.test/a?x=1&amp;y=2" style="c">A</a>`,
		`<a class="b" href="mailto:help@shop.test">`,
		`<a href="/relative">`,
		`<A HREF="https://t.test/c?u=http://shop.test/b">`,
		`<img src="https://shop.test/i.png">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %s in\n%s", want, got)
		}
	}
}

func TestAddFooterUsesTheMarker(t *testing.T) {
	html := "<html><body><td>Shop" + FooterMarker + "</td></body></html>"
	if got := AddFooter(html, "<br>prefs"); got != "<html><body><td>Shop<br>prefs</td></body></html>" {
		t.Errorf("AddFooter = %s", got)
	}
	if got := AddFooter("<body>x</body>", "F"); got != "<body>xF</body>" {
		t.Errorf("without marker = %s", got)
	}
}

type upper struct{}

func (upper) Finish(_ context.Context, _ Message, c Content) (Content, error) {
	c.Subject = strings.ToUpper(c.Subject)
	return c, nil
}

func TestDecorateFinishesEveryComposerOnce(t *testing.T) {
	composers := map[string]Composer{"a": composeOK("hi"), "b": composeOK("yo")}
	Decorate(composers, upper{})
	Decorate(composers, upper{}) // a second call does not wrap twice
	for kind, want := range map[string]string{"a": "HI", "b": "YO"} {
		c, err := composers[kind].Compose(context.Background(), Message{Kind: kind})
		if err != nil || c.Subject != want {
			t.Errorf("%s: %q, %v", kind, c.Subject, err)
		}
	}
	if _, ok := composers["a"].(finished).inner.(finished); ok {
		t.Error("wrapped twice")
	}
}

type composeOK string

func (s composeOK) Compose(context.Context, Message) (Content, error) {
	return Content{Subject: string(s)}, nil
}

// TestRewriteLinksMatchesItsRegularExpression: the scanner rewrites
// exactly what the regular expression it replaced matched, on many
// generated bodies mixing tags, cases, quotes and word boundaries.
func TestRewriteLinksMatchesItsRegularExpression(t *testing.T) {
	re := regexp.MustCompile(`(?i)(<a\s[^>]*?\bhref=")([^"]*)(")`)
	reference := func(body string, rewrite func(string) string) string {
		return re.ReplaceAllStringFunc(body, func(match string) string {
			parts := re.FindStringSubmatch(match)
			target := html.UnescapeString(parts[2])
			lower := strings.ToLower(target)
			if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
				return match
			}
			return parts[1] + html.EscapeString(rewrite(target)) + parts[3]
		})
	}
	tokens := []string{`<a `, `<A` + "\t", `<a` + "\n", `<ab `, `<a>`, `href="`, `HREF="`, `hReF="`, `xhref="`, `_href="`, `-href="`,
		`"`, `>`, `<`, ` `, `a`, `http://x.test/p?q=1&amp;r=2`, `HTTPS://y.test`, `mailto:z@x.test`, `/rel`, `&quot;`, `é`}
	rewrite := func(u string) string { return "https://t.test/c?u=" + u }
	rnd := rand.New(rand.NewPCG(1, 2))
	for n := range 20000 {
		body := randomBody(rnd, tokens, 14)
		if got, want := RewriteLinks(body, rewrite), reference(body, rewrite); got != want {
			t.Fatalf("body %d %q:\n got %q\nwant %q", n, body, got, want)
		}
	}
}

func TestBeforeBodyEnd(t *testing.T) {
	for in, want := range map[string]string{
		"<html><BODY>x</Body></html>": "<html><BODY>xF</Body></html>",
		"<body>a</body><p></body>b":   "<body>a</body><p>F</body>b",
		"no end here </bod":           "no end here </bodF",
		"</body":                      "</bodyF",
		"<p>x</p></bOdY>":             "<p>x</p>F</bOdY>",
	} {
		if got := BeforeBodyEnd(in, "F"); got != want {
			t.Errorf("BeforeBodyEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFinishHTMLIsTheThreeStepsInOne: FinishHTML gives byte for byte what
// RewriteLinks, BeforeBodyEnd and AddFooter give one after the other, on
// many generated bodies mixing links, footer markers and body ends (also
// inside href values), with and without link rewriting and pixel.
func TestFinishHTMLIsTheThreeStepsInOne(t *testing.T) {
	tokens := []string{`<a `, `<A` + "\t", `href="`, `HREF="`, `"`, `>`, `<`, ` `, `http://x.test/p?q=1&amp;r=2`, `HTTPS://y.test`,
		`mailto:z@x.test`, FooterMarker, `</body>`, `</BODY>`, `</bo`, `</html>`, `<body>`, `é`}
	rewrite := func(u string) string { return "https://t.test/c?u=" + u }
	const pixel, footer = `<img src="https://t.test/o?a=1&amp;b=2">`, `<br><a href="https://shop.test/prefs">Prefs</a>`
	rnd := rand.New(rand.NewPCG(3, 4))
	for n := range 30000 {
		body := randomBody(rnd, tokens, 16)
		for _, tracked := range []bool{true, false} {
			want, rw, px := body, rewrite, pixel
			if tracked {
				want = BeforeBodyEnd(RewriteLinks(want, rewrite), pixel)
			} else {
				rw, px = nil, ""
			}
			want = AddFooter(want, footer)
			if got := FinishHTML(body, rw, px, footer); got != want {
				t.Fatalf("body %d %q (tracked %v):\n got %q\nwant %q", n, body, tracked, got, want)
			}
		}
	}
}

// randomBody strings together fewer than most of tokens, drawn by rnd:
// bodies built of the pieces a link scanner can trip on.
func randomBody(rnd *rand.Rand, tokens []string, most int) string {
	var b strings.Builder
	for range rnd.IntN(most) {
		b.WriteString(tokens[rnd.IntN(len(tokens))])
	}
	return b.String()
}
