package dashboard

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// emailsFromScratch is the email rollup computed anew from every message
// and event, one row per store day and kind, as text.
const emailsFromScratch = `
SELECT coalesce(string_agg(format('%s %s sent=%s failed=%s opened=%s clicked=%s unsub=%s queued=%s',
    day, kind, sent, failed, opened, clicked, unsubscribed, queued), E'\n' ORDER BY day, kind), '')
FROM (
    SELECT (m.created_at AT TIME ZONE (SELECT time_zone FROM settings))::date AS day, m.kind,
           count(*) FILTER (WHERE m.status IN ('sent', 'kept')) AS sent, count(*) FILTER (WHERE m.status = 'failed') AS failed,
           count(*) FILTER (WHERE ev.o) AS opened, count(*) FILTER (WHERE ev.c) AS clicked,
           count(*) FILTER (WHERE ev.u) AS unsubscribed, count(*) FILTER (WHERE m.status = 'queued') AS queued
    FROM messages m CROSS JOIN LATERAL (
        SELECT bool_or(kind = 'open') AS o, bool_or(kind = 'click') AS c, bool_or(kind = 'unsubscribe') AS u
        FROM message_events WHERE message_id = m.id) ev
    GROUP BY 1, 2) x`

// emailsRolledUp is dashboard_email_daily in the form of emailsFromScratch.
const emailsRolledUp = `
SELECT coalesce(string_agg(format('%s %s sent=%s failed=%s opened=%s clicked=%s unsub=%s queued=%s',
    day, kind, sent, failed, opened, clicked, unsubscribed, queued), E'\n' ORDER BY day, kind), '')
FROM dashboard_email_daily`

// exactRollup refreshes at now and checks that the rollup (rolledUp)
// equals the count from scratch (fromScratch), both read as one text.
func exactRollup(t *testing.T, db *sqlx.DB, now time.Time, step, fromScratch, rolledUp string) {
	t.Helper()
	if err := NewRollup(db).Refresh(context.Background(), now); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	var want, got string
	if err := db.Get(&want, fromScratch); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&got, rolledUp); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%s: the rollup\n%s\nfrom scratch\n%s", step, got, want)
	}
}

// exactEmails checks every day's email rollup against the count from
// scratch after a refresh at now.
func exactEmails(t *testing.T, db *sqlx.DB, now time.Time, step string) {
	t.Helper()
	exactRollup(t, db, now, step, emailsFromScratch, emailsRolledUp)
}

// TestRollupEmailsStayExactAsMessagesMove drives the refresh with a clock
// through what happens to messages after they are written: sent or failed
// after a refresh (also on an old day), opened and clicked days later,
// opened twice, committed late (stamped before the last refresh, within
// lateMargin), stamped exactly at the settled mark, and the clock going
// back. After every refresh each day's row equals the count from scratch.
func TestRollupEmailsStayExactAsMessagesMove(t *testing.T) {
	db := pgtest.DB(t)
	exec := execer(t, db)
	exec(`UPDATE settings SET time_zone = 'Europe/Berlin'`)
	exec(`INSERT INTO customers (id, email, name) VALUES (1, 'ann@example.com', 'Ann')`)
	msg := func(key, kind, status string, at time.Time) {
		t.Helper()
		exec(`INSERT INTO messages (kind, dedupe_key, customer_id, to_address, status, created_at, sent_at)
		      VALUES ($1, $2, 1, 'ann@example.com', $3, $4, CASE WHEN $3 IN ('sent', 'kept') THEN $4::timestamptz END)`,
			kind, key, status, at)
	}
	event := func(key, kind string, at time.Time) {
		t.Helper()
		exec(`INSERT INTO message_events (message_id, kind, created_at) SELECT id, $2, $3 FROM messages WHERE dedupe_key = $1`, key, kind, at)
	}
	setStatus := func(key, status string, at time.Time) {
		t.Helper()
		exec(`UPDATE messages SET status = $2, sent_at = CASE WHEN $2 IN ('sent', 'kept') THEN $3::timestamptz END
		      WHERE dedupe_key = $1`, key, status, at)
	}
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	after := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

	msg("old-sent", "review_request", "sent", t0.AddDate(0, 0, -5))
	msg("old-queued", "review_request", "queued", t0.AddDate(0, 0, -3))
	msg("old-retry", "order_confirmation", "queued", t0.AddDate(0, 0, -3))
	msg("midnight", "review_request", "sent", time.Date(2026, 3, 7, 23, 30, 0, 0, time.UTC)) // 8 March in Berlin
	msg("skipped", "winback", "skipped", t0.AddDate(0, 0, -2))
	msg("kept", "winback", "kept", t0.AddDate(0, 0, -2))
	msg("today", "review_request", "queued", after(-60))
	event("old-sent", "open", t0.AddDate(0, 0, -4))
	exactEmails(t, db, t0, "first refresh (rebuild)")

	// After the refresh: today's message is sent, an old one fails, a new
	// one is queued, the old sent one is clicked.
	setStatus("today", "sent", after(0).Add(30*time.Second))
	setStatus("old-queued", "failed", after(0).Add(30*time.Second))
	msg("new", "order_confirmation", "queued", after(0).Add(30*time.Second))
	event("old-sent", "click", after(0).Add(40*time.Second))
	exactEmails(t, db, after(1), "sent, failed, queued and clicked after the refresh")

	// Late commits: stamped before the last refresh, written after it.
	msg("late", "review_request", "sent", after(0).Add(50*time.Second))
	event("today", "open", after(0).Add(55*time.Second))
	event("old-sent", "open", after(2)) // opened again: still one message opened
	event("old-sent", "click", after(0).Add(45*time.Second))
	exactEmails(t, db, after(2), "late commits")

	// Stamped exactly where the next refresh's settled part will end
	// (t0+15m - lateMargin), and an old day's message still retrying.
	msg("edge", "review_request", "queued", after(5))
	event("late", "unsubscribe", after(5))
	exec(`UPDATE messages SET attempts = attempts + 1, last_error = 'try again' WHERE dedupe_key = 'old-retry'`)
	exactEmails(t, db, after(15), "stamped at the settled mark")
	setStatus("edge", "sent", after(16))
	setStatus("new", "failed", after(16))
	setStatus("old-retry", "sent", after(16))
	msg("back", "review_request", "sent", after(19).Add(30*time.Second))
	event("back", "open", after(19).Add(40*time.Second))
	exactEmails(t, db, after(30), "the tail settles")

	// A clock that goes back must not settle anything twice (above: what
	// is stamped just before the mark of the refresh at +30m).
	exactEmails(t, db, after(29), "the clock went back")
	exactEmails(t, db, after(33), "the clock is forward again")
	exactEmails(t, db, after(60), "an hour later")
	exactEmails(t, db, t0.AddDate(0, 0, 2), "two days later")

	// A new time zone moves the days: the next refresh rebuilds them all.
	exec(`UPDATE settings SET time_zone = 'UTC'`)
	exactEmails(t, db, t0.AddDate(0, 0, 2).Add(time.Minute), "in UTC")
	exec(`UPDATE settings SET time_zone = 'Europe/Berlin'`)
	exactEmails(t, db, t0.AddDate(0, 0, 2).Add(2*time.Minute), "back in Berlin")
}
