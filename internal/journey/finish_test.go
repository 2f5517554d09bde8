package journey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestTheFinisher(t *testing.T) {
	d := pgtest.DB(t)
	signer := journey.NewLinks(testKeys, base)
	f := journey.NewFinisher(d, signer, "login_link")
	content := func() mail.Content {
		return mail.Content{Subject: "Hi", Text: "Hello.\n",
			HTML:    `<html><body><p><a href="https://fernfield.example/kettle">Kettle</a> <a href="mailto:help@fernfield.example">help</a></p><td>` + mail.FooterMarker + `</td></body></html>`,
			Headers: map[string]string{"Reply-To": "help@fernfield.example"}}
	}
	finish := func(m mail.Message) mail.Content {
		t.Helper()
		c, err := f.Finish(context.Background(), m, content())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("an order update gets the preferences link and tracking, no unsubscribe headers", func(t *testing.T) {
		c := finish(mail.Message{ID: 5, Kind: "shipment_delivered", CustomerID: 9})
		if !strings.Contains(c.Text, "Email preferences: "+signer.PreferencesURL(9)) || strings.Contains(c.Text, "Unsubscribe") {
			t.Errorf("text = %q", c.Text)
		}
		if _, ok := c.Headers["List-Unsubscribe"]; ok || c.Headers["Reply-To"] == "" {
			t.Errorf("headers = %v", c.Headers)
		}
		if !strings.Contains(c.HTML, `href="`+base+`/t/c/5?u=https%3A%2F%2Ffernfield.example%2Fkettle&amp;s=`) ||
			!strings.Contains(c.HTML, `href="mailto:help@fernfield.example"`) || !strings.Contains(c.HTML, `src="`+base+`/t/o/5/`) {
			t.Errorf("tracking missing:\n%s", c.HTML)
		}
		if strings.Contains(c.HTML, mail.FooterMarker) || !strings.Contains(c.HTML, ">Email preferences</a></td>") {
			t.Errorf("the footer link is not in the footer:\n%s", c.HTML)
		}
	})
	t.Run("marketing mail gets RFC 8058 headers and a visible unsubscribe link", func(t *testing.T) {
		c := finish(mail.Message{ID: 6, Kind: "review_request", CustomerID: 9, Marketing: true})
		if c.Headers["List-Unsubscribe"] != "<"+signer.OneClickURL(9, 6)+">" || c.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Errorf("headers = %v", c.Headers)
		}
		if !strings.Contains(c.Text, "Unsubscribe: "+signer.UnsubscribeURL(9, 6)) {
			t.Errorf("text = %q", c.Text)
		}
	})
	t.Run("sign-in links are never tracked", func(t *testing.T) {
		c := finish(mail.Message{ID: 7, Kind: "login_link", CustomerID: 9})
		if strings.Contains(c.HTML, "/t/c/") || strings.Contains(c.HTML, "/t/o/") {
			t.Errorf("a sign-in email was tracked:\n%s", c.HTML)
		}
	})
	t.Run("mail to no customer is left alone", func(t *testing.T) {
		if c := finish(mail.Message{ID: 8, Kind: "staff_login_link"}); c.HTML != content().HTML || c.Text != content().Text {
			t.Errorf("staff mail changed:\n%s", c.HTML)
		}
	})
	t.Run("with tracking off links go straight to their targets", func(t *testing.T) {
		if _, err := d.Exec(`INSERT INTO store_settings (section, value) VALUES ('journey', '{"tracking": false}')`); err != nil {
			t.Fatal(err)
		}
		c := finish(mail.Message{ID: 9, Kind: "review_request", CustomerID: 9, Marketing: true})
		if strings.Contains(c.HTML, "/t/") || !strings.Contains(c.HTML, `href="https://fernfield.example/kettle"`) {
			t.Errorf("tracked with tracking off:\n%s", c.HTML)
		}
	})
}
