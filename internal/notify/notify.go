// Package notify composes Aftercare's transactional emails: it reads what
// each kind of message needs (customer, order, shipment, tracking, the
// store's settings), issues its magic link and renders the templates under
// web/templates/email. Delivery itself is internal/mail's job.
package notify

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/mail"
)

// The kinds of message composed here; they are also the template names.
const (
	KindOrderConfirmation      = "order_confirmation"
	KindShipmentShipped        = "shipment_shipped"
	KindShipmentOutForDelivery = "shipment_out_for_delivery"
	KindShipmentDelivered      = "shipment_delivered"
	KindShipmentException      = "shipment_exception"
	KindLoginLink              = "login_link"
)

// Composers returns a mail.Composer for each kind above. Links in the emails
// are absolute, under baseURL (the public origin, no trailing slash).
// A message whose customer, order or shipment is gone is skipped
// (mail.Skip); a message missing the id its kind needs fails (mail.Permanent).
func Composers(db *sqlx.DB, links *auth.Links, r *mail.Renderer, baseURL string) map[string]mail.Composer {
	n := &notifier{db: db, links: links, r: r, baseURL: strings.TrimRight(baseURL, "/")}
	return map[string]mail.Composer{
		KindOrderConfirmation:      composeFunc(n.orderConfirmation),
		KindShipmentShipped:        n.shipment(KindShipmentShipped),
		KindShipmentOutForDelivery: n.shipment(KindShipmentOutForDelivery),
		KindShipmentDelivered:      n.shipment(KindShipmentDelivered),
		KindShipmentException:      n.shipment(KindShipmentException),
		KindLoginLink:              composeFunc(n.loginLink),
	}
}

// composeFunc adapts a function to mail.Composer.
type composeFunc func(ctx context.Context, m mail.Message) (mail.Content, error)

func (f composeFunc) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	return f(ctx, m)
}

type notifier struct {
	db      *sqlx.DB
	links   *auth.Links
	r       *mail.Renderer
	baseURL string
}

// OrderEmail is .Data of order_confirmation.
type OrderEmail struct {
	FirstName string
	Order     Order
	Link      auth.Link
	CodeURL   string // where the 6-digit code is entered
	OrdersURL string
}

func (n *notifier) orderConfirmation(ctx context.Context, m mail.Message) (mail.Content, error) {
	if m.OrderID == 0 {
		return mail.Content{}, mail.Permanent(fmt.Errorf("notify: %s message %d has no order", m.Kind, m.ID))
	}
	o, err := loadOrder(ctx, n.db, m.OrderID)
	if err != nil {
		return mail.Content{}, err
	}
	return n.orderEmail(ctx, m.Kind, o, func(c Customer, l auth.Link) any {
		return OrderEmail{FirstName: c.FirstName(), Order: o, Link: l, CodeURL: n.baseURL + "/signin/code", OrdersURL: n.baseURL + "/orders"}
	})
}

// ShipmentEmail is .Data of the shipment_* emails. Status is the status the
// email is about (for shipment_exception, the one of its event).
type ShipmentEmail struct {
	FirstName string
	Order     Order
	Shipment  Shipment
	Status    string
	Event     *Event // the event the email is about, or the newest one
	Link      auth.Link
	CodeURL   string
	// Guides are the how-to guides of what the parcel holds
	// (shipment_delivered only).
	Guides []Guide
}

func (n *notifier) shipment(kind string) mail.Composer {
	return composeFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) {
		if m.ShipmentID == 0 {
			return mail.Content{}, mail.Permanent(fmt.Errorf("notify: %s message %d has no shipment", m.Kind, m.ID))
		}
		s, err := loadShipment(ctx, n.db, m.ShipmentID)
		if err != nil {
			return mail.Content{}, err
		}
		o, err := loadOrder(ctx, n.db, s.OrderID)
		if err != nil {
			return mail.Content{}, err
		}
		status, eventID := exceptionCause(kind, m.DedupeKey, s.Status)
		e, ok, err := loadEvent(ctx, n.db, s.ID, eventID)
		if err != nil {
			return mail.Content{}, err
		}
		var event *Event
		if ok {
			event = &e
		}
		var gs []Guide
		if kind == KindShipmentDelivered {
			if gs, err = n.guides(ctx, s.ID); err != nil {
				return mail.Content{}, err
			}
		}
		return n.orderEmail(ctx, kind, o, func(c Customer, l auth.Link) any {
			return ShipmentEmail{FirstName: c.FirstName(), Order: o, Shipment: s, Status: status, Event: event, Link: l,
				CodeURL: n.baseURL + "/signin/code", Guides: gs}
		})
	})
}

// exceptionCause reads the status and event an exception email is about from
// its dedupe key "shipment_exception:<shipment>:<status>:<event>", so the
// email tells of the event that caused it even if the parcel moved on since.
// Other kinds, and keys of another shape, use the shipment's current status.
func exceptionCause(kind, dedupeKey, current string) (status string, eventID int64) {
	parts := strings.Split(dedupeKey, ":")
	if kind != KindShipmentException || len(parts) != 4 || parts[0] != KindShipmentException {
		return current, 0
	}
	id, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		id = 0
	}
	return parts[2], id
}

// orderEmail renders an email about order o with a 30-day link to it, signed
// for the order's own customer.
func (n *notifier) orderEmail(ctx context.Context, kind string, o Order, data func(Customer, auth.Link) any) (mail.Content, error) {
	c, err := loadCustomer(ctx, n.db, o.CustomerID)
	if err != nil {
		return mail.Content{}, err
	}
	link, err := n.links.Issue(ctx, n.db, c.ID, "order:"+strconv.FormatInt(o.ID, 10), auth.EmailLinkTTL)
	if err != nil {
		return mail.Content{}, fmt.Errorf("notify: link for order %d: %w", o.ID, err)
	}
	return n.render(ctx, kind, data(c, link))
}

// LoginEmail is .Data of login_link.
type LoginEmail struct {
	FirstName string
	Link      auth.Link
	CodeURL   string
	Minutes   int
}

func (n *notifier) loginLink(ctx context.Context, m mail.Message) (mail.Content, error) {
	if m.CustomerID == 0 {
		return mail.Content{}, mail.Skip(fmt.Errorf("notify: login_link message %d has no customer", m.ID))
	}
	c, err := loadCustomer(ctx, n.db, m.CustomerID)
	if err != nil {
		return mail.Content{}, err
	}
	link, err := n.links.Issue(ctx, n.db, c.ID, "login", auth.SignInTTL)
	if err != nil {
		return mail.Content{}, fmt.Errorf("notify: sign-in link for customer %d: %w", c.ID, err)
	}
	return n.render(ctx, KindLoginLink, LoginEmail{FirstName: c.FirstName(), Link: link, CodeURL: n.baseURL + "/signin/code", Minutes: int(auth.SignInTTL.Minutes())})
}

func (n *notifier) render(ctx context.Context, kind string, data any) (mail.Content, error) {
	return n.r.Compose(ctx, n.db, kind, data)
}
