package journey

import (
	"context"
	"html"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/mail"
)

// Finisher is the mail.Finisher of every email to a shopper: it adds the
// preferences link to the footer (so each email leads to the preferences
// page without signing in), gives marketing mail RFC 8058 one-click
// unsubscribe headers and a visible unsubscribe link, and, when tracking is
// on, routes the email's links through the signed click redirect and adds
// the open pixel. Mail to no customer (staff sign-in links) is left alone.
type Finisher struct {
	db        sqlx.QueryerContext
	links     *Links
	untracked map[string]bool
}

// NewFinisher returns the finisher; emails of the untracked kinds (sign-in
// links) are never tracked.
func NewFinisher(db sqlx.QueryerContext, links *Links, untracked ...string) *Finisher {
	f := &Finisher{db: db, links: links, untracked: map[string]bool{}}
	for _, k := range untracked {
		f.untracked[k] = true
	}
	return f
}

// Finish completes c, the content of message m.
func (f *Finisher) Finish(ctx context.Context, m mail.Message, c mail.Content) (mail.Content, error) {
	if m.CustomerID == 0 {
		return c, nil
	}
	set, err := LoadSettings(ctx, f.db)
	if err != nil {
		return c, err
	}
	var rewrite func(string) string
	var pixel string
	if set.Tracking && !f.untracked[m.Kind] && c.HTML != "" {
		rewrite = func(target string) string {
			if f.links.Own(target) {
				return target
			}
			return f.links.ClickURL(m.ID, target)
		}
		pixel = `<img src="` + html.EscapeString(f.links.PixelURL(m.ID)) +
			`" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;">`
	}
	prefs := f.links.PreferencesURL(m.CustomerID)
	footer := `<br><a href="` + html.EscapeString(prefs) + `" style="color:#5c5c58;">Email preferences</a>`
	text := "\nEmail preferences: " + prefs + "\n"
	if m.Marketing {
		unsub := f.links.UnsubscribeURL(m.CustomerID, m.ID)
		footer += ` · <a href="` + html.EscapeString(unsub) + `" style="color:#5c5c58;">Unsubscribe</a>`
		text += "Unsubscribe: " + unsub + "\n"
		headers := map[string]string{}
		for k, v := range c.Headers {
			headers[k] = v
		}
		headers["List-Unsubscribe"] = "<" + f.links.OneClickURL(m.CustomerID, m.ID) + ">"
		headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
		c.Headers = headers
	}
	if c.HTML != "" {
		// Links, pixel and footer in one copy of the body.
		c.HTML = mail.FinishHTML(c.HTML, rewrite, pixel, footer)
	}
	c.Text = strings.TrimRight(c.Text, "\n") + "\n" + text
	return c, nil
}
