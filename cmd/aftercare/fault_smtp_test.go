package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/aftercare/aftercare/internal/mail/mailtest"
)

// TestFaultSMTPDownKeepsMailQueued takes the mail server away for about
// 5 s while confirmations are due; the soak variant for a minute.
func TestFaultSMTPDownKeepsMailQueued(t *testing.T) {
	faultSMTPDown(t, 5*time.Second, 50*time.Millisecond)
}

// faultSMTPDown proves that emails due while the mail server is down stay
// queued (neither failed nor dropped) and go out, once each, soon after it
// returns. The first half of the outage the server answers "451 try again
// later" to every message; the second half nothing listens at all (the
// proxy in front of it is stopped, so connections are refused).
func faultSMTPDown(t *testing.T, outage, retryBase time.Duration) {
	const orders = 8
	smtp := mailtest.NewServer(t)
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	u, err := url.Parse(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := toxiproxy.NewProxy(api, "smtp", "127.0.0.1:0", u.Host)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	l := startLiveOpts(t, map[string]string{"AFTERCARE_SMTP_URL": "smtp://" + proxy.Listen},
		appOptions{PollInterval: 20 * time.Millisecond, RetryBase: retryBase})

	smtp.FailNext(1 << 30)
	want := map[string]bool{}
	for i := 0; i < orders; i++ {
		id := fmt.Sprintf("smtp-%d", i)
		l.api(t, "POST", "/api/v1/orders", faultOrder(id, time.Now().Add(-time.Hour)), 201)
		want[id+"@example.com"] = true
	}
	stillQueued := func(phase string) {
		t.Helper()
		var s struct {
			Queued   int `db:"queued"`
			Tried    int `db:"tried"`
			Other    int `db:"other"`
			Attempts int `db:"attempts"`
		}
		if err := l.DB.Get(&s, `SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
			count(*) FILTER (WHERE status = 'queued' AND attempts > 0 AND last_error <> '') AS tried,
			count(*) FILTER (WHERE status <> 'queued') AS other, coalesce(max(attempts), 0) AS attempts
			FROM messages WHERE kind = 'order_confirmation'`); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d queued (%d tried and refused), %d in another state, at most %d attempts each", phase, s.Queued, s.Tried, s.Other, s.Attempts)
		if s.Queued != orders || s.Other != 0 {
			t.Fatalf("%s: %d of %d confirmations queued, %d failed or gone", phase, s.Queued, orders, s.Other)
		}
		if s.Tried != orders {
			t.Fatalf("%s: only %d of %d confirmations were tried: the outage was not exercised", phase, s.Tried, orders)
		}
		if n := len(smtp.Messages()); n != 0 {
			t.Fatalf("%s: %d messages got through a server that was down", phase, n)
		}
	}
	time.Sleep(outage / 2)
	stillQueued("server refusing with 451")
	proxy.Stop()
	time.Sleep(outage / 2)
	stillQueued("server unreachable")

	smtp.FailNext(0)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	smtp.Wait(t, orders, 5*time.Minute)
	t.Logf("all %d confirmations delivered %s after the mail server returned", orders, time.Since(back).Round(time.Millisecond))
	deliveredOnce(t, smtp, want, time.Minute)
	var sent int
	if err := l.DB.Get(&sent, `SELECT count(*) FROM messages WHERE status = 'sent'`); err != nil || sent != orders {
		t.Errorf("%d messages marked sent, want %d (%v)", sent, orders, err)
	}
}
