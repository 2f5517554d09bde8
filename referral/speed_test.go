package referral

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/web"
)

// fastClock is the clock of the landing's cache in these tests, moved by
// hand (set); the cache's background refresh reads it too.
type fastClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fastClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fastClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fast swaps the world's service for one as the server runs it: codes and
// the program cached for DefaultCacheTTL by a clock of the test's own, and
// visits buffered. The buffer's own flush interval is an hour, so nothing
// is written behind the test's back: it flushes (or closes) when it means to.
func (w *world) fast() *fastClock {
	w.t.Helper()
	clock := &fastClock{t: time.Now()}
	svc := NewService(Options{DB: w.db, Orders: w.commerce, Rewards: w.rewards, Limiter: auth.NewRateLimiter(w.db),
		BaseURL: "https://care.example.test", Now: func() time.Time { return w.now },
		CacheTTL: DefaultCacheTTL, VisitFlushEvery: time.Hour})
	svc.cache.setClock(clock.now)
	w.t.Cleanup(func() { svc.Close(context.Background()) }) //nolint:errcheck // the test checks what it needs
	w.svc = svc
	return clock
}

func TestBufferedVisitsAreAllWrittenAndTheLastOnesAtClose(t *testing.T) {
	w := newWorld(t, false)
	w.fast()
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	kim := w.referrer("kim@example.com", "Kim Lee", order{})
	ctx := context.Background()
	visit := func(c Code, device string) {
		t.Helper()
		if _, err := w.svc.Visit(ctx, c.Code, device); err != nil {
			t.Fatal(err)
		}
	}
	visits := func() int { return w.count(`SELECT count(*) FROM referral_visits`) }

	for _, d := range []string{"device-aaaa-0001", "device-aaaa-0002", "device-aaaa-0003"} {
		visit(jane, d)
		visit(kim, d)
	}
	visit(jane, "device-aaaa-0001") // a reload within the hour is the same visit
	if n := visits(); n != 0 {
		t.Fatalf("%d visits written before the flush: not buffered", n)
	}
	if err := w.svc.visits.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := visits(); n != 6 {
		t.Fatalf("%d visits after the flush, want 6", n)
	}

	// A flush that fails keeps its visits for the next one.
	visit(jane, "device-bbbb-0001")
	failed, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.svc.visits.flush(failed); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if err := w.svc.visits.flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Already written: the same device again within the hour adds nothing;
	// an hour later it is a new visit.
	visit(jane, "device-aaaa-0002")
	w.now = w.now.Add(61 * time.Minute)
	visit(jane, "device-aaaa-0003")

	// What is still buffered when the server stops is written by Close;
	// a visit after Close is written at once.
	visit(kim, "device-cccc-0001")
	if n := visits(); n != 7 {
		t.Fatalf("%d visits before Close, want 7", n)
	}
	if err := w.svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := visits(); n != 9 {
		t.Fatalf("%d visits after Close, want 9", n)
	}
	visit(kim, "device-dddd-0001")
	if n := visits(); n != 10 {
		t.Fatalf("%d visits after a visit past Close, want 10", n)
	}
	if n := w.count(`SELECT count(*) FROM referral_visits WHERE code_id = $1 AND device_id = 'device-aaaa-0003'`, jane.ID); n != 2 {
		t.Fatalf("%d visits of jane's link by device 3, want 2 (an hour apart)", n)
	}
}

func TestTheCachedLandingFollowsASwitchedOffCodeAndProgram(t *testing.T) {
	w := newWorld(t, false)
	clock := w.fast()
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	ctx := context.Background()
	available := func() bool { t.Helper(); return w.available(jane.Code) }
	panel := func() bool {
		t.Helper()
		html, err := w.svc.Panel(ctx, func(string, any) (template.HTML, error) { return "panel", nil })
		if err != nil {
			t.Fatal(err)
		}
		return html != ""
	}
	if !available() || !panel() {
		t.Fatal("not available at first")
	}

	// Staff switching the code off here takes effect at once.
	if err := w.svc.SetCodeDisabled(ctx, jane.CustomerID, true, "staff:1"); err != nil {
		t.Fatal(err)
	}
	if available() {
		t.Fatal("the code is still available after staff switched it off on this instance")
	}
	if err := w.svc.SetCodeDisabled(ctx, jane.CustomerID, false, "staff:1"); err != nil {
		t.Fatal(err)
	}
	if !available() {
		t.Fatal("the code is not available after staff switched it on again")
	}

	// Switched off by another instance: this one serves what it read until
	// the TTL is over, and then follows.
	w.exec(`UPDATE referral_codes SET disabled_at = now() WHERE id = $1`, jane.ID)
	clock.set(clock.now().Add(DefaultCacheTTL - time.Millisecond))
	if !available() {
		t.Fatal("the cache was not used: the code was read again within the TTL")
	}
	clock.set(clock.now().Add(time.Millisecond))
	if available() {
		t.Fatalf("the code is still available %v after another instance switched it off", DefaultCacheTTL)
	}
	w.exec(`UPDATE referral_codes SET disabled_at = NULL WHERE id = $1`, jane.ID)
	clock.set(clock.now().Add(DefaultCacheTTL))

	// The program paused elsewhere: the landing and the order page's panel
	// follow within the TTL, reading nothing before it is over.
	if !available() || !panel() {
		t.Fatal("not available again")
	}
	w.program(func(p *program.Settings) { p.Enabled = false })
	if !available() || !panel() {
		t.Fatal("the program was read again within the TTL")
	}
	clock.set(clock.now().Add(DefaultCacheTTL))
	if available() || panel() {
		t.Fatal("the paused program still shows after the TTL")
	}
	// Saved here: at once.
	if err := w.svc.SaveProgram(ctx, program.Defaults(), "staff:1"); err != nil {
		t.Fatal(err)
	}
	if !available() || !panel() {
		t.Fatal("the program saved on this instance did not take effect at once")
	}

	// Unknown codes answer ErrUnknownCode, cached or not.
	for _, code := range []string{"NOBODY-2222", "NOBODY-2222", "<script>"} {
		if _, err := w.svc.Visit(ctx, code, "device-aaaa-0001"); !errors.Is(err, ErrUnknownCode) {
			t.Fatalf("visit of %q: %v", code, err)
		}
	}
}

func TestAnOrderRightAfterABufferedVisitIsAttributed(t *testing.T) {
	w := newWorld(t, false)
	w.fast()
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	visitedAt := w.now.Add(-2 * time.Hour)
	w.now = visitedAt
	if _, err := w.svc.Visit(context.Background(), jane.Code, "device-of-sam-0001"); err != nil {
		t.Fatal(err)
	}
	w.now = visitedAt.Add(2 * time.Hour)
	if n := w.count(`SELECT count(*) FROM referral_visits`); n != 0 {
		t.Fatalf("%d visits written: the visit was not buffered", n)
	}
	o := w.place(order{email: "sam@example.net", referral: jane.Code, device: "device-of-sam-0001"})
	var ref Referral
	if err := w.db.Get(&ref, `SELECT `+referralColumns+` FROM referrals WHERE order_id = $1`, o.ID); err != nil {
		t.Fatalf("no referral for the order that followed a buffered visit: %v", err)
	}
	if ref.Source != "attribution" || ref.ReferrerID != jane.CustomerID || ref.Status != Converted || !ref.CreatedAt.Equal(visitedAt) {
		t.Fatalf("referral %+v (visit at %v)", ref, visitedAt)
	}
	// Another device's order finds no visit, buffered or written.
	w.place(order{email: "kim@example.net", referral: jane.Code, device: "another-device-0002"})
	if n := w.count(`SELECT count(*) FROM referrals`); n != 1 {
		t.Fatalf("%d referrals", n)
	}
	if err := w.svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w.count(`SELECT count(*) FROM referral_visits WHERE device_id = 'device-of-sam-0001' AND created_at = $1`, visitedAt); n != 1 {
		t.Fatalf("%d visits written at Close", n)
	}
}

func TestTheFastLandingOverHTTP(t *testing.T) {
	w := newWorld(t, false)
	w.exec(`UPDATE settings SET store_name = 'Kettle Co'`)
	w.fast()
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	app := testApp(t, w)
	var device string
	for i := 0; i < 3; i++ {
		resp, body := get(t, app, "/r/"+strings.ToLower(jane.Code), nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "A gift from Jane") || !strings.Contains(string(body), "at Kettle Co") {
			t.Fatalf("landing: %d\n%s", resp.StatusCode, body)
		}
		if device = cookie(resp, deviceCookie); device == "" {
			t.Fatal("no device cookie")
		}
	}
	// A device that comes back within the hour, in this flush and the next,
	// is the visit it made.
	back := map[string]string{"Cookie": deviceCookie + "=" + device}
	get(t, app, "/r/"+jane.Code, back)
	if err := w.svc.visits.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	get(t, app, "/r/"+jane.Code, back)
	resp, _ := get(t, app, "/r/NOBODY-2222", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("unknown code: %d", resp.StatusCode)
	}
	if err := w.svc.visits.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w.count(`SELECT count(*) FROM referral_visits WHERE code_id = $1`, jane.ID); n != 3 {
		t.Fatalf("%d visits of three new devices", n)
	}
}

func TestAKeptLandingIsTheRenderedOne(t *testing.T) {
	w := newWorld(t, true)
	w.exec(`UPDATE settings SET store_name = 'Kettle & "Co"', store_url = 'https://shop.example/?a=1&b=2'`)
	jane := w.referrer("jane@example.com", "Jane <Doe>", order{})
	direct := testApp(t, w)
	w.fast()
	views, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	kept := server.New(server.Options{DB: w.db, Logger: slog.New(slog.DiscardHandler), Views: views})
	h := NewHandlers(w.svc, false)
	h.PublicRoutes(kept)

	// Each page has a nonce of its own (in the CSP header); the token is
	// the cookie's. Pages are compared with the nonce, as html/template
	// writes it in an attribute, taken out.
	attr := template.Must(template.New("").Parse(`<i n="{{.}}">`))
	page := func(app *fiber.App) (string, bool) {
		t.Helper()
		resp, body := get(t, app, "/r/"+jane.Code, map[string]string{"Cookie": "aftercare_csrf=" + csrfToken})
		_, nonce, _ := strings.Cut(resp.Header.Get("Content-Security-Policy"), "'nonce-")
		nonce, _, _ = strings.Cut(nonce, "'")
		var b strings.Builder
		if err := attr.Execute(&b, nonce); err != nil || resp.StatusCode != 200 || nonce == "" {
			t.Fatalf("%d, nonce %q: %v", resp.StatusCode, nonce, err)
		}
		escaped := strings.TrimSuffix(strings.TrimPrefix(b.String(), `<i n="`), `">`)
		return strings.ReplaceAll(string(body), escaped, "NONCE"), escaped != nonce
	}
	want, _ := page(direct)
	if !strings.Contains(want, `value="`+csrfToken+`"`) || !strings.Contains(want, `nonce="NONCE"`) {
		t.Fatalf("the rendered landing has no token or nonce:\n%s", want)
	}
	// Until a nonce that html/template escapes (a + in it) has been filled
	// in: about one page in three.
	escapedOne := false
	for i := 0; i < 100 && !(i > 2 && escapedOne); i++ {
		got, escaped := page(kept)
		if got != want {
			t.Fatalf("page %d kept differs from the rendered one:\n%s\n---- rendered:\n%s", i, got, want)
		}
		escapedOne = escapedOne || escaped
	}
	if !escapedOne {
		t.Fatal("no nonce with a character to escape in 100 pages")
	}
	if _, ok := h.pages.peek(pageKey{store: settingsOf(t, w), hasStore: true, codeID: jane.ID, code: jane.Code, name: "Jane",
		program: program.Defaults(), stripe: true}); !ok {
		t.Fatal("the landing was not kept")
	}
}

func settingsOf(t *testing.T, w *world) settings.Store {
	t.Helper()
	s, err := settings.Load(context.Background(), w.db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitRefreshed waits for the background refresh of c, if one runs, to end.
func waitRefreshed[K comparable, V any](t *testing.T, c *ttlCache[K, V]) {
	t.Helper()
	for i := 0; ; i++ {
		c.mu.Lock()
		busy := c.refreshing
		c.mu.Unlock()
		if !busy {
			return
		}
		if i == 3000 {
			t.Fatal("the background refresh did not end in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestACodeInUseIsReadAgainBeforeItExpires(t *testing.T) {
	w := newWorld(t, false)
	clock := w.fast()
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	available := func() bool { t.Helper(); return w.available(jane.Code) }
	start := clock.now()
	if !available() {
		t.Fatal("not available at first")
	}
	// Another instance switches the code off. Asked for in the second half
	// of its life, the kept code is still served (read within the TTL), and
	// read again in the background.
	w.exec(`UPDATE referral_codes SET disabled_at = now() WHERE id = $1`, jane.ID)
	clock.set(start.Add(DefaultCacheTTL - DefaultCacheTTL/10))
	if !available() {
		t.Fatal("the code was read again in the request, within the TTL")
	}
	waitRefreshed(t, w.svc.cache.codes)
	if available() {
		t.Fatal("the code asked for near its expiry was not read again")
	}

	// Switched on again elsewhere: the refreshed entry counts its age from
	// its own read, served until then and read again after.
	refreshed := clock.now()
	w.exec(`UPDATE referral_codes SET disabled_at = NULL WHERE id = $1`, jane.ID)
	clock.set(start.Add(DefaultCacheTTL + time.Millisecond))
	if available() {
		t.Fatal("the refreshed entry was not used past the first read's expiry")
	}
	clock.set(refreshed.Add(DefaultCacheTTL))
	if !available() {
		t.Fatalf("the code still shows switched off %v after it was read", DefaultCacheTTL)
	}
}

func TestAKeptLandingFollowsTheStore(t *testing.T) {
	w := newWorld(t, true)
	w.exec(`UPDATE settings SET store_name = 'Kettle Co'`)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	w.fast()
	app := testApp(t, w)
	for _, name := range []string{"Kettle Co", "Kettle Co", "Teapot Co"} {
		w.exec(`UPDATE settings SET store_name = $1`, name)
		resp, body := get(t, app, "/r/"+jane.Code, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "your first order at "+name) {
			t.Fatalf("landing for %q: %d\n%s", name, resp.StatusCode, body)
		}
	}
}

// available says whether code's landing offers a code now.
func (w *world) available(code string) bool {
	w.t.Helper()
	l, err := w.svc.Visit(context.Background(), code, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return l.Available
}
