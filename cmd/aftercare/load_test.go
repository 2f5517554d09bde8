package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/changefeed"
)

// loadStats is what a load run saw.
type loadStats struct {
	Requests  int
	Throttled int // 429s from the sign-in limits: expected, never an error
	Status    map[int]int
	ServerErr []string // "GET /orders/3: 500", one per 5xx
	Latencies []time.Duration
	Elapsed   time.Duration
}

// Quantile returns the q-th latency (0 < q <= 1).
func (s loadStats) Quantile(q float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.Latencies)
	slices.Sort(l)
	return l[min(len(l)-1, int(float64(len(l))*q))]
}

// loadShopper is one seeded customer with an order.
type loadShopper struct {
	ID      int64
	Email   string
	OrderID int64
}

// seedShoppers places one order for each of n customers through the API.
func seedShoppers(t *testing.T, l *liveApp, n int) []loadShopper {
	t.Helper()
	l.api(t, "PUT", "/api/v1/products/KETTLE-1", map[string]any{"title": "Gooseneck kettle", "returnable": true, "guide_md": "# Brewing\nFill to the line."}, 201)
	placed := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	out := make([]loadShopper, n)
	for i := range out {
		email := fmt.Sprintf("shopper%d@example.com", i)
		o := l.api(t, "POST", "/api/v1/orders", map[string]any{
			"external_id": fmt.Sprintf("load-%d", i), "number": fmt.Sprintf("#L%d", i), "placed_at": placed, "currency": "USD",
			"customer": map[string]any{"email": email, "name": "Load Shopper"},
			"items":    []map[string]any{{"sku": "KETTLE-1", "title": "Gooseneck kettle", "quantity": 1, "unit_price": 4900}},
			"subtotal": 4900, "total": 4900,
		}, 201)
		out[i] = loadShopper{Email: email, OrderID: idOf(t, o)}
		if err := l.DB.Get(&out[i].ID, `SELECT customer_id FROM orders WHERE id = $1`, out[i].OrderID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// runLoad has one virtual shopper per seeded customer browse for d, each
// from an address of its own (the app trusts X-Forwarded-For from
// 127.0.0.1): the sign-in page, a sign-in by email (429 once its address
// asked too often), a magic link opened and spent, the orders, one order,
// the Refer page, the product guide and a stylesheet, again and again.
func runLoad(t *testing.T, l *liveApp, shoppers []loadShopper, d time.Duration) loadStats {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: len(shoppers)}
	defer tr.CloseIdleConnections()
	var mu sync.Mutex
	st := loadStats{Status: map[int]int{}}
	note := func(method, path string, status int, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		st.Requests++
		st.Status[status]++
		st.Latencies = append(st.Latencies, took)
		switch {
		case status == http.StatusTooManyRequests:
			st.Throttled++
		case status >= 500 || status == 0:
			st.ServerErr = append(st.ServerErr, fmt.Sprintf("%s %s: %d", method, path, status))
		}
	}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i, s := range shoppers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			v := &visitor{base: l.base, ip: fmt.Sprintf("10.20.%d.%d", i/250, i%250+1), note: note,
				client: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			for time.Now().Before(end) {
				v.get("/signin")
				// Every tenth shopper is impatient and presses Send seven
				// times: past the five links an address may ask for in 15
				// minutes, so the limit must answer 429 under load.
				for range 1 + 6*btoi(i%10 == 0) {
					v.post("/signin", url.Values{"email": {s.Email}})
				}
				link, err := l.Links.Issue(context.Background(), l.DB, s.ID, "login", 15*time.Minute)
				if err != nil {
					note("ISSUE", "link", 0, 0)
					return
				}
				token := link.URL[strings.LastIndex(link.URL, "/")+1:]
				v.get("/m/" + token)
				v.post("/m", url.Values{"token": {token}})
				for _, p := range []string{"/orders", fmt.Sprintf("/orders/%d", s.OrderID), "/refer", "/guides/KETTLE-1", "/static/app.css"} {
					v.get(p)
				}
			}
		}()
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	return st
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// visitor is one virtual shopper's browser: cookies, an address, and a
// note of every answer.
type visitor struct {
	base, ip string
	client   *http.Client
	note     func(method, path string, status int, took time.Duration)
}

func (v *visitor) get(path string) { v.do("GET", path, nil) }

// post sends a form with the CSRF token from the visitor's cookie, as the
// page's hidden field would.
func (v *visitor) post(path string, form url.Values) {
	u, _ := url.Parse(v.base)
	for _, c := range v.client.Jar.Cookies(u) {
		if c.Name == "aftercare_csrf" {
			form.Set("_csrf", c.Value)
		}
	}
	v.do("POST", path, form)
}

func (v *visitor) do(method, path string, form url.Values) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, v.base+path, body)
	req.Header.Set("X-Forwarded-For", v.ip)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	began := time.Now()
	resp, err := v.client.Do(req)
	if err != nil {
		v.note(method, path, 0, time.Since(began))
		return
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status counts
	resp.Body.Close()
	v.note(method, path, resp.StatusCode, time.Since(began))
}

var digits = regexp.MustCompile(`/[0-9]+`)

// checkLoad logs the run's figures and fails on any 5xx or transport
// error, or on an answer a shopper should never get (403, 404: a broken
// CSRF round trip or a route gone).
func checkLoad(t *testing.T, st loadStats) {
	t.Helper()
	t.Logf("%d requests in %s (%.0f/s); p50 %s, p99 %s; statuses %v; %d sign-ins throttled (429)",
		st.Requests, st.Elapsed.Round(time.Millisecond), float64(st.Requests)/st.Elapsed.Seconds(),
		st.Quantile(0.5).Round(time.Microsecond), st.Quantile(0.99).Round(time.Microsecond), st.Status, st.Throttled)
	// One line per kind of answer ("POST /signin: 503"), ids folded.
	kinds := map[string]int{}
	for _, e := range st.ServerErr {
		kinds[digits.ReplaceAllString(e, "/{id}")]++
	}
	for k, n := range kinds {
		t.Errorf("server error %d times: %s", n, k)
	}
	for _, bad := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest} {
		if st.Status[bad] > 0 {
			t.Errorf("%d answers were %d", st.Status[bad], bad)
		}
	}
	if st.Throttled == 0 {
		t.Errorf("no sign-in was throttled, though impatient shoppers asked seven times")
	}
	if st.Status[http.StatusOK] == 0 || st.Status[http.StatusSeeOther] == 0 {
		t.Errorf("no page served or no sign-in completed: %v", st.Status)
	}
}

// checkNoLeaks waits for the app to go idle and fails if goroutines stay
// above baseline (plus slack for the runtime's own) or a database
// connection stays in use, or PostgreSQL sees more connections to the
// database than the pool holds open.
func checkNoLeaks(t *testing.T, l *liveApp, baseline int) {
	t.Helper()
	// Each figure is the best seen while waiting, so a River poll caught in
	// flight by the last sample is not taken for a leak.
	g, inUse, excess := -1, -1, -1
	var open, server, jobs int
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		runtime.GC()
		n := runtime.NumGoroutine()
		s := l.DB.Stats()
		// The change feed's one listening session is not the pool's.
		if err := l.DB.Get(&server, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name IS DISTINCT FROM $1`, changefeed.ApplicationName); err != nil {
			t.Fatal(err)
		}
		// Idle means the sign-in emails the load queued are sent too.
		if err := l.DB.Get(&jobs, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable') AND scheduled_at <= now()`); err != nil {
			t.Fatal(err)
		}
		if jobs == 0 {
			g, inUse, open = minOf(g, n), minOf(inUse, s.InUse), s.OpenConnections
			excess = minOf(excess, server-s.OpenConnections)
		}
		if (g >= 0 && g <= baseline+5 && inUse == 0 && excess <= 0) || time.Now().After(end) {
			break
		}
	}
	t.Logf("goroutines: %d before, %d after; pool: %d in use, %d open (max %d); PostgreSQL sees %d connections; %d jobs due",
		baseline, g, inUse, open, l.Config.DBMaxConns, server, jobs)
	if jobs != 0 || g < 0 {
		t.Fatalf("the app never went idle: %d jobs due", jobs)
	}
	if g > baseline+5 {
		var buf bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&buf, 1) //nolint:errcheck // for the failure message only
		t.Errorf("%d goroutines after the load, %d before: leaked\n%s", g, baseline, buf.String())
	}
	if inUse != 0 {
		var busy []string
		//nolint:errcheck // for the message only
		l.DB.Select(&busy, `SELECT state || ': ' || left(query, 200) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`)
		t.Errorf("%d database connections still in use when idle: %q", inUse, busy)
	}
	if excess > 0 || open > l.Config.DBMaxConns {
		t.Errorf("PostgreSQL sees %d connections more than the pool holds open (%d, max %d)", excess, open, l.Config.DBMaxConns)
	}
}

func minOf(best, v int) int {
	if best < 0 || v < best {
		return v
	}
	return best
}

// TestLoadShoppersBrowseAndSignIn is the short load run of make test: 40
// shoppers for 5 s. It asserts no 5xx and no leaks, and only logs timings.
func TestLoadShoppersBrowseAndSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	l := startLiveWith(t, map[string]string{"AFTERCARE_TRUSTED_PROXIES": "127.0.0.1"})
	shoppers := seedShoppers(t, l, 40)
	baseline := idleGoroutines(l)
	checkLoad(t, runLoad(t, l, shoppers, 5*time.Second))
	checkNoLeaks(t, l, baseline)
}

// idleGoroutines waits for the app's start-up work to settle and returns
// the goroutine count.
func idleGoroutines(l *liveApp) int {
	time.Sleep(time.Second)
	runtime.GC()
	return runtime.NumGoroutine()
}
