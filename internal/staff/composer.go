package staff

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
)

// LoginEmail is .Data of the staff_login_link email
// (web/templates/email/staff_login_link.html and .txt).
type LoginEmail struct {
	FirstName string
	Link      Link
	Minutes   int
	SignInURL string // where to ask for a new link
}

// Composer renders MailKind emails for the outbox's delivery: at delivery
// it issues a fresh LinkTTL link for the active staff account at the
// message's address. A message whose account is gone or disabled is skipped
// (mail.Skip). Register it in the delivery's composers under MailKind.
func Composer(db *sqlx.DB, baseURL string, r *mail.Renderer) mail.Composer {
	return &composer{db: db, links: NewLinks(db, baseURL), r: r, baseURL: strings.TrimRight(baseURL, "/")}
}

type composer struct {
	db      *sqlx.DB
	links   *Links
	r       *mail.Renderer
	baseURL string
}

func (c *composer) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	acc, err := accountWhere(ctx, c.db, "email = $1", m.To)
	if errors.Is(err, ErrNotFound) {
		return mail.Content{}, mail.Skip(fmt.Errorf("staff: %s message %d: no staff account", m.Kind, m.ID))
	}
	if err != nil {
		return mail.Content{}, err
	}
	if !acc.Active() {
		return mail.Content{}, mail.Skip(fmt.Errorf("staff: %s message %d: account %d is disabled", m.Kind, m.ID, acc.ID))
	}
	link, err := c.links.Issue(ctx, c.db, acc.ID, LinkTTL)
	if err != nil {
		return mail.Content{}, err
	}
	store, err := settings.Load(ctx, c.db)
	if err != nil {
		return mail.Content{}, err
	}
	first := ""
	if f := strings.Fields(acc.Name); len(f) > 0 {
		first = f[0]
	}
	return c.r.Render(MailKind, mail.View{Store: store, Data: LoginEmail{
		FirstName: first, Link: link, Minutes: int(LinkTTL.Minutes()), SignInURL: c.baseURL + "/admin/signin",
	}})
}
