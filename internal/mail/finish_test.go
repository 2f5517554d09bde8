package mail

import (
	"context"
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
