package returns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
)

// QueueFilter narrows the staff queue. Zero values match everything.
type QueueFilter struct {
	// Status is a status, "" for every open return (not yet closed), or
	// "all".
	Status string
	// MinAgeDays keeps returns that have waited at least this many days in
	// their status.
	MinAgeDays int
	// Reason keeps returns with an item returned for this reason code.
	Reason string
	// MinValueMinor and MaxValueMinor bound the requested value (0 = no bound).
	MinValueMinor, MaxValueMinor int64
}

// QueueLimit is the most returns one queue page lists.
const QueueLimit = 200

// QueueRow is one return in the staff queue.
type QueueRow struct {
	ID              int64          `db:"id"`
	RMA             string         `db:"rma"`
	Status          Status         `db:"status"`
	Resolution      Resolution     `db:"resolution"`
	Currency        string         `db:"currency"`
	ValueMinor      int64          `db:"value_minor"`
	Units           int            `db:"units"`
	Reasons         pq.StringArray `db:"reasons"`
	HasPhotos       bool           `db:"has_photos"`
	OrderNumber     string         `db:"order_number"`
	CustomerEmail   string         `db:"customer_email"`
	CustomerName    string         `db:"customer_name"`
	CreatedAt       time.Time      `db:"created_at"`
	StatusChangedAt time.Time      `db:"status_changed_at"`
	// Waited is how long it has been in its status, in words ("3 days").
	Waited string `db:"-"`
	// ReasonLabels are the store's words for Reasons.
	ReasonLabels []string `db:"-"`
}

// Queue is one page of the staff queue, oldest first, with the number of
// returns in each status (whatever the filter).
type Queue struct {
	Rows   []QueueRow
	Counts map[Status]int
	Open   int
	More   bool
}

// openStatuses are the statuses that need staff work or wait for a parcel.
var openStatuses = []string{string(Requested), string(Approved), string(InTransit), string(Received), string(ResolutionFailed)}

// Queue lists returns matching f, longest waiting first.
func (s *Service) Queue(ctx context.Context, f QueueFilter) (Queue, error) {
	var statuses []string
	switch {
	case f.Status == "":
		statuses = openStatuses
	case f.Status == "all":
	case Status(f.Status).Valid():
		statuses = []string{f.Status}
	default:
		statuses = []string{"-"} // an unknown status matches nothing
	}
	q := Queue{Rows: []QueueRow{}, Counts: map[Status]int{}}
	err := s.db.SelectContext(ctx, &q.Rows, `
		SELECT r.id, r.rma, r.status, r.resolution, r.currency, r.value_minor, r.created_at, r.status_changed_at,
		       o.number AS order_number, c.email AS customer_email, c.name AS customer_name,
		       COALESCE((SELECT sum(ri.quantity) FROM return_items ri WHERE ri.return_id = r.id), 0)::int AS units,
		       ARRAY(SELECT DISTINCT ri.reason FROM return_items ri WHERE ri.return_id = r.id ORDER BY 1) AS reasons,
		       EXISTS (SELECT 1 FROM return_photos p WHERE p.return_id = r.id) AS has_photos
		FROM return_requests r JOIN orders o ON o.id = r.order_id JOIN customers c ON c.id = r.customer_id
		WHERE ($1::text[] IS NULL OR r.status = ANY($1))
		  AND ($2::int = 0 OR r.status_changed_at <= now() - make_interval(days => $2))
		  AND ($3::text = '' OR EXISTS (SELECT 1 FROM return_items ri WHERE ri.return_id = r.id AND ri.reason = $3))
		  AND ($4::bigint = 0 OR r.value_minor >= $4)
		  AND ($5::bigint = 0 OR r.value_minor <= $5)
		ORDER BY r.status_changed_at, r.id
		LIMIT $6`, pqArrayOrNil(statuses), max(0, f.MinAgeDays), strings.TrimSpace(f.Reason),
		max(0, f.MinValueMinor), max(0, f.MaxValueMinor), QueueLimit+1)
	if err != nil {
		return q, fmt.Errorf("returns: queue: %w", err)
	}
	if len(q.Rows) > QueueLimit {
		q.Rows, q.More = q.Rows[:QueueLimit], true
	}
	p, err := LoadPolicy(ctx, s.db)
	if err != nil {
		return q, err
	}
	now := s.now()
	for i := range q.Rows {
		q.Rows[i].Waited = Waited(now.Sub(q.Rows[i].StatusChangedAt))
		for _, code := range q.Rows[i].Reasons {
			q.Rows[i].ReasonLabels = append(q.Rows[i].ReasonLabels, ReasonLabel(p, code))
		}
	}
	var counts []struct {
		Status Status `db:"status"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &counts, `SELECT status, count(*) AS n FROM return_requests GROUP BY status`); err != nil {
		return q, fmt.Errorf("returns: queue counts: %w", err)
	}
	for _, c := range counts {
		q.Counts[c.Status] = c.N
		if !c.Status.Done() {
			q.Open += c.N
		}
	}
	return q, nil
}

func pqArrayOrNil(s []string) any {
	if s == nil {
		return nil
	}
	return pq.Array(s)
}

// Waited says a duration in words, to the largest whole unit: "just now",
// "12 minutes", "5 hours", "3 days".
func Waited(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}
