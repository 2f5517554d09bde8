package integrations

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
)

// CheckoutMailKind is the email kind of the abandoned-checkout reminder.
const CheckoutMailKind = "abandoned_checkout"

// Checkout is a checkout a shopper started, as a provider reports it.
type Checkout struct {
	Source      string // "shopify", "stripe"
	ExternalID  string // the provider's checkout token or session id
	Email       string
	Name        string
	Currency    string
	Total       int64 // minor units
	Items       []CheckoutItem
	RecoveryURL string // where the shopper picks the cart up again
	StartedAt   time.Time
	// AbandonedAt is the shopper's last activity; the reminder counts its
	// delay from here.
	AbandonedAt time.Time
	// CompletedAt is set when the checkout became an order.
	CompletedAt *time.Time
}

// CheckoutItem is one line of a checkout's cart.
type CheckoutItem struct {
	Title     string `json:"title"`
	SKU       string `json:"sku,omitempty"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// LineTotal is the line's amount: quantity × unit price.
func (i CheckoutItem) LineTotal() int64 { return int64(i.Quantity) * i.UnitPrice }

// Checkouts records abandoned checkouts and sends each one reminder, to
// known customers who agreed to marketing, unless they order first.
type Checkouts struct {
	db     *sqlx.DB
	q      *jobs.Queue
	outbox *mail.Outbox
	log    *slog.Logger
	now    func() time.Time
}

// NewCheckouts returns the checkout keeper and registers its reminder
// worker on q (call before q starts).
func NewCheckouts(db *sqlx.DB, q *jobs.Queue, outbox *mail.Outbox, log *slog.Logger) *Checkouts {
	if log == nil {
		log = slog.Default()
	}
	c := &Checkouts{db: db, q: q, outbox: outbox, log: log, now: time.Now}
	river.AddWorker(q.Workers(), &remindWorker{c: c})
	return c
}

// RemindArgs is the job that decides, once the delay has passed, whether a
// checkout gets its reminder.
type RemindArgs struct {
	CheckoutID int64 `json:"checkout_id"`
}

// Kind names the River job kind.
func (RemindArgs) Kind() string { return "checkout.remind" }

// Record stores or updates a checkout (by source and external id) and, for
// an open one with an email, schedules its reminder job: one per checkout,
// ever (a unique job), at its last activity plus the delay in the settings
// (the job looks again when it runs, as the shopper may have come back).
// A completed checkout is marked so, and its pending reminder cancelled.
// It returns what it did, for the webhook's outcome.
func (c *Checkouts) Record(ctx context.Context, ch Checkout) (string, error) {
	ch.Email = strings.ToLower(strings.TrimSpace(ch.Email))
	if ch.StartedAt.IsZero() {
		ch.StartedAt = c.now()
	}
	if ch.AbandonedAt.Before(ch.StartedAt) {
		ch.AbandonedAt = ch.StartedAt
	}
	set, err := LoadCheckoutSettings(ctx, c.db)
	if err != nil {
		return "", err
	}
	var outcome string
	err = db.InTx(ctx, c.db, func(tx *sqlx.Tx) error {
		row, err := upsertCheckout(ctx, tx, ch)
		if err != nil {
			return err
		}
		switch {
		case row.CompletedAt != nil:
			outcome = fmt.Sprintf("checkout %d completed", row.ID)
			return nil
		case row.Email == "":
			outcome = fmt.Sprintf("checkout %d recorded; no email to remind", row.ID)
			return nil
		}
		outcome = fmt.Sprintf("checkout %d recorded; reminder due %s", row.ID, row.AbandonedAt.Add(set.Delay()).UTC().Format(time.RFC3339))
		return c.q.InsertTx(ctx, tx.Tx, RemindArgs{CheckoutID: row.ID}, &river.InsertOpts{
			ScheduledAt: row.AbandonedAt.Add(set.Delay()),
			MaxAttempts: 10,
			UniqueOpts:  river.UniqueOpts{ByArgs: true},
		})
	})
	return outcome, err
}

// Complete marks the checkout (source, externalID) as having become an
// order at at, cancelling its reminder if it has not gone out; it reports
// whether such a checkout was on record.
func (c *Checkouts) Complete(ctx context.Context, source, externalID string, at time.Time) (bool, error) {
	return completeCheckout(ctx, c.db, source, externalID, at)
}

type remindWorker struct {
	river.WorkerDefaults[RemindArgs]
	c *Checkouts
}

func (w *remindWorker) Work(ctx context.Context, job *river.Job[RemindArgs]) error {
	wait, err := w.c.Remind(ctx, job.Args.CheckoutID)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// Remind decides a checkout's reminder, as its job does when due: if the
// shopper came back since, it returns how long to wait still; otherwise the
// reminder is queued (a marketing email, once: its dedupe key is the
// checkout), or cancelled because they ordered (the checkout completed, or
// an order by their email was placed since the checkout began), or skipped
// (reminders off, not a known customer, no marketing consent,
// unsubscribed, no link to return to). The decision is recorded on the
// checkout; a decided checkout is left alone.
func (c *Checkouts) Remind(ctx context.Context, id int64) (time.Duration, error) {
	set, err := LoadCheckoutSettings(ctx, c.db)
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	err = db.InTx(ctx, c.db, func(tx *sqlx.Tx) error {
		ch, found, err := lockCheckout(ctx, tx, id)
		if err != nil || !found || ch.Reminder != "pending" {
			return err
		}
		if due := ch.AbandonedAt.Add(set.Delay()); c.now().Before(due) {
			wait = due.Sub(c.now())
			return nil
		}
		reminder, note, customerID, err := c.decide(ctx, tx, ch, set)
		if err != nil {
			return err
		}
		if reminder == "queued" {
			m := mail.Queued{Kind: CheckoutMailKind, DedupeKey: CheckoutMailKind + ":" + fmt.Sprint(ch.ID), To: ch.Email, CustomerID: customerID}
			if err := c.outbox.Queue(ctx, tx, marketing(m)); err != nil {
				return err
			}
		}
		return setReminder(ctx, tx, ch.ID, reminder, note)
	})
	return wait, err
}

// decide says what becomes of a due reminder, why, and to which customer
// it goes.
func (c *Checkouts) decide(ctx context.Context, tx *sqlx.Tx, ch checkoutRow, set CheckoutSettings) (string, string, int64, error) {
	ordered, err := orderedSince(ctx, tx, ch.Email, ch.StartedAt)
	if err != nil {
		return "", "", 0, err
	}
	cust, known, err := customerConsent(ctx, tx, ch.Email)
	if err != nil {
		return "", "", 0, err
	}
	link, err := ch.link(ctx, tx)
	if err != nil {
		return "", "", 0, err
	}
	switch {
	case ch.CompletedAt != nil || ordered:
		return "cancelled", "the shopper ordered", 0, nil
	case !set.Enabled:
		return "skipped", "reminders are turned off", 0, nil
	case ch.Email == "":
		return "skipped", "no email address", 0, nil
	case !known:
		return "skipped", "not a known customer", 0, nil
	case !cust.MarketingConsent:
		return "skipped", "no marketing consent", 0, nil
	case cust.UnsubscribedAt != nil:
		return "skipped", "unsubscribed", 0, nil
	case link == "":
		return "skipped", "no link back to the cart", 0, nil
	}
	return "queued", "", cust.ID, nil
}
