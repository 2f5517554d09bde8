package journey_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/journey"
	"github.com/aftercare/aftercare/reviews"
)

// The order confirmation, shipping and delivery emails go at once, in the
// order of what happened.
var orderUpdates = []string{"order_confirmation", "shipment_shipped", "shipment_out_for_delivery", "shipment_delivered"}

func kinds(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.Fields(l)[0])
	}
	return out
}

func TestOneOrderThroughTheWholeJourney(t *testing.T) {
	w := newWorld(t, worldOptions{stripe: stripeClient(t)})
	w.seedStore()
	start := w.clock.Now()
	delivered := lastLocal(start, 10, 0)
	p := w.buy("ada@example.com", true, delivered, "KETTLE-1")

	w.run()
	if got := kinds(w.sentTo(p.CustomerID)); !slices.Equal(got, orderUpdates) {
		t.Fatalf("at delivery the shopper got %v, want %v", got, orderUpdates)
	}

	w.runUntil(delivered.AddDate(0, 0, 120))
	got := w.sentTo(p.CustomerID)[len(orderUpdates):]
	want := []string{
		"recommendations " + local(delivered.AddDate(0, 0, 10)),
		"review_request " + local(delivered.AddDate(0, 0, 14)),
		"review_reminder " + local(delivered.AddDate(0, 0, 19)),
		"replenish_reminder " + local(delivered.AddDate(0, 0, 30)),
		"winback_offer " + local(delivered.Add(-20*time.Hour).AddDate(0, 0, 90)),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after delivery the shopper got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	byKind := map[string]sent{}
	for _, s := range w.mailbox.all() {
		byKind[s.Msg.Kind] = s
	}
	t.Run("the delivered email carries the guide", func(t *testing.T) {
		m := byKind["shipment_delivered"].Msg
		if !strings.Contains(m.HTML, "<h1 id=\"brewing\">Brewing</h1>") || !strings.Contains(m.Text, "Fill to the line.") {
			t.Errorf("no guide in the delivered email:\n%s", m.Text)
		}
		if !strings.Contains(m.Text, base+"/guides/KETTLE-1") {
			t.Errorf("no link to the guide page:\n%s", m.Text)
		}
	})
	t.Run("marketing mail carries one-click unsubscribe, order updates do not", func(t *testing.T) {
		for _, kind := range []string{"recommendations", "review_request", "review_reminder", "replenish_reminder", "winback_offer"} {
			m := byKind[kind].Msg
			lu := m.Headers["List-Unsubscribe"]
			if !strings.HasPrefix(lu, "<"+base+"/api/email/unsubscribe/") || m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
				t.Errorf("%s headers = %v", kind, m.Headers)
			}
			if !strings.Contains(m.Text, "Unsubscribe: "+base+"/email/unsubscribe/") {
				t.Errorf("%s has no unsubscribe link in its text", kind)
			}
		}
		for _, kind := range orderUpdates {
			m := byKind[kind].Msg
			if _, ok := m.Headers["List-Unsubscribe"]; ok {
				t.Errorf("%s is an order update but has List-Unsubscribe", kind)
			}
			if !strings.Contains(m.Text, "Email preferences: "+base+"/email/preferences/") {
				t.Errorf("%s does not lead to the preferences page:\n%s", kind, m.Text)
			}
		}
	})
	t.Run("the review request has one-click stars and tracked links", func(t *testing.T) {
		m := byKind["review_request"].Msg
		stars := regexp.MustCompile(regexp.QuoteMeta(base)+`/reviews/m/[A-Za-z0-9._-]+\?rating=([1-5])`).FindAllStringSubmatch(m.Text, -1)
		if len(stars) != 5 || stars[0][1] != "1" || stars[4][1] != "5" {
			t.Errorf("star links in the text = %v", stars)
		}
		if !strings.Contains(m.HTML, base+"/t/c/") || !strings.Contains(m.HTML, base+"/t/o/") {
			t.Errorf("the HTML links are not tracked")
		}
	})
	t.Run("the win-back code is the customer's own", func(t *testing.T) {
		var stripeID string
		if err := w.db.Get(&stripeID, `SELECT stripe_customer_id FROM customers WHERE id = $1`, p.CustomerID); err != nil || stripeID == "" {
			t.Fatalf("no Stripe customer stored: %q %v", stripeID, err)
		}
		var code string
		if err := w.db.Get(&code, `SELECT code FROM winback_offers WHERE customer_id = $1`, p.CustomerID); err != nil {
			t.Fatal(err)
		}
		if m := byKind["winback_offer"].Msg; code == "" || !strings.Contains(m.Text, code) || !strings.Contains(m.Subject, "15% off") {
			t.Errorf("win-back email %q lacks code %q:\n%s", m.Subject, code, m.Text)
		}
	})
}

func TestMarketingMailIsDeferredByTheCapAndQuietHoursNeverDropped(t *testing.T) {
	t.Run("two emails due together go a cap apart, and the second waits out the night", func(t *testing.T) {
		w := newWorld(t, worldOptions{})
		w.seedStore()
		// Recommendations fall due with the review request.
		w.exec(`INSERT INTO store_settings (section, value) VALUES ('journey', '{"recommend_after_days": 14}')`)
		delivered := lastLocal(w.clock.Now(), 10, 0)
		p := w.buy("ada@example.com", true, delivered, "KETTLE-1")
		w.runUntil(delivered.AddDate(0, 0, 25))
		due := delivered.AddDate(0, 0, 14).In(zone)
		nextMorning := time.Date(due.Year(), due.Month(), due.Day()+1, 8, 0, 0, 0, zone)
		want := []string{
			"recommendations " + local(due),
			"review_request " + local(nextMorning), // 16 hours later is 02:00: quiet until 08:00
			"review_reminder " + local(due.AddDate(0, 0, 5)),
		}
		if got := w.sentTo(p.CustomerID)[len(orderUpdates):]; !slices.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("a delivery late in the evening makes every email wait for the morning", func(t *testing.T) {
		w := newWorld(t, worldOptions{})
		w.seedStore()
		delivered := lastLocal(w.clock.Now(), 22, 30)
		p := w.buy("ada@example.com", true, delivered, "KETTLE-1")
		w.runUntil(delivered.AddDate(0, 0, 40))
		morning := func(days int) string {
			d := delivered.AddDate(0, 0, days).In(zone)
			return local(time.Date(d.Year(), d.Month(), d.Day()+1, 8, 0, 0, 0, zone))
		}
		want := []string{
			"recommendations " + morning(10),
			"review_request " + morning(14),
			"review_reminder " + morning(19), // scheduled at 22:30 on day 14, plus five days
			"replenish_reminder " + morning(30),
		}
		if got := w.sentTo(p.CustomerID)[len(orderUpdates):]; !slices.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestTheJourneySkipsWhatIsNoLongerWanted(t *testing.T) {
	tests := []struct {
		name    string
		consent bool
		// before runs at the delivery, after the order updates went.
		before func(w *world, p purchase)
		want   map[string]string
	}{
		{"a shopper without consent gets order updates only", false, nil, map[string]string{
			"recommendations":    "skipped: the customer has not agreed to marketing email",
			"review_request":     "skipped: the customer has not agreed to marketing email",
			"replenish_reminder": "skipped: the customer has not agreed to marketing email",
			"winback_offer":      "skipped: the customer has not agreed to marketing email",
		}},
		{"an open return holds back the review request", true, func(w *world, p purchase) { w.returns.open[p.OrderID] = true }, map[string]string{
			"recommendations":    "skipped: the order has a return open",
			"review_request":     "skipped: the order has a return open",
			"replenish_reminder": "skipped: the order has a return open",
			"winback_offer":      "skipped: Stripe is not configured, so there is no code to offer",
		}},
		{"a refunded order is not asked about", true, func(w *world, p purchase) {
			w.exec(`UPDATE orders SET status = 'refunded' WHERE id = $1`, p.OrderID)
		}, map[string]string{
			"recommendations":    "skipped: the order was refunded",
			"review_request":     "skipped: the order was refunded",
			"replenish_reminder": "skipped: the order was refunded",
			"winback_offer":      "skipped: Stripe is not configured, so there is no code to offer",
		}},
		{"an unsubscribed shopper hears no more", true, func(w *world, p purchase) {
			if err := w.engine.Unsubscribe(context.Background(), p.CustomerID, 0); err != nil {
				w.t.Fatal(err)
			}
		}, map[string]string{
			"recommendations":    "skipped: the customer unsubscribed from marketing email",
			"review_request":     "skipped: the customer unsubscribed from marketing email",
			"replenish_reminder": "skipped: the customer unsubscribed from marketing email",
			"winback_offer":      "skipped: the customer unsubscribed from marketing email",
		}},
		{"a shopper who bought again gets no reminder to", true, func(w *world, p purchase) {
			w.buy("ada@example.com", true, p.DeliveredAt.Add(5*time.Minute), "KETTLE-1")
		}, map[string]string{
			"recommendations":    "sent",
			"review_request":     "sent",
			"review_reminder":    "sent",
			"replenish_reminder": "skipped: the customer bought it again",
			"winback_offer":      "skipped: the customer ordered again",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			w.seedStore()
			delivered := lastLocal(w.clock.Now(), 10, 0)
			p := w.buy("ada@example.com", tt.consent, delivered, "KETTLE-1")
			w.run()
			if tt.before != nil {
				tt.before(w, p)
			}
			w.runUntil(delivered.AddDate(0, 0, 120))
			got := w.steps(p.OrderID)
			for kind, want := range tt.want {
				if got[kind] != want {
					t.Errorf("%s: %q, want %q", kind, got[kind], want)
				}
			}
			if sent := kinds(w.sentTo(p.CustomerID)); len(sent) < 4 || !slices.Equal(sent[:4], orderUpdates) {
				t.Errorf("order updates = %v, want them all whatever the marketing choices", sent)
			}
		})
	}
}

func TestAClickOnTheRequestBringsTheReminderForward(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.seedStore()
	w.exec(`INSERT INTO store_settings (section, value) VALUES ('journey', '{"recommend_enabled": false, "winback_enabled": false}')`)
	delivered := lastLocal(w.clock.Now(), 10, 0)
	p := w.buy("ada@example.com", true, delivered, "KETTLE-1", "MUG-1")
	requested := delivered.AddDate(0, 0, 14)
	w.runUntil(requested)
	var request int64
	if err := w.db.Get(&request, `SELECT id FROM messages WHERE kind = 'review_request' AND customer_id = $1`, p.CustomerID); err != nil {
		t.Fatal(err)
	}
	// A mail scanner fetches the links as the email arrives: that is no engagement.
	w.runUntil(requested.Add(time.Minute))
	if err := w.engine.RecordClick(context.Background(), request, base+"/reviews/m/x?rating=1"); err != nil {
		t.Fatal(err)
	}
	clicked := requested.Add(time.Hour)
	w.runUntil(clicked)
	if err := w.engine.RecordClick(context.Background(), request, base+"/reviews/m/x?rating=4"); err != nil {
		t.Fatal(err)
	}
	// The mug gets a review; the kettle does not.
	if _, err := w.reviews.Submit(context.Background(), p.CustomerID, p.ItemIDs[1], reviews.Input{Rating: 5, Title: "Lovely"}); err != nil {
		t.Fatal(err)
	}
	w.runUntil(delivered.AddDate(0, 0, 25))
	want := []string{"review_request " + local(requested), "review_reminder " + local(clicked.Add(48*time.Hour))}
	if got := w.sentTo(p.CustomerID)[len(orderUpdates):]; !slices.Equal(got[:2], want) {
		t.Fatalf("got %v, want %v first", got, want)
	}
	var reminder string
	if err := w.db.Get(&reminder, `SELECT text_body FROM messages WHERE kind = 'review_reminder' AND customer_id = $1`, p.CustomerID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reminder, "KETTLE-1") || strings.Contains(reminder, "MUG-1") {
		t.Errorf("the reminder should ask about the kettle only:\n%s", reminder)
	}
	var clicks int
	if err := w.db.Get(&clicks, `SELECT count(*) FROM message_events WHERE message_id = $1 AND kind = 'click'`, request); err != nil || clicks != 2 {
		t.Errorf("%d clicks recorded (%v)", clicks, err)
	}
}

func TestEveryReviewedProductIsAskedAboutOnce(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.seedStore()
	first := lastLocal(w.clock.Now(), 10, 0)
	p1 := w.buy("ada@example.com", true, first, "KETTLE-1")
	p2 := w.buy("ada@example.com", true, first.Add(30*time.Minute), "KETTLE-1", "MUG-1")
	w.runUntil(first.AddDate(0, 0, 20))
	if got := w.steps(p1.OrderID); got["review_request"] != journey.StateSent {
		t.Fatalf("first order's steps = %v", got)
	}
	if got := w.steps(p2.OrderID); got["review_request"] != journey.StateSent {
		t.Fatalf("second order's steps = %v", got)
	}
	var asked []string
	if err := w.db.Select(&asked, `SELECT sku FROM review_asks WHERE customer_id = $1 ORDER BY sku`, p2.CustomerID); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"KETTLE-1", "MUG-1"}) {
		t.Errorf("asked about %v, want each product once", asked)
	}
	var requests []string
	if err := w.db.Select(&requests, `SELECT text_body FROM messages WHERE kind = 'review_request' AND customer_id = $1 ORDER BY id`, p1.CustomerID); err != nil {
		t.Fatal(err)
	}
	if len(requests) != 2 || strings.Contains(requests[1], "KETTLE-1") || !strings.Contains(requests[1], "MUG-1") {
		t.Errorf("second request should ask about the mug only: %q", requests)
	}
}

func TestAReturnOpenedWhileTheRequestWaitsForTheMorningStopsIt(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.seedStore()
	delivered := lastLocal(w.clock.Now(), 22, 30)
	p := w.buy("ada@example.com", true, delivered, "KETTLE-1")
	w.runUntil(delivered.AddDate(0, 0, 14).Add(time.Hour)) // the request is queued, and held for the night
	if got := w.steps(p.OrderID)["review_request"]; got != journey.StateSent {
		t.Fatalf("request step: %q", got)
	}
	w.returns.open[p.OrderID] = true
	w.runUntil(delivered.AddDate(0, 0, 16))
	var status, why string
	if err := w.db.QueryRow(`SELECT status, last_error FROM messages WHERE kind = 'review_request' AND customer_id = $1`, p.CustomerID).Scan(&status, &why); err != nil {
		t.Fatal(err)
	}
	if status != "skipped" || !strings.Contains(why, "return open") {
		t.Fatalf("the held request is %s (%s)", status, why)
	}
	for _, s := range w.mailbox.all() {
		if s.Msg.Kind == "review_request" {
			t.Fatal("the review request went out")
		}
	}
}
