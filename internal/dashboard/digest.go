package dashboard

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
)

// DigestKind is the email kind of the daily staff digest.
const DigestKind = "staff_digest"

// digestHour is the store-time hour from which the day's digest is queued,
// so it arrives at the start of the working day rather than at midnight.
const digestHour = 7

// Digest queues and composes the daily staff email: yesterday's KPIs and
// the work that waits.
type Digest struct {
	db     *sqlx.DB
	svc    *Service
	outbox *mail.Outbox
	r      *mail.Renderer
	base   string
}

// NewDigest returns the digest; baseURL is where the admin lives.
func NewDigest(db *sqlx.DB, outbox *mail.Outbox, r *mail.Renderer, baseURL string) *Digest {
	return &Digest{db: db, svc: NewService(db), outbox: outbox, r: r, base: strings.TrimRight(baseURL, "/")}
}

// Queue queues today's digest (about yesterday) for every active staff
// member, once per member and day (the dedupe key holds the date), and only
// from 07:00 store time. Run it hourly; a second run the same day, or on
// another instance, queues nothing new. It returns only database errors.
func (d *Digest) Queue(ctx context.Context, now time.Time) error {
	st, err := settings.Load(ctx, d.db)
	if err != nil {
		return err
	}
	local := now.In(st.Location())
	if local.Hour() < digestHour {
		return nil
	}
	day := local.AddDate(0, 0, -1).Format("2006-01-02")
	return db.InTx(ctx, d.db, func(tx *sqlx.Tx) error {
		var team []struct {
			ID    int64  `db:"id"`
			Email string `db:"email"`
		}
		if err := tx.SelectContext(ctx, &team, `SELECT id, email FROM staff WHERE disabled_at IS NULL ORDER BY id`); err != nil {
			return fmt.Errorf("dashboard: digest recipients: %w", err)
		}
		for _, m := range team {
			key := DigestKind + ":" + day + ":" + strconv.FormatInt(m.ID, 10)
			if err := d.outbox.Queue(ctx, tx, mail.Queued{Kind: DigestKind, DedupeKey: key, To: m.Email}); err != nil {
				return err
			}
		}
		return nil
	})
}

// DigestEmail is .Data of the staff_digest email.
type DigestEmail struct {
	Day       string
	Tables    []Table
	Waiting   Waiting
	AdminURL  string
	FirstName string
}

// Waiting is the staff's open work: returns untouched for 48 hours,
// flagged referral rewards, webhooks that failed and were not processed,
// and emails that failed in the last day.
type Waiting struct {
	Returns  int64 `db:"returns"`
	Flagged  int64 `db:"flagged"`
	Webhooks int64 `db:"webhooks"`
	Emails   int64 `db:"emails"`
}

func (d *Digest) waiting(ctx context.Context, now time.Time) (Waiting, error) {
	var w Waiting
	err := d.db.GetContext(ctx, &w, `
SELECT
  (SELECT count(*) FROM return_requests WHERE status IN ('requested', 'received', 'resolution_failed')
       AND status_changed_at < $1::timestamptz - interval '48 hours') AS returns,
  (SELECT count(*) FROM rewards WHERE status = 'flagged') AS flagged,
  (SELECT count(*) FROM webhook_events WHERE processed_at IS NULL AND last_error <> '') AS webhooks,
  (SELECT count(*) FROM messages WHERE status = 'failed' AND created_at >= $1::timestamptz - interval '24 hours') AS emails`, now)
	if err != nil {
		return w, fmt.Errorf("dashboard: digest waiting: %w", err)
	}
	return w, nil
}

// Compose renders a staff_digest message for delivery: the day comes from
// its dedupe key. A message to an address that is no longer an active staff
// member is skipped.
func (d *Digest) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	parts := strings.Split(m.DedupeKey, ":")
	if len(parts) != 3 {
		return mail.Content{}, mail.Skip(fmt.Errorf("dashboard: digest message %d: bad key %q", m.ID, m.DedupeKey))
	}
	var name string
	err := d.db.GetContext(ctx, &name, `SELECT name FROM staff WHERE email = $1 AND disabled_at IS NULL`, m.To)
	if err != nil {
		return mail.Content{}, mail.Skip(fmt.Errorf("dashboard: digest message %d: no active staff member: %w", m.ID, err))
	}
	st, err := settings.Load(ctx, d.db)
	if err != nil {
		return mail.Content{}, err
	}
	p, err := ParsePeriod(parts[1], parts[1], m.CreatedAt, st.Location())
	if err != nil {
		return mail.Content{}, mail.Skip(fmt.Errorf("dashboard: digest message %d: %w", m.ID, err))
	}
	r, err := d.svc.Report(ctx, p)
	if err != nil {
		return mail.Content{}, err
	}
	w, err := d.waiting(ctx, m.CreatedAt)
	if err != nil {
		return mail.Content{}, err
	}
	var tables []Table
	for _, n := range []string{"sales", "customers", "returns", "reviews", "referrals"} {
		t, _ := r.Table(n)
		tables = append(tables, t)
	}
	first, _, _ := strings.Cut(name, " ")
	return d.r.Render(DigestKind, mail.View{Store: st, Data: DigestEmail{
		Day: parts[1], Tables: tables, Waiting: w, FirstName: first,
		AdminURL: d.base + "/admin?from=" + parts[1] + "&to=" + parts[1],
	}})
}
