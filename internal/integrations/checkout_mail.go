package integrations

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
)

// marketing marks a reminder as marketing mail, so that the outbox holds
// it to the frequency cap and to unsubscribes.
func marketing(m mail.Queued) mail.Queued {
	m.Marketing = true
	return m
}

// CheckoutEmail is .Data of the abandoned_checkout email.
type CheckoutEmail struct {
	FirstName   string
	Items       []CheckoutItem
	Currency    string
	Total       int64
	RecoveryURL string
}

// CheckoutComposer renders the abandoned_checkout email from its checkout
// (named by the message's dedupe key, "abandoned_checkout:<id>"). A
// checkout that is gone, completed, or followed by an order by the time the
// email is rendered is skipped (mail.Skip): the shopper came back.
func (c *Checkouts) CheckoutComposer(r *mail.Renderer) mail.Composer {
	return checkoutComposer{db: c.db, r: r}
}

type checkoutComposer struct {
	db *sqlx.DB
	r  *mail.Renderer
}

func (cc checkoutComposer) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	raw, ok := strings.CutPrefix(m.DedupeKey, CheckoutMailKind+":")
	id, err := strconv.ParseInt(raw, 10, 64)
	if !ok || err != nil {
		return mail.Content{}, mail.Permanent(fmt.Errorf("integrations: message %d names no checkout (%q)", m.ID, m.DedupeKey))
	}
	ch, found, err := checkoutByID(ctx, cc.db, id)
	if err != nil {
		return mail.Content{}, err
	}
	if !found {
		return mail.Content{}, mail.Skip(fmt.Errorf("integrations: checkout %d is gone", id))
	}
	ordered, err := orderedSince(ctx, cc.db, ch.Email, ch.StartedAt)
	if err != nil {
		return mail.Content{}, err
	}
	if ch.CompletedAt != nil || ordered {
		return mail.Content{}, mail.Skip(errors.New("integrations: the shopper ordered after all"))
	}
	link, err := ch.link(ctx, cc.db)
	if err != nil {
		return mail.Content{}, err
	}
	store, err := settings.Load(ctx, cc.db)
	if err != nil {
		return mail.Content{}, err
	}
	first, _, _ := strings.Cut(strings.TrimSpace(ch.Name), " ")
	data := CheckoutEmail{FirstName: first, Items: ch.items(), Currency: ch.Currency, Total: ch.TotalMinor, RecoveryURL: link}
	return cc.r.Render(CheckoutMailKind, mail.View{Store: store, Data: data})
}
