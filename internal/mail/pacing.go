package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/settings"
)

// PacingSection is the settings section that holds Pacing.
const PacingSection = "mail"

// Pacing keeps marketing mail from flooding a shopper. It is stored in the
// settings section "mail" and applies to every message queued with
// Marketing: true, whichever feature queued it. Order updates are never
// paced.
type Pacing struct {
	// FrequencyCapHours is the least time between two marketing emails to
	// one customer; 0 turns the cap off. A message that comes too soon is
	// deferred until the cap has passed, never dropped.
	FrequencyCapHours int `json:"frequency_cap_hours"`
	// QuietStart and QuietEnd ("21:00", "08:00") are the store-time hours in
	// which no marketing email goes out; a message due then waits for
	// QuietEnd. Equal or empty values mean no quiet hours. The window may
	// span midnight.
	QuietStart string `json:"quiet_start"`
	QuietEnd   string `json:"quiet_end"`
}

// DefaultPacing is the pacing of a new store: one marketing email per 16
// hours at most, none between 21:00 and 08:00 store time.
func DefaultPacing() Pacing {
	return Pacing{FrequencyCapHours: 16, QuietStart: "21:00", QuietEnd: "08:00"}
}

// LoadPacing reads the store's pacing, with the defaults for what was never saved.
func LoadPacing(ctx context.Context, q sqlx.QueryerContext) (Pacing, error) {
	p := DefaultPacing()
	err := settings.LoadSection(ctx, q, PacingSection, &p)
	return p, err
}

// SavePacing validates p and stores it; by is the audit actor. It returns a
// fault.Fields error naming the bad fields.
func SavePacing(ctx context.Context, q sqlx.ExecerContext, p Pacing, by string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return settings.SaveSection(ctx, q, PacingSection, p, by)
}

// Validate returns a fault.Fields error naming each bad field.
func (p Pacing) Validate() error {
	var f fault.Fields
	if p.FrequencyCapHours < 0 || p.FrequencyCapHours > 24*30 {
		f.Add("frequency_cap_hours", "must be between 0 and 720 hours")
	}
	if _, ok := clockMinutes(p.QuietStart); !ok && p.QuietStart != "" {
		f.Add("quiet_start", "must be a time of day such as 21:00")
	}
	if _, ok := clockMinutes(p.QuietEnd); !ok && p.QuietEnd != "" {
		f.Add("quiet_end", "must be a time of day such as 08:00")
	}
	if (p.QuietStart == "") != (p.QuietEnd == "") {
		f.Add("quiet_end", "give both ends of the quiet hours, or neither")
	}
	return f.Err()
}

// clockMinutes parses "HH:MM" (24-hour) into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// NextSendTime is the earliest time at or after now when a marketing email
// may go to a customer whose previous one went at last (zero if never): the
// frequency cap first, then out of the quiet hours in loc.
func (p Pacing) NextSendTime(now, last time.Time, loc *time.Location) time.Time {
	t := now
	if p.FrequencyCapHours > 0 && !last.IsZero() {
		if free := last.Add(time.Duration(p.FrequencyCapHours) * time.Hour); free.After(t) {
			t = free
		}
	}
	return p.afterQuiet(t, loc)
}

// afterQuiet returns t, or the end of the quiet hours that t falls in.
func (p Pacing) afterQuiet(t time.Time, loc *time.Location) time.Time {
	start, ok1 := clockMinutes(p.QuietStart)
	end, ok2 := clockMinutes(p.QuietEnd)
	if !ok1 || !ok2 || start == end {
		return t
	}
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	quiet := start <= m && m < end
	if start > end { // the window spans midnight
		quiet = m >= start || m < end
	}
	if !quiet {
		return t
	}
	y, mo, d := local.Date()
	until := time.Date(y, mo, d, end/60, end%60, 0, 0, loc)
	if !until.After(local) { // in the evening part of a window that ends tomorrow
		until = time.Date(y, mo, d+1, end/60, end%60, 0, 0, loc)
	}
	return until
}

// audience is what pacing needs to know about a marketing message's customer.
type audience struct {
	ID           int64        `db:"id"`
	Consent      bool         `db:"marketing_consent"`
	Unsubscribed sql.NullTime `db:"unsubscribed_at"`
}

// refusal says why a may not get marketing email, or "" when they may.
func (a audience) refusal() string {
	switch {
	case a.Unsubscribed.Valid:
		return "the customer unsubscribed from marketing email"
	case !a.Consent:
		return "the customer has not agreed to marketing email"
	}
	return ""
}

// MarketingRefusal says why customer id may not get marketing email: they
// never consented, or unsubscribed; "" means they may. Delivery checks it
// again before sending; features check it first to skip early and say why.
func MarketingRefusal(ctx context.Context, q sqlx.QueryerContext, customerID int64) (string, error) {
	var a audience
	err := sqlx.GetContext(ctx, q, &a, `SELECT id, marketing_consent, unsubscribed_at FROM customers WHERE id = $1`, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return "the customer no longer exists", nil
	}
	if err != nil {
		return "", fmt.Errorf("mail: consent of customer %d: %w", customerID, err)
	}
	return a.refusal(), nil
}

// verdict is pacing's answer for one marketing message: skip it (and why),
// or hold it until a time, or (both zero) send it now.
type verdict struct {
	skip  string
	until time.Time
}

// pace decides about marketing message m at now. With lock, the customer's
// row is locked for the rest of transaction q, so two instances cannot both
// send within one frequency cap.
func pace(ctx context.Context, q sqlx.QueryerContext, m Message, now time.Time, lock bool) (verdict, error) {
	query := `SELECT id, marketing_consent, unsubscribed_at FROM customers WHERE id = $1`
	arg := any(m.CustomerID)
	if m.CustomerID == 0 {
		query, arg = `SELECT id, marketing_consent, unsubscribed_at FROM customers WHERE email = lower(btrim($1))`, m.To
	}
	if lock {
		query += ` FOR UPDATE`
	}
	var a audience
	err := sqlx.GetContext(ctx, q, &a, query, arg)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return verdict{skip: "no marketing consent on record for the recipient"}, nil
	case err != nil:
		return verdict{}, fmt.Errorf("mail: pace message %d: %w", m.ID, err)
	case a.refusal() != "":
		return verdict{skip: a.refusal()}, nil
	}
	p, err := LoadPacing(ctx, q)
	if err != nil {
		return verdict{}, err
	}
	store, err := settings.Load(ctx, q)
	if err != nil {
		return verdict{}, err
	}
	var last sql.NullTime
	err = sqlx.GetContext(ctx, q, &last, `SELECT max(sent_at) FROM messages
		WHERE customer_id = $1 AND marketing AND sent_at IS NOT NULL AND id <> $2`, a.ID, m.ID)
	if err != nil {
		return verdict{}, fmt.Errorf("mail: pace message %d: last marketing email: %w", m.ID, err)
	}
	if next := p.NextSendTime(now, last.Time, store.Location()); next.After(now) {
		return verdict{until: next}, nil
	}
	return verdict{}, nil
}
