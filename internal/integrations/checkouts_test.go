package integrations_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/integrations/shopify"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newEnv(t *testing.T) *it.Env {
	t.Helper()
	return it.New(t, func(d integrations.Deps) integrations.Provider { return shopify.New(d) })
}

// customer records a customer with or without marketing consent.
func customer(t *testing.T, env *it.Env, email string, consent bool) {
	t.Helper()
	env.DB.MustExec(`INSERT INTO customers (email, name, marketing_consent) VALUES ($1, 'Mia Wong', $2)`, email, consent)
}

// abandon records a checkout the shopper left `ago`.
func abandon(t *testing.T, env *it.Env, id, email string, ago time.Duration) int64 {
	t.Helper()
	at := time.Now().Add(-ago)
	_, err := env.Checkouts.Record(it.Ctx(t), integrations.Checkout{
		Source: "shopify", ExternalID: id, Email: email, Name: "Mia Wong", Currency: "EUR", Total: 4200,
		Items:       []integrations.CheckoutItem{{Title: "Oolong 50 g", SKU: "OOL-50", Quantity: 2, UnitPrice: 2100}},
		RecoveryURL: "https://shop.example/checkouts/" + id + "/recover", StartedAt: at.Add(-10 * time.Minute), AbandonedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	var rowID int64
	env.DB.Get(&rowID, `SELECT id FROM abandoned_checkouts WHERE external_id = $1`, id) //nolint:errcheck
	return rowID
}

type reminderRow struct {
	Reminder string `db:"reminder"`
	Note     string `db:"reminder_note"`
}

func reminder(t *testing.T, env *it.Env, id int64) reminderRow {
	t.Helper()
	var r reminderRow
	if err := env.DB.Get(&r, `SELECT reminder, reminder_note FROM abandoned_checkouts WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return r
}

func remind(t *testing.T, env *it.Env, id int64) time.Duration {
	t.Helper()
	wait, err := env.Checkouts.Remind(it.Ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return wait
}

func TestAnAbandonedCheckoutGetsOneMarketingReminder(t *testing.T) {
	env := newEnv(t)
	customer(t, env, "mia@example.com", true)
	id := abandon(t, env, "tok-1", "Mia@Example.com", 5*time.Hour)
	var due time.Time
	if err := env.DB.Get(&due, `SELECT scheduled_at FROM river_job WHERE kind = 'checkout.remind'`); err != nil {
		t.Fatalf("no reminder job: %v", err)
	}
	if want := time.Now().Add(-time.Hour); due.Sub(want).Abs() > time.Minute {
		t.Errorf("reminder due %s; want four hours (the default delay) after the shopper left, %s", due, want)
	}
	if wait := remind(t, env, id); wait != 0 {
		t.Fatalf("wait %s for a reminder already due", wait)
	}
	var m struct {
		Kind      string `db:"kind"`
		To        string `db:"to_address"`
		Marketing bool   `db:"marketing"`
	}
	if err := env.DB.Get(&m, `SELECT kind, to_address, marketing FROM messages`); err != nil {
		t.Fatal(err)
	}
	if m.Kind != "abandoned_checkout" || m.To != "mia@example.com" || !m.Marketing {
		t.Errorf("message %+v; want a marketing abandoned_checkout to the shopper", m)
	}
	if r := reminder(t, env, id); r.Reminder != "queued" {
		t.Errorf("reminder %+v", r)
	}
	// The job again, and the checkout reported again: still one email, one job.
	remind(t, env, id)
	abandon(t, env, "tok-1", "mia@example.com", 3*time.Hour)
	if n := env.Count(t, `SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("%d messages; want one", n)
	}
	if n := env.Count(t, `SELECT count(*) FROM river_job WHERE kind = 'checkout.remind'`); n != 1 {
		t.Errorf("%d reminder jobs; want one", n)
	}
}

func TestTheReminderWaitsWhileTheShopperIsBack(t *testing.T) {
	env := newEnv(t)
	customer(t, env, "mia@example.com", true)
	id := abandon(t, env, "tok-2", "mia@example.com", 5*time.Hour)
	abandon(t, env, "tok-2", "mia@example.com", time.Hour) // they came back an hour ago
	if wait := remind(t, env, id); wait < 2*time.Hour+50*time.Minute || wait > 3*time.Hour {
		t.Errorf("wait %s; want about three hours more", wait)
	}
	if n := env.Count(t, `SELECT count(*) FROM messages`); n != 0 || reminder(t, env, id).Reminder != "pending" {
		t.Errorf("%d messages; want the reminder still pending", n)
	}
}

func TestAnOrderCancelsTheReminder(t *testing.T) {
	env := newEnv(t)
	customer(t, env, "mia@example.com", true)
	id := abandon(t, env, "tok-3", "mia@example.com", 5*time.Hour)
	_, _, err := env.Commerce.UpsertOrder(it.Ctx(t), commerce.OrderInput{Source: "shopify", ExternalID: "o-3",
		Customer: commerce.CustomerInput{Email: "mia@example.com"}, PlacedAt: time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339),
		Currency: "EUR", Items: []commerce.ItemInput{{SKU: "OOL-50", Title: "Oolong", Quantity: 2, UnitPrice: 2100}}, Subtotal: 4200, Total: 4200})
	if err != nil {
		t.Fatal(err)
	}
	remind(t, env, id)
	if r := reminder(t, env, id); r.Reminder != "cancelled" || r.Note != "the shopper ordered" {
		t.Errorf("reminder %+v", r)
	}
	if n := env.Count(t, `SELECT count(*) FROM messages WHERE kind = 'abandoned_checkout'`); n != 0 {
		t.Errorf("%d reminders sent to a shopper who ordered", n)
	}
}

func TestAShopifyOrderFromTheCheckoutCancelsItsReminder(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, shopify.Name, "s3cret-value")
	customer(t, env, "mia@example.com", true)
	id := abandon(t, env, "tok-4", "mia@example.com", 5*time.Hour)
	body := []byte(`{"id":4,"email":"mia@example.com","checkout_token":"tok-4","created_at":"2024-01-01T00:00:00Z","currency":"EUR",
		"total_price":"42.00","line_items":[{"id":1,"sku":"OOL-50","title":"Oolong","quantity":2,"price":"21.00"}]}`)
	env.Post(t, shopify.Name, body, map[string]string{"X-Shopify-Hmac-Sha256": shopify.Sign(body, "s3cret-value"),
		"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w-4"})
	if _, err := env.Process(t, shopify.Name, "w-4"); err != nil {
		t.Fatal(err)
	}
	if r := reminder(t, env, id); r.Reminder != "cancelled" {
		t.Errorf("reminder %+v after the order of its checkout token", r)
	}
}

func TestNoReminderWithoutConsent(t *testing.T) {
	env := newEnv(t)
	customer(t, env, "no@example.com", false)
	customer(t, env, "gone@example.com", true)
	env.DB.MustExec(`UPDATE customers SET unsubscribed_at = now() WHERE email = 'gone@example.com'`)
	tests := []struct{ email, note string }{
		{"no@example.com", "no marketing consent"},
		{"stranger@example.com", "not a known customer"},
		{"gone@example.com", "unsubscribed"},
	}
	for i, tt := range tests {
		id := abandon(t, env, "tok-c"+string(rune('a'+i)), tt.email, 5*time.Hour)
		remind(t, env, id)
		if r := reminder(t, env, id); r.Reminder != "skipped" || r.Note != tt.note {
			t.Errorf("%s: reminder %+v, want skipped: %s", tt.email, r, tt.note)
		}
	}
	customer(t, env, "yes@example.com", true)
	if err := integrations.SaveCheckoutSettings(it.Ctx(t), env.DB, integrations.CheckoutSettings{Enabled: false, DelayHours: 4}, "system"); err != nil {
		t.Fatal(err)
	}
	id := abandon(t, env, "tok-off", "yes@example.com", 5*time.Hour)
	remind(t, env, id)
	if r := reminder(t, env, id); r.Reminder != "skipped" || r.Note != "reminders are turned off" {
		t.Errorf("reminder %+v with reminders off", r)
	}
	if n := env.Count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages", n)
	}
}

func TestTheReminderEmailShowsTheCartAndTheWayBack(t *testing.T) {
	env := newEnv(t)
	customer(t, env, "mia@example.com", true)
	id := abandon(t, env, "tok-5", "mia@example.com", 5*time.Hour)
	r, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	composer := env.Checkouts.CheckoutComposer(r)
	msg := mail.Message{ID: 1, Kind: integrations.CheckoutMailKind, DedupeKey: integrations.CheckoutMailKind + ":" + strconv.FormatInt(id, 10), To: "mia@example.com"}
	c, err := composer.Compose(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{c.HTML, c.Text} {
		for _, want := range []string{"Hi Mia,", "Oolong 50 g", "https://shop.example/checkouts/tok-5/recover", "42.00"} {
			if !strings.Contains(part, want) {
				t.Errorf("email lacks %q:\n%s", want, part)
			}
		}
	}
	if !strings.Contains(c.Subject, "cart") {
		t.Errorf("subject %q", c.Subject)
	}
	// Had the shopper ordered by the time it is rendered, it is skipped.
	_, err = env.Checkouts.Complete(it.Ctx(t), "shopify", "tok-5", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := composer.Compose(context.Background(), msg); !mail.IsSkip(err) {
		t.Errorf("compose after the order: %v; want a skip", err)
	}
}
