// Package notify composes Aftercare's transactional emails: it reads what
// each kind of message needs (customer, order, shipment, tracking, the
// store's settings), issues its magic link and renders the templates under
// web/templates/email. Delivery itself is internal/mail's job.
package notify

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

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
//
// Each composer is also a mail.ManyComposer: a delivery batch composes its
// messages of one kind together, reading their orders and customers with
// one statement each and issuing all their sign-in links with one insert,
// committed before any of them is sent (so a link in an email that went
// out is always on record).
func Composers(db *sqlx.DB, links *auth.Links, r *mail.Renderer, baseURL string) map[string]mail.Composer {
	n := &notifier{db: db, links: links, r: r, baseURL: strings.TrimRight(baseURL, "/")}
	return map[string]mail.Composer{
		KindOrderConfirmation:      manyComposer{n: n, draft: n.orderConfirmations},
		KindShipmentShipped:        n.shipment(KindShipmentShipped),
		KindShipmentOutForDelivery: n.shipment(KindShipmentOutForDelivery),
		KindShipmentDelivered:      n.shipment(KindShipmentDelivered),
		KindShipmentException:      n.shipment(KindShipmentException),
		KindLoginLink:              manyComposer{n: n, draft: n.loginLinks},
	}
}

// manyComposer composes messages in two steps: draft reads what each
// message is about (all of them together where it can), then the notifier
// reads their customers, issues their links and renders them.
type manyComposer struct {
	n     *notifier
	draft func(ctx context.Context, ms []mail.Message) ([]draft, []error)
}

func (c manyComposer) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	cs, errs := c.ComposeMany(ctx, []mail.Message{m})
	return cs[0], errs[0]
}

func (c manyComposer) ComposeMany(ctx context.Context, ms []mail.Message) ([]mail.Content, []error) {
	ds, errs := c.draft(ctx, ms)
	return c.n.finish(ctx, ds, errs)
}

// draft is an email whose subject has been read: it is rendered once its
// customer is read and its link issued.
type draft struct {
	kind     string
	customer int64
	purpose  string // of the link
	ttl      time.Duration
	data     func(Customer, auth.Link) any
}

// finish renders the drafts whose error is nil: one read of their
// customers, one insert of their links (committed before it returns), then
// each template. A failure of a shared step is every draft's error.
func (n *notifier) finish(ctx context.Context, ds []draft, errs []error) ([]mail.Content, []error) {
	cs := make([]mail.Content, len(ds))
	var ids []int64
	for i := range ds {
		if errs[i] == nil {
			ids = append(ids, ds[i].customer)
		}
	}
	if len(ids) == 0 {
		return cs, errs
	}
	customers, err := loadCustomers(ctx, n.db, ids)
	var reqs []auth.LinkRequest
	var which []int
	for i, d := range ds {
		if errs[i] != nil {
			continue
		}
		if err != nil {
			errs[i] = err
			continue
		}
		if _, ok := customers[d.customer]; !ok {
			errs[i] = gone(sql.ErrNoRows, "customer", d.customer)
			continue
		}
		reqs = append(reqs, auth.LinkRequest{CustomerID: d.customer, Purpose: d.purpose, TTL: d.ttl})
		which = append(which, i)
	}
	if len(reqs) == 0 {
		return cs, errs
	}
	links, err := n.links.IssueMany(ctx, n.db, reqs)
	for j, i := range which {
		if err != nil {
			errs[i] = fmt.Errorf("notify: links for %d emails: %w", len(reqs), err)
			continue
		}
		d := ds[i]
		cs[i], errs[i] = n.render(ctx, d.kind, d.data(customers[d.customer], links[j]))
	}
	return cs, errs
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

// orderConfirmations drafts order confirmations, reading all their orders
// with their lines in one round of statements.
func (n *notifier) orderConfirmations(ctx context.Context, ms []mail.Message) ([]draft, []error) {
	ds, errs := make([]draft, len(ms)), make([]error, len(ms))
	var ids []int64
	for i, m := range ms {
		if m.OrderID == 0 {
			errs[i] = mail.Permanent(fmt.Errorf("notify: %s message %d has no order", m.Kind, m.ID))
			continue
		}
		ids = append(ids, m.OrderID)
	}
	if len(ids) == 0 {
		return ds, errs
	}
	orders, err := loadOrders(ctx, n.db, ids)
	for i, m := range ms {
		if errs[i] != nil {
			continue
		}
		o, ok := orders[m.OrderID]
		switch {
		case err != nil:
			errs[i] = err
		case !ok:
			errs[i] = gone(sql.ErrNoRows, "order", m.OrderID)
		default:
			ds[i] = n.orderDraft(m.Kind, o, func(c Customer, l auth.Link) any {
				return OrderEmail{FirstName: c.FirstName(), Order: o, Link: l, CodeURL: n.baseURL + "/signin/code", OrdersURL: n.baseURL + "/orders"}
			})
		}
	}
	return ds, errs
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
	return manyComposer{n: n, draft: func(ctx context.Context, ms []mail.Message) ([]draft, []error) {
		ds, errs := make([]draft, len(ms)), make([]error, len(ms))
		for i, m := range ms {
			ds[i], errs[i] = n.shipmentDraft(ctx, kind, m)
		}
		return ds, errs
	}}
}

// shipmentDraft reads what shipment email m is about.
func (n *notifier) shipmentDraft(ctx context.Context, kind string, m mail.Message) (draft, error) {
	if m.ShipmentID == 0 {
		return draft{}, mail.Permanent(fmt.Errorf("notify: %s message %d has no shipment", m.Kind, m.ID))
	}
	s, err := loadShipment(ctx, n.db, m.ShipmentID)
	if err != nil {
		return draft{}, err
	}
	o, err := loadOrder(ctx, n.db, s.OrderID)
	if err != nil {
		return draft{}, err
	}
	status, eventID := exceptionCause(kind, m.DedupeKey, s.Status)
	e, ok, err := loadEvent(ctx, n.db, s.ID, eventID)
	if err != nil {
		return draft{}, err
	}
	var event *Event
	if ok {
		event = &e
	}
	var gs []Guide
	if kind == KindShipmentDelivered {
		if gs, err = n.guides(ctx, s.ID); err != nil {
			return draft{}, err
		}
	}
	return n.orderDraft(kind, o, func(c Customer, l auth.Link) any {
		return ShipmentEmail{FirstName: c.FirstName(), Order: o, Shipment: s, Status: status, Event: event, Link: l,
			CodeURL: n.baseURL + "/signin/code", Guides: gs}
	}), nil
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

// orderDraft is an email about order o with a 30-day link to it, signed
// for the order's own customer.
func (n *notifier) orderDraft(kind string, o Order, data func(Customer, auth.Link) any) draft {
	return draft{kind: kind, customer: o.CustomerID, purpose: "order:" + strconv.FormatInt(o.ID, 10), ttl: auth.EmailLinkTTL, data: data}
}

// LoginEmail is .Data of login_link.
type LoginEmail struct {
	FirstName string
	Link      auth.Link
	CodeURL   string
	Minutes   int
}

func (n *notifier) loginLinks(_ context.Context, ms []mail.Message) ([]draft, []error) {
	ds, errs := make([]draft, len(ms)), make([]error, len(ms))
	for i, m := range ms {
		if m.CustomerID == 0 {
			errs[i] = mail.Skip(fmt.Errorf("notify: login_link message %d has no customer", m.ID))
			continue
		}
		ds[i] = draft{kind: KindLoginLink, customer: m.CustomerID, purpose: "login", ttl: auth.SignInTTL,
			data: func(c Customer, l auth.Link) any {
				return LoginEmail{FirstName: c.FirstName(), Link: l, CodeURL: n.baseURL + "/signin/code", Minutes: int(auth.SignInTTL.Minutes())}
			}}
	}
	return ds, errs
}

func (n *notifier) render(ctx context.Context, kind string, data any) (mail.Content, error) {
	return n.r.Compose(ctx, n.db, kind, data)
}
