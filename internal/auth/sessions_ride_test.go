package auth

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/portal"
	"github.com/aftercare/aftercare/web"
)

// TestTheOrderPageReadsSettingsAndVersionsWithTheSession: with the server's
// settings view deferred to the session read (server.Options
// SessionSettings) and the order page's versions riding on it, a signed-in
// order page makes one read before its caches, and still sees a sign-out
// and a settings change made elsewhere on the very next request.
func TestTheOrderPageReadsSettingsAndVersionsWithTheSession(t *testing.T) {
	f := newFixture(t)
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	sessions := NewSessions(f.db, true)
	var rides atomic.Int64
	sessions.Ride(Rider{Match: portal.OrderPageID, Query: portal.VersionQuery,
		Keep: func(c *fiber.Ctx, arg, customer, a, b int64, found bool) {
			rides.Add(1)
			portal.KeepVersions(c, arg, customer, a, b, found)
		}})
	app := server.New(server.Options{DB: f.db, Logger: quiet, Views: engine, SessionSettings: []string{"/orders"}})
	app.Use(sessions.Load)
	// A page of the deferred prefix that needs no customer: it reads the
	// epochs alone (settings.SettleNow).
	app.Get("/orders-help", func(c *fiber.Ctx) error {
		s, _ := c.Locals("store").(settings.Store)
		_, ok := settings.EpochsFrom(c.UserContext())
		return c.SendString(fmt.Sprintf("help from %s, epochs %v", s.StoreName, ok))
	})
	// A page of the deferred prefix read with a session but no ride: its
	// epochs come with the session (lookupEpochs).
	app.Get("/orders-epochs", func(c *fiber.Ctx) error {
		e, ok := settings.EpochsFrom(c.UserContext())
		return c.SendString(fmt.Sprintf("epochs %v %+v", ok, e))
	})
	app.Use("/orders", RequireCustomer)
	portal.NewHandlers(f.db).Routes(app)

	ann, bob := f.customer(t, "ann@example.com"), f.customer(t, "bob@example.com")
	order := func(customer int64, number string) int64 {
		var id int64
		if err := f.db.Get(&id, `INSERT INTO orders (source, external_id, number, customer_id, placed_at, currency, subtotal_minor,
			discount_minor, shipping_minor, tax_minor, total_minor, discount_codes, status, content_hash)
			VALUES ('test', $1, $1, $2, now(), 'USD', 100, 0, 0, 0, 100, '{}', 'open', '\x00') RETURNING id`, number, customer); err != nil {
			t.Fatal(err)
		}
		return id
	}
	annsOrder, bobsOrder := order(ann, "#A1"), order(bob, "#B1")
	f.db.MustExec(`UPDATE settings SET store_name = 'Kettle Co'`)

	b := &browser{t: t, app: app, cookies: map[string]*http.Cookie{}}
	raw, err := randomToken(32)
	if err != nil {
		t.Fatal(err)
	}
	f.db.MustExec(`INSERT INTO sessions (id_hash, customer_id, csrf_token, expires_at) VALUES ($1, $2, 'x', now() + interval '1 day')`, hashID(raw), ann)
	b.cookies[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: raw}

	// Bob has seen his order: it is kept rendered under its key.
	bobRaw, err := randomToken(32)
	if err != nil {
		t.Fatal(err)
	}
	f.db.MustExec(`INSERT INTO sessions (id_hash, customer_id, csrf_token, expires_at) VALUES ($1, $2, 'x', now() + interval '1 day')`, hashID(bobRaw), bob)
	bobs := &browser{t: t, app: app, cookies: map[string]*http.Cookie{SessionCookie: {Name: SessionCookie, Value: bobRaw}}}
	wantText(t, bobs.get(fmt.Sprintf("/orders/%d", bobsOrder)), "Order #B1")

	p := b.get(fmt.Sprintf("/orders/%d", annsOrder))
	wantStatus(t, p, http.StatusOK)
	wantText(t, p, "Order #A1", "Kettle Co")
	if rides.Load() != 2 {
		t.Fatalf("the versions were not read with the session (%d rides)", rides.Load())
	}
	// Another customer's order: the ride is scoped by the session's customer.
	p = b.get(fmt.Sprintf("/orders/%d", bobsOrder))
	wantStatus(t, p, http.StatusNotFound)
	if strings.Contains(p.body, "#B1") {
		t.Fatal("Ann sees Bob's order")
	}
	// Settings saved elsewhere show on the next request.
	f.db.MustExec(`UPDATE settings SET store_name = 'Teapot Ltd'`)
	wantText(t, b.get(fmt.Sprintf("/orders/%d", annsOrder)), "Teapot Ltd")
	// So does the list, whose epochs come with the session without a ride.
	wantText(t, b.get("/orders"), "Teapot Ltd")
	// The epochs read with the session are the database's, each in its
	// place (the catalog's moved apart from the settings' first).
	for _, sku := range []string{"MUG", "TEA", "POT"} {
		f.db.MustExec(`INSERT INTO products (sku, title) VALUES ($1, 'Thing')`, sku)
	}
	var want settings.Epochs
	if err := f.db.Get(&want, `SELECT (SELECT epoch FROM cache_epochs WHERE name = 'settings') AS settings,
		(SELECT epoch FROM cache_epochs WHERE name = 'catalog') AS catalog`); err != nil || want.Settings == want.Catalog {
		t.Fatalf("epochs %+v (%v): the test needs them apart", want, err)
	}
	wantText(t, b.get("/orders-epochs"), fmt.Sprintf("epochs true %+v", want))
	// Without a session cookie the epochs are read alone.
	anon := &browser{t: t, app: app, cookies: map[string]*http.Cookie{}}
	wantText(t, anon.get("/orders-help"), "help from Teapot Ltd, epochs true")
	// A session ended on another instance is refused at once.
	f.db.MustExec(`DELETE FROM sessions WHERE id_hash = $1`, hashID(raw))
	p = b.get(fmt.Sprintf("/orders/%d", annsOrder))
	wantStatus(t, p, http.StatusSeeOther)
	if strings.Contains(p.body, "#A1") {
		t.Fatal("a signed-out session still sees the order")
	}
}
