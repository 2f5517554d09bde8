package returns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
)

// MailKind is the email kind the shopper gets when a return moves to
// status, or "" for none (a failed resolution is the staff's business).
// Each kind is also the name of its template under web/templates/email.
func MailKind(to Status) string {
	switch to {
	case ResolutionFailed:
		return ""
	}
	if to.Valid() {
		return "return_" + string(to)
	}
	return ""
}

// MailKinds lists every kind MailKind names.
func MailKinds() []string {
	var out []string
	for _, s := range Statuses() {
		if k := MailKind(s); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// ReturnEmail is .Data of the return_* emails.
type ReturnEmail struct {
	FirstName string
	OrderRef  string // "#1001"
	Return    Return
	ReturnURL string // the return's page (label and QR while it applies)
	Address   string // where parcels go
	Link      auth.Link
	CodeURL   string
}

// Composers returns a mail.Composer for each return_* kind. Each email is
// about the return whose id ends its dedupe key ("return_approved:12") and
// links, signed for 30 days, to the return's order. A message whose return
// is gone is skipped.
func Composers(db *sqlx.DB, links *auth.Links, r *mail.Renderer, baseURL string) map[string]mail.Composer {
	c := &composer{db: db, links: links, r: r, baseURL: strings.TrimRight(baseURL, "/")}
	out := map[string]mail.Composer{}
	for _, k := range MailKinds() {
		out[k] = c
	}
	return out
}

type composer struct {
	db      *sqlx.DB
	links   *auth.Links
	r       *mail.Renderer
	baseURL string
}

func (c *composer) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	_, idText, ok := strings.Cut(m.DedupeKey, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 {
		return mail.Content{}, mail.Permanent(fmt.Errorf("returns: %s message %d: no return in key %q", m.Kind, m.ID, m.DedupeKey))
	}
	ret, err := getReturn(ctx, c.db, false, "r.id = $1", id)
	if errors.Is(err, errReturnNotFound) || fault.Is(err, fault.NotFound) {
		return mail.Content{}, mail.Skip(fmt.Errorf("returns: %s message %d: return %d is gone", m.Kind, m.ID, id))
	}
	if err != nil {
		return mail.Content{}, err
	}
	if err := fillReturn(ctx, c.db, &ret); err != nil {
		return mail.Content{}, err
	}
	p, err := LoadPolicy(ctx, c.db)
	if err != nil {
		return mail.Content{}, err
	}
	labelReasons(&ret, p)
	link, err := c.links.Issue(ctx, c.db, ret.CustomerID, "order:"+strconv.FormatInt(ret.OrderID, 10), auth.EmailLinkTTL)
	if err != nil {
		return mail.Content{}, fmt.Errorf("returns: link for return %d: %w", ret.ID, err)
	}
	ref := ret.OrderNumber
	if !strings.HasPrefix(ref, "#") {
		ref = "#" + ref
	}
	data := ReturnEmail{
		FirstName: firstName(ret.CustomerName), OrderRef: ref, Return: ret, ReturnURL: c.baseURL + "/returns/" + ret.RMA,
		Address: p.ReturnAddress, Link: link, CodeURL: c.baseURL + "/signin/code",
	}
	st, err := settings.Load(ctx, c.db)
	if err != nil {
		return mail.Content{}, err
	}
	content, err := c.r.Render(m.Kind, mail.View{Store: st, Data: data})
	if err != nil {
		return content, mail.Permanent(err)
	}
	if st.SupportEmail != "" {
		content.Headers = map[string]string{"Reply-To": st.SupportEmail}
	}
	return content, nil
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}
