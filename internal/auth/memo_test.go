package auth

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/web"
)

// switchFeed is a Feed whose state the test sets: the memo's rules are
// about what it may do in each state, and the real feed's own tests
// (internal/changefeed) cover how the states come about.
type switchFeed struct{ live, ready bool }

func (f *switchFeed) Live() bool  { return f.live }
func (f *switchFeed) Ready() bool { return f.ready }

var (
	memoNow  = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	memoHash = []byte("0123456789abcdef0123456789abcdef")
)

func memoFillOf(order int64) memoFill {
	return memoFill{hash: memoHash, customer: 7, expires: memoNow.Add(time.Hour), lastSeen: memoNow,
		epochs: &settings.Epochs{Settings: 3, Catalog: 4}, order: order, orderVersion: 11, customerVersion: 12}
}

func TestMemoServesWhatItWasFilledWith(t *testing.T) {
	feed := &switchFeed{live: true, ready: true}
	m := newMemo(feed, 100)
	if _, ok := m.lookup(memoHash, false, 0, memoNow); ok {
		t.Fatal("a hit in an empty memo")
	}
	m.fill(m.begin(), memoFillOf(5))
	h, ok := m.lookup(memoHash, true, 5, memoNow)
	if !ok || h.customer != 7 || h.epochs != (settings.Epochs{Settings: 3, Catalog: 4}) || h.orderVersion != 11 || h.customerVersion != 12 || !h.lastSeen.Equal(memoNow) {
		t.Fatalf("lookup = %+v, %v", h, ok)
	}
	if _, ok := m.lookup(memoHash, false, 6, memoNow); ok {
		t.Fatal("a hit for an order never read")
	}
	if _, ok := m.lookup(memoHash, false, 0, memoNow.Add(time.Hour)); ok {
		t.Fatal("a hit for a session past its expiry")
	}
	if _, ok := m.lookup([]byte("another session's hash.........."), false, 0, memoNow); ok {
		t.Fatal("a hit for another session")
	}
	feed.ready = false
	if _, ok := m.lookup(memoHash, false, 0, memoNow); ok {
		t.Fatal("a hit while the feed is not ready")
	}
	// An order read for another customer is not this session's.
	feed.ready = true
	m.mu.Lock()
	m.orders[5] = memoOrder{owner: 8, version: 11}
	m.mu.Unlock()
	if _, ok := m.lookup(memoHash, false, 5, memoNow); ok {
		t.Fatal("a hit for another customer's order")
	}
}

func TestMemoKeepsNothingWhileTheFeedIsDown(t *testing.T) {
	feed := &switchFeed{live: false, ready: true}
	m := newMemo(feed, 100)
	m.fill(m.begin(), memoFillOf(5))
	if _, ok := m.lookup(memoHash, false, 0, memoNow); ok {
		t.Fatal("kept a read made while the feed was not live")
	}
}

// Each notification drops what it names, and a read during which one was
// heard keeps nothing it names (it may have read before the change).
func TestMemoInvalidations(t *testing.T) {
	hexHash := hex.EncodeToString(memoHash)
	cases := []struct {
		kind                                 byte
		keys                                 string
		session, epochs, order, customerVers bool // what survives
	}{
		{'s', hexHash, false, true, true, true},
		{'s', strings.Repeat("ab", 32) + "," + hexHash, false, true, true, true},
		{'s', strings.Repeat("ab", 32), true, true, true, true},
		{'o', "5", true, true, false, true},
		{'o', "4,5,6", true, true, false, true},
		{'o', "6", true, true, true, true},
		{'c', "7", true, true, true, false},
		{'c', "8", true, true, true, true},
		{'e', "", true, false, true, true},
		{'*', "", false, false, false, false},
		{'o', "5x", false, false, false, false},       // unreadable: forget all
		{'s', "zz", false, false, false, false},       // unreadable: forget all
		{'q', "whatever", false, false, false, false}, // unknown kind: forget all
	}
	for _, c := range cases {
		name := fmt.Sprintf("%c%s", c.kind, c.keys)
		check := func(m *memo, how string) {
			t.Helper()
			_, s := m.lookup(memoHash, false, 0, memoNow)
			m.mu.Lock()
			e := m.hasEpochs
			_, o := m.orders[5]
			_, cv := m.customers[7]
			m.mu.Unlock()
			if s != c.session || e != c.epochs || o != c.order || cv != c.customerVers {
				t.Errorf("%s %s: kept session %v epochs %v order %v customer %v, want %v %v %v %v",
					name, how, s, e, o, cv, c.session, c.epochs, c.order, c.customerVers)
			}
		}
		after := newMemo(&switchFeed{live: true, ready: true}, 100)
		after.fill(after.begin(), memoFillOf(5))
		after.Changed(c.kind, c.keys)
		check(after, "after the fill")

		during := newMemo(&switchFeed{live: true, ready: true}, 100)
		token := during.begin()
		during.Changed(c.kind, c.keys)
		during.fill(token, memoFillOf(5))
		check(during, "during the read")
	}
}

func TestMemoReadOverrunByInvalidationsKeepsNothing(t *testing.T) {
	m := newMemo(&switchFeed{live: true, ready: true}, 100)
	token := m.begin()
	for i := 0; i < ringSize; i++ {
		m.Changed('o', fmt.Sprint(1000+i)) // none of them this read's
	}
	m.fill(token, memoFillOf(5))
	if _, ok := m.lookup(memoHash, false, 0, memoNow); ok {
		t.Fatal("kept a read whose invalidations could no longer be checked")
	}
	token = m.begin()
	for i := 0; i < ringSize-1; i++ {
		m.Changed('o', fmt.Sprint(1000+i))
	}
	m.fill(token, memoFillOf(5))
	if _, ok := m.lookup(memoHash, true, 5, memoNow); !ok {
		t.Fatal("dropped a read whose invalidations were all checked and none its own")
	}
}

func TestMemoStaysWithinItsSize(t *testing.T) {
	m := newMemo(&switchFeed{live: true, ready: true}, 10)
	for i := 0; i < 50; i++ {
		f := memoFillOf(int64(100 + i))
		f.hash = []byte(fmt.Sprintf("hash %027d", i))
		f.customer = int64(i)
		m.fill(m.begin(), f)
	}
	if len(m.sessions) > 10 || len(m.orders) > 10 || len(m.customers) > 10 {
		t.Fatalf("kept %d sessions, %d orders, %d customers with room for 10", len(m.sessions), len(m.orders), len(m.customers))
	}
	if _, ok := m.lookup([]byte(fmt.Sprintf("hash %027d", 49)), true, 149, memoNow); !ok {
		t.Fatal("the newest read is not kept")
	}
}

func TestMemoTouchAndForget(t *testing.T) {
	m := newMemo(&switchFeed{live: true, ready: true}, 100)
	m.fill(m.begin(), memoFillOf(0))
	later := memoNow.Add(2 * time.Minute)
	m.touched(memoHash, later, memoNow.Add(30*24*time.Hour))
	h, ok := m.lookup(memoHash, false, 0, memoNow.Add(2*time.Hour))
	if !ok || !h.lastSeen.Equal(later) {
		t.Fatalf("after a touch: %+v %v, want last seen %v and the slid expiry", h, ok, later)
	}
	token := m.begin()
	m.forget(memoHash)
	if _, ok := m.lookup(memoHash, false, 0, memoNow); ok {
		t.Fatal("a forgotten session is still served")
	}
	m.fill(token, memoFillOf(0))
	if _, ok := m.lookup(memoHash, false, 0, memoNow); ok {
		t.Fatal("a read begun before the sign-out brought the session back")
	}
}

// TestTheOrderPageFromTheMemo: with a memo the order page is answered
// without reading the session or the versions while the feed allows (a
// change nobody announced is not seen, which shows the database was not
// read), and reads them again for whatever the feed announces.
func TestTheOrderPageFromTheMemo(t *testing.T) {
	f := newFixture(t)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	feed := &switchFeed{live: true, ready: true}
	sessions := NewSessions(f.db, true)
	sessions.Ride(Rider{Match: portal.OrderPageID, Query: portal.VersionQuery, Keep: portal.KeepVersions})
	m := sessions.Remember(feed)
	app := server.New(server.Options{DB: f.db, Logger: quiet, Views: engine, SessionSettings: []string{"/orders"}})
	app.Use(sessions.Load)
	app.Get("/whoami", func(c *fiber.Ctx) error { return c.SendString(fmt.Sprintf("customer %d", CustomerID(c))) })
	app.Use("/orders", RequireCustomer)
	portal.NewHandlers(f.db).Routes(app)

	ann := f.customer(t, "ann@example.com")
	var order int64
	if err := f.db.Get(&order, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor,
		discount_minor, shipping_minor, tax_minor, total_minor, discount_codes, status, content_hash)
		VALUES ('test', '#A1', '#A1', $1, now(), 'USD', 100, 0, 0, 0, 100, '{}', 'open', '\x00') RETURNING id`, ann); err != nil {
		t.Fatal(err)
	}
	raw, err := randomToken(32)
	if err != nil {
		t.Fatal(err)
	}
	f.db.MustExec(`INSERT INTO sessions (id_hash, customer_id, csrf_token, expires_at) VALUES ($1, $2, 'x', now() + interval '1 day')`, hashID(raw), ann)
	b := &browser{t: t, app: app, cookies: map[string]*http.Cookie{SessionCookie: {Name: SessionCookie, Value: raw}}}
	path := fmt.Sprintf("/orders/%d", order)
	wantText(t, b.get(path), "Order #A1")

	// Renumbered behind the feed's back: the memo's versions still name
	// the page kept before.
	f.db.MustExec(`UPDATE orders SET number = '#A2' WHERE id = $1`, order)
	if p := b.get(path); !strings.Contains(p.body, "Order #A1") {
		t.Fatalf("the second view read the database (or the page): %.300s", p.body)
	}
	m.Changed('o', fmt.Sprint(order))
	wantText(t, b.get(path), "Order #A2")

	// A settings change, announced.
	f.db.MustExec(`UPDATE settings SET store_name = 'Teapot Ltd'`)
	m.Changed('e', "")
	wantText(t, b.get(path), "Teapot Ltd")

	// While the feed is not ready (a fence outstanding), every view reads.
	f.db.MustExec(`UPDATE orders SET number = '#A3' WHERE id = $1`, order)
	feed.ready = false
	wantText(t, b.get(path), "Order #A3")
	feed.ready = true

	// A session other pages read (no ride, no epochs) comes from the memo
	// too, and a sign-out elsewhere, once announced, ends it.
	wantText(t, b.get("/whoami"), fmt.Sprintf("customer %d", ann))
	f.db.MustExec(`DELETE FROM sessions WHERE id_hash = $1`, hashID(raw))
	wantText(t, b.get("/whoami"), fmt.Sprintf("customer %d", ann))
	m.Changed('s', hex.EncodeToString(hashID(raw)))
	wantText(t, b.get("/whoami"), "customer 0")
	if p := b.get(path); p.status != http.StatusSeeOther {
		t.Fatalf("signed out, the order page answered %d", p.status)
	}
}
