package returns

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pagecache"
	"github.com/aftercare/aftercare/internal/settings"
)

// Options are the service's dependencies.
type Options struct {
	DB *sqlx.DB
	// Commerce records refunds and replacement orders.
	Commerce *commerce.Service
	// Bus carries return.changed and order.refunded; nil emits nothing.
	Bus *events.Bus
	// Outbox queues the return_* emails; nil sends none.
	Outbox *mail.Outbox
	// Stripe makes refunds and credits; nil when Stripe is not configured.
	Stripe *client.API
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service decides what may be returned, records return requests and moves
// them through their statuses. It knows nothing of HTTP.
type Service struct {
	db       *sqlx.DB
	commerce *commerce.Service
	bus      *events.Bus
	outbox   *mail.Outbox
	stripe   *client.API
	now      func() time.Time
	// panels keeps what the order page's returns section read, per order
	// page version (internal/pagecache).
	panels *pagecache.Cache[panelFacts]
}

// NewService returns the service over o.
func NewService(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{db: o.DB, commerce: o.Commerce, bus: o.Bus, outbox: o.Outbox, stripe: o.Stripe, now: o.Now,
		panels: pagecache.New[panelFacts](pagecache.SectionSize)}
}

// StripeConfigured reports whether refunds and credits can go through Stripe.
func (s *Service) StripeConfigured() bool { return s.stripe != nil }

// Policy returns the store's return policy.
func (s *Service) Policy(ctx context.Context) (Policy, error) { return LoadPolicy(ctx, s.db) }

// storeZone is the store's time zone.
func (s *Service) storeZone(ctx context.Context, q sqlx.QueryerContext) (*time.Location, error) {
	st, err := settings.Load(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.Location(), nil
}

// Eligibility assesses one order of the customer now. It returns
// fault.NotFound for a missing order and for another customer's order.
func (s *Service) Eligibility(ctx context.Context, customerID, orderID int64) (Assessment, Policy, error) {
	return s.assess(ctx, s.db, customerID, orderID, false)
}

func (s *Service) assess(ctx context.Context, q sqlx.QueryerContext, customerID, orderID int64, lock bool) (Assessment, Policy, error) {
	o, err := loadOrderFacts(ctx, q, customerID, orderID, lock)
	if err != nil {
		return Assessment{}, Policy{}, err
	}
	p, err := LoadPolicy(ctx, q)
	if err != nil {
		return Assessment{}, p, err
	}
	loc, err := s.storeZone(ctx, q)
	if err != nil {
		return Assessment{}, p, err
	}
	return Assess(o, p, s.now(), loc), p, nil
}

// Products lists what a shopper may pick for an exchange.
func (s *Service) Products(ctx context.Context) ([]Product, error) { return products(ctx, s.db) }

// OrderReturns lists the returns of one order of the customer, newest first,
// each with items, history and photos.
func (s *Service) OrderReturns(ctx context.Context, customerID, orderID int64) ([]Return, error) {
	rs, err := returnsOfOrder(ctx, s.db, customerID, orderID)
	if err != nil {
		return nil, err
	}
	p, err := LoadPolicy(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		labelReasons(&rs[i], p)
	}
	return rs, nil
}

// ForCustomer returns the customer's return with the RMA number, filled.
// Another customer's return is fault.NotFound, like a missing one.
func (s *Service) ForCustomer(ctx context.Context, customerID int64, rma string) (Return, error) {
	if !ValidRMA(rma) {
		return Return{}, errReturnNotFound
	}
	r, err := getReturn(ctx, s.db, false, "r.rma = $1 AND r.customer_id = $2", rma, customerID)
	if err != nil {
		return r, err
	}
	return r, s.fill(ctx, s.db, &r)
}

// Get returns any return by id, filled, for staff.
func (s *Service) Get(ctx context.Context, id int64) (Return, error) {
	r, err := getReturn(ctx, s.db, false, "r.id = $1", id)
	if err != nil {
		return r, err
	}
	return r, s.fill(ctx, s.db, &r)
}

func (s *Service) fill(ctx context.Context, q sqlx.QueryerContext, r *Return) error {
	if err := fillReturn(ctx, q, r); err != nil {
		return err
	}
	p, err := LoadPolicy(ctx, q)
	if err != nil {
		return err
	}
	labelReasons(r, p)
	return nil
}

// labelReasons puts the store's wording of each reason on the items.
func labelReasons(r *Return, p Policy) {
	for i := range r.Items {
		r.Items[i].ReasonLabel = ReasonLabel(p, r.Items[i].Reason)
	}
}

// ReasonLabel is the store's wording of a reason code, even one the store
// has switched off since.
func ReasonLabel(p Policy, code string) string {
	if code == ReasonWithdrawal {
		return "Withdrawal from the purchase"
	}
	for _, r := range p.Reasons {
		if r.Code == code {
			return r.Label
		}
	}
	return code
}

// PhotoOfCustomer returns a photo of the customer's return; another
// customer's is fault.NotFound.
func (s *Service) PhotoOfCustomer(ctx context.Context, customerID int64, rma string, photoID int64) (string, []byte, error) {
	r, err := s.ForCustomer(ctx, customerID, rma)
	if err != nil {
		return "", nil, err
	}
	return photoData(ctx, s.db, r.ID, photoID)
}

// Photo returns a photo of any return, for staff.
func (s *Service) Photo(ctx context.Context, returnID, photoID int64) (string, []byte, error) {
	return photoData(ctx, s.db, returnID, photoID)
}

// move makes one status change of r inside tx, after CheckMove: it writes
// the status (with c), a history row, an audit entry by actor, a
// return.changed event, and the shopper's email for the new status.
func (s *Service) move(ctx context.Context, tx *sqlx.Tx, r *Return, to Status, by Party, actor, note string, c change, detail map[string]any) error {
	if err := CheckMove(r.Status, to, by); err != nil {
		return err
	}
	if err := saveStatus(ctx, tx, r.ID, to, c); err != nil {
		return err
	}
	if err := s.record(ctx, tx, r, to, actor, note, detail, true); err != nil {
		return err
	}
	r.Status = to
	return nil
}

// record writes what every change writes: history, audit, event and, when
// notify, the shopper's email.
func (s *Service) record(ctx context.Context, tx *sqlx.Tx, r *Return, to Status, actor, note string, detail map[string]any, notify bool) error {
	if err := insertEvent(ctx, tx, r.ID, to, actor, note); err != nil {
		return err
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["rma"], detail["from"] = r.RMA, r.Status
	if note != "" {
		detail["note"] = note
	}
	if err := audit.Record(ctx, tx, actor, "return."+string(to), r.Subject(), detail); err != nil {
		return err
	}
	if s.bus != nil {
		ev := events.Event{Kind: events.ReturnChanged, ReturnID: r.ID, OrderID: r.OrderID, CustomerID: r.CustomerID, Status: string(to)}
		if err := s.bus.Emit(ctx, tx, ev); err != nil {
			return err
		}
	}
	kind := MailKind(to)
	if kind == "" || s.outbox == nil || !notify {
		return nil
	}
	return s.outbox.Queue(ctx, tx, mail.Queued{
		Kind: kind, DedupeKey: fmt.Sprintf("%s:%d", kind, r.ID), To: r.CustomerEmail,
		CustomerID: r.CustomerID, OrderID: r.OrderID,
	})
}
