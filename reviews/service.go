package reviews

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/pagecache"
)

// Emitter records domain events in a transaction (*events.Bus).
type Emitter interface {
	Emit(ctx context.Context, tx *sqlx.Tx, ev events.Event) error
}

// Service holds the review rules.
type Service struct {
	db  *sqlx.DB
	bus Emitter
	now func() time.Time
	// forOrder keeps ForOrder's answers per order page version
	// (internal/pagecache).
	forOrder *pagecache.Cache[[]Item]
}

// NewService returns the review rules over db; bus (nil: none) gets
// review.submitted, now (nil: time.Now) is the clock.
func NewService(db *sqlx.DB, bus Emitter, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, bus: bus, now: now, forOrder: pagecache.New[[]Item](pagecache.SectionSize)}
}

// Input is a review as its author writes it.
type Input struct {
	Rating int
	Title  string
	Body   string
}

// Limits of a review's text.
const (
	MaxTitle = 150
	MaxBody  = 5000
)

// normalize trims in and returns a fault.Fields error naming the form's
// fields (rating, title, body).
func (in Input) normalize() (Input, error) {
	var f fault.Fields
	in.Title = cleanText(in.Title, false)
	in.Body = cleanText(in.Body, true)
	if in.Rating < 1 || in.Rating > 5 {
		f.Add("rating", "choose from one to five stars")
	}
	if utf8.RuneCountInString(in.Title) > MaxTitle {
		f.Add("title", "must be at most 150 characters")
	}
	if utf8.RuneCountInString(in.Body) > MaxBody {
		f.Add("body", "must be at most 5,000 characters")
	}
	return in, f.Err()
}

// cleanText makes s storable and tidy: valid UTF-8, no control characters
// (new lines kept when multiline), trimmed.
func cleanText(s string, multiline bool) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && multiline:
			return r
		case r == '\t' || r == '\n':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// Item returns order line itemID of customerID with its review, for the form.
func (s *Service) Item(ctx context.Context, customerID, itemID int64) (Item, error) {
	return itemOf(ctx, s.db, customerID, itemID, false)
}

// ForOrder returns the lines of order orderID of customerID with their
// reviews; none when the order is not theirs. Within an order page the
// answer is cached under the page's version and is read-only.
func (s *Service) ForOrder(ctx context.Context, customerID, orderID int64) ([]Item, error) {
	return s.forOrder.Load(ctx, orderID, func() ([]Item, error) { return itemsOfOrder(ctx, s.db, customerID, orderID) })
}

// Submit records customerID's review of order line itemID in its own transaction.
func (s *Service) Submit(ctx context.Context, customerID, itemID int64, in Input) (Review, error) {
	var r Review
	err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		r, err = s.SubmitTx(ctx, tx, customerID, itemID, in)
		return err
	})
	return r, err
}

// SubmitTx records customerID's review of order line itemID in tx: a new
// one, or a change to theirs while it is not published (a rejected review
// that is changed waits for a check again). A review of at least the
// auto-publish rating is published at once. A new review emits
// review.submitted with its rating. It returns ErrItemNotFound for a line
// that is not theirs, fault.Fields for bad input, and fault.Conflict for a
// published review or a refunded or cancelled order.
func (s *Service) SubmitTx(ctx context.Context, tx *sqlx.Tx, customerID, itemID int64, in Input) (Review, error) {
	in, err := in.normalize()
	if err != nil {
		return Review{}, err
	}
	set, err := LoadSettings(ctx, tx)
	if err != nil {
		return Review{}, err
	}
	it, err := itemOf(ctx, tx, customerID, itemID, true)
	if err != nil {
		return Review{}, err
	}
	if it.OrderStatus == "refunded" || it.OrderStatus == "cancelled" {
		return Review{}, fault.Errorf(fault.Conflict, "This order was %s, so it cannot be reviewed.", it.OrderStatus)
	}
	now := s.now()
	status, publishedAt := StatusPending, (*time.Time)(nil)
	if set.AutoPublishMinRating > 0 && in.Rating >= set.AutoPublishMinRating {
		status, publishedAt = StatusPublished, &now
	}
	if old := it.Review; old != nil {
		if !old.Editable() {
			return *old, fault.Errorf(fault.Conflict, "Your review is published, so it can no longer be changed.")
		}
		if old.Status == StatusRejected {
			status, publishedAt = StatusPending, nil
		}
		return updateReview(ctx, tx, Review{ID: old.ID, Rating: in.Rating, Title: in.Title, Body: in.Body,
			Status: status, PublishedAt: publishedAt, UpdatedAt: now})
	}
	r, err := insertReview(ctx, tx, Review{OrderItemID: it.ID, OrderID: it.OrderID, CustomerID: customerID, SKU: it.SKU,
		Rating: in.Rating, Title: in.Title, Body: in.Body, AuthorName: authorName(it.BuyerName), Status: status,
		PublishedAt: publishedAt, CreatedAt: now})
	if err != nil {
		return r, err
	}
	if s.bus != nil {
		err = s.bus.Emit(ctx, tx, events.Event{Kind: events.ReviewSubmitted, At: now, CustomerID: customerID,
			OrderID: it.OrderID, ReviewID: r.ID, Rating: r.Rating})
	}
	return r, err
}

// Queue returns a page of reviews in status for staff, with the count of
// each status.
func (s *Service) Queue(ctx context.Context, status string, page int) ([]Entry, map[string]int, error) {
	if status != StatusPublished && status != StatusRejected {
		status = StatusPending
	}
	page = max(page, 1)
	entries, err := listEntries(ctx, s.db, status, pageSize, (page-1)*pageSize)
	if err != nil {
		return nil, nil, err
	}
	counts, err := countByStatus(ctx, s.db)
	return entries, counts, err
}

const pageSize = 25

// Entry returns review id for staff, or fault.NotFound.
func (s *Service) Entry(ctx context.Context, id int64) (Entry, error) {
	return lockEntry(ctx, s.db, id, false)
}

// Publish shows review id on the storefront; staffID did it.
func (s *Service) Publish(ctx context.Context, id, staffID int64) error {
	return s.moderate(ctx, id, staffID, StatusPublished, "")
}

// Reject hides review id for reason, one of RejectReasons (anything else is
// a fault.Field error on "reason": a review is never refused for its
// rating or its tone towards the store).
func (s *Service) Reject(ctx context.Context, id, staffID int64, reason string) error {
	if !validReason(reason) {
		return fault.Field("reason", "choose one of the listed reasons")
	}
	return s.moderate(ctx, id, staffID, StatusRejected, reason)
}

func (s *Service) moderate(ctx context.Context, id, staffID int64, status, reason string) error {
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		e, err := lockEntry(ctx, tx, id, true)
		if err != nil {
			return err
		}
		var why *string
		if reason != "" {
			why = &reason
		}
		if err := setModeration(ctx, tx, id, status, why, staffID, s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Staff(staffID), "review."+status, reviewSubject(id),
			map[string]any{"from": e.Status, "reason": reason, "rating": e.Rating})
	})
}

// Reply sets (or, with an empty body, removes) the store's public reply
// under review id. It returns a fault.Field error on "reply" for a reply
// over 5,000 characters.
func (s *Service) Reply(ctx context.Context, id, staffID int64, body string) error {
	body = cleanText(body, true)
	if utf8.RuneCountInString(body) > MaxBody {
		return fault.Field("reply", "must be at most 5,000 characters")
	}
	return db.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := lockEntry(ctx, tx, id, true); err != nil {
			return err
		}
		if err := setReply(ctx, tx, id, body, staffID, s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Staff(staffID), "review.replied", reviewSubject(id), map[string]any{"chars": len(body)})
	})
}

// PublishOverdue publishes reviews that waited for a check longer than the
// store allows, so that waiting never hides a review for good. It returns
// how many it published.
func (s *Service) PublishOverdue(ctx context.Context) (int64, error) {
	set, err := LoadSettings(ctx, s.db)
	if err != nil || set.PublishUnmoderatedAfterDays == 0 {
		return 0, err
	}
	now := s.now()
	return publishOverdue(ctx, s.db, now.AddDate(0, 0, -set.PublishUnmoderatedAfterDays), now)
}

func reviewSubject(id int64) string { return "review:" + itoa(id) }
