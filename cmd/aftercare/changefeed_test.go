package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/changefeed"
)

// secondInstance serves the live app's database from another process-like
// instance (its own pools, caches and change feed) on its own port.
func (l *liveApp) secondInstance(t *testing.T) *liveApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := serveApp(t, l.Config, appOptions{PollInterval: 20 * time.Millisecond}, ln)
	return &liveApp{App: app, base: "http://" + ln.Addr().String(), key: l.key, smtp: l.smtp}
}

// eventually polls check until it holds: a change made through another
// instance arrives with its notification, a moment after its commit. The
// test's own timeout bounds a change that never arrives.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen after 30 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var memoHitsPattern = regexp.MustCompile(`(?m)^aftercare_session_memo_hits_total (\d+)`)

func memoHits(t *testing.T, l *liveApp) int64 {
	t.Helper()
	resp, err := http.Get(l.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := memoHitsPattern.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no memo hits in /metrics")
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// TestOrderPageFollowsTheChangeFeed: the signed-in order page is answered
// from memory between changes, and never shows less than what was
// committed: at once for changes made through the same instance (its
// fence), a moment later for another instance's, and a session ended
// anywhere stops being honoured.
func TestOrderPageFollowsTheChangeFeed(t *testing.T) {
	a := startLive(t)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	if a.Feed == nil {
		t.Fatal("the change feed is off by default")
	}
	order := a.placeDemoOrder(t, "feed@example.com", "#9100")
	var ship int64
	if err := a.DB.Get(&ship, `SELECT id FROM shipments WHERE order_id = $1`, order); err != nil {
		t.Fatal(err)
	}
	shopper := a.signInShopper(t, "feed@example.com")
	path := fmt.Sprintf("/orders/%d", order)
	if p := shopper.get(path); p.status != http.StatusOK || !strings.Contains(p.body, "Out for delivery") {
		t.Fatalf("order page: %d %.300s", p.status, p.body)
	}
	eventually(t, "the feed live", a.Feed.Ready)
	before := memoHits(t, a)
	for i := 0; i < 3; i++ {
		shopper.get(path)
	}
	if got := memoHits(t, a) - before; got < 3 {
		t.Fatalf("%d of 3 views answered from memory", got)
	}

	// Through this instance: each change shows on the very next view.
	for i := 0; i < 25; i++ {
		detail := fmt.Sprintf("Scanned at hub %d", i)
		a.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", ship), map[string]any{
			"status": "in_transit", "detail": detail, "location": "Newark, NJ",
			"occurred_at": time.Now().UTC().Add(time.Duration(i-60) * time.Minute).Format(time.RFC3339), "provider_event_id": fmt.Sprintf("hub-%d", i),
		}, 201)
		if p := shopper.get(path); !strings.Contains(p.body, detail) {
			t.Fatalf("view right after a change through this instance misses %q", detail)
		}
	}

	// Through another instance, and straight in the database: a moment later.
	b := a.secondInstance(t)
	b.api(t, "POST", fmt.Sprintf("/api/v1/shipments/%d/events", ship), map[string]any{
		"status": "in_transit", "detail": "Handed over next door", "location": "Newark, NJ",
		"occurred_at": time.Now().UTC().Add(-30 * time.Minute).Format(time.RFC3339), "provider_event_id": "next-door",
	}, 201)
	eventually(t, "another instance's tracking event", func() bool {
		return strings.Contains(shopper.get(path).body, "Handed over next door")
	})
	a.DB.MustExec(`UPDATE settings SET store_name = 'Renamed Kettles'`)
	eventually(t, "settings saved elsewhere", func() bool {
		return strings.Contains(shopper.get(path).body, "Renamed Kettles")
	})

	// A lost feed: pages read the database until it is back, then the memo
	// starts again from nothing.
	a.DB.MustExec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, changefeed.ApplicationName)
	a.DB.MustExec(`UPDATE settings SET store_name = 'Kettles While Away'`)
	eventually(t, "a change made while the feed was down", func() bool {
		return strings.Contains(shopper.get(path).body, "Kettles While Away")
	})
	eventually(t, "the feed back", a.Feed.Ready)

	// A session deleted elsewhere (signed out on another device, erased).
	a.DB.MustExec(`DELETE FROM sessions WHERE customer_id = (SELECT customer_id FROM orders WHERE id = $1)`, order)
	eventually(t, "a session ended elsewhere", func() bool {
		return shopper.get(path).status == http.StatusSeeOther
	})
}
