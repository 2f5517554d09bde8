package mail

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/settings"
)

// What notify gives the order confirmation and the sign-in email (notify
// imports this package, so its types are mirrored here).
type (
	shellOrder struct {
		ID                                       int64
		Number, Currency                         string
		Subtotal, Discount, Shipping, Tax, Total int64
		DiscountCodes                            []string
		Items                                    []shellItem
	}
	shellItem struct {
		Title     string
		Quantity  int
		UnitPrice int64
	}
	shellLink struct {
		URL, Code string
		ExpiresAt time.Time
	}
	shellOrderEmail struct {
		FirstName          string
		Order              shellOrder
		Link               shellLink
		CodeURL, OrdersURL string
	}
	shellLoginEmail struct {
		FirstName string
		Link      shellLink
		CodeURL   string
		Minutes   int
	}
)

func (o shellOrder) Ref() string     { return "#" + o.Number }
func (i shellItem) LineTotal() int64 { return int64(i.Quantity) * i.UnitPrice }

// TestTheLayoutShellRendersWhatTheWholeLayoutDoes renders shipped emails
// through their layout's shell and whole, for stores with every optional
// part and with hostile names and subjects: the bytes are the same, the
// shell is reused while the settings are the same and rendered again as
// soon as any of them differs.
func TestTheLayoutShellRendersWhatTheWholeLayoutDoes(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	link := shellLink{URL: "https://shop.test/m/a.b.c?x=1&y=<2>", Code: "012345", ExpiresAt: at}
	data := map[string]any{
		"order_confirmation": shellOrderEmail{FirstName: `Ada "A+" <O'Neil>`, CodeURL: "https://shop.test/signin/code", OrdersURL: "https://shop.test/orders?a=1&b=2",
			Link: link, Order: shellOrder{Number: "1001", Currency: "EUR", Subtotal: 12900, Discount: 1000, Shipping: 0, Tax: 2150, Total: 14050,
				DiscountCodes: []string{"WELCOME<10>"}, Items: []shellItem{{Title: "Kettle & <b>lid</b>", Quantity: 1, UnitPrice: 8900}, {Title: "Mug", Quantity: 2, UnitPrice: 2000}}}},
		"login_link": shellLoginEmail{FirstName: "Bo", Link: link, CodeURL: "https://shop.test/signin/code", Minutes: 15},
	}
	stores := []settings.Store{
		{StoreName: "Fern & Field", StoreURL: "https://fern.test/?a=1&b=2", AccentColor: "#0a7", SupportEmail: "help@fern.test", TimeZone: "Europe/Paris"},
		{StoreName: `<script>"Fern"+'Field'</script>`, LogoURL: "https://cdn.test/logo.png?v=1&w=2", AccentColor: "red;background:url(javascript:x)"},
		{StoreName: "Fern & Field", StoreURL: "https://fern.test/?a=1&b=2", AccentColor: "#0a8", SupportEmail: "help@fern.test", TimeZone: "Europe/Paris"},
		{StoreName: "Fern & Field", AccentColor: "#0a8", SupportEmail: "javascript:alert(1)", TimeZone: "America/New_York"},
	}
	subjects := []string{"Your order #1001", `<b>"Sale" & 'more' + \x00 </title><script>`, ""}
	for name, d := range data {
		var prev *shell
		for _, store := range stores {
			for i, subject := range subjects {
				v := View{Store: store, Data: d, Subject: subject}
				var whole, shelled bytes.Buffer
				if err := r.html[name].ExecuteTemplate(&whole, "layout", v); err != nil {
					t.Fatal(err)
				}
				if err := r.renderHTML(&shelled, name, r.html[name], v); err != nil {
					t.Fatal(err)
				}
				if whole.String() != shelled.String() {
					t.Fatalf("%s for %+v, subject %q:\nwhole   %q\nshelled %q", name, store, subject, whole.String(), shelled.String())
				}
				s := r.shells[name].last.Load()
				if s == nil || s.store != store {
					t.Fatalf("%s: no shell kept for %+v", name, store)
				}
				if i > 0 && s != prev {
					t.Errorf("%s: the shell was rendered again for the same settings", name)
				}
				if i == 0 && s == prev {
					t.Errorf("%s: the shell of other settings was reused", name)
				}
				prev = s
			}
		}
	}
}

// TestALayoutWithTheSubjectElsewhereIsRenderedWhole: a layout that uses the
// subject outside <title> (where its escaping differs) gets no shell, and
// its emails are still right.
func TestALayoutWithTheSubjectElsewhereIsRenderedWhole(t *testing.T) {
	fsys := emailFS(map[string]string{
		"hello.html": `{{define "body"}}<p>Hi</p>{{end}}`,
		"hello.txt":  `{{define "subject"}}Hi & bye{{end}}{{define "body"}}Hi{{end}}`,
	})
	fsys["email/layout.html"].Data = []byte(`{{define "layout"}}<html><head><title>{{.Subject}}</title></head><body data-s="{{.Subject}}">{{template "body" .}}</body></html>{{end}}`)
	r, err := newRenderer(fsys)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Render("hello", View{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `<html><head><title>Hi &amp; bye</title></head><body data-s="Hi &amp; bye"><p>Hi</p></body></html>`; c.HTML != want {
		t.Errorf("html = %q, want %q", c.HTML, want)
	}
	if !r.shells["hello"].off.Load() || strings.Contains(c.HTML, subjectHole) {
		t.Error("the layout got a shell")
	}
}
