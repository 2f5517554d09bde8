package integrations_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/integrations"
	it "github.com/aftercare/aftercare/internal/integrations/integrationstest"
	"github.com/aftercare/aftercare/internal/integrations/shopify"
)

func TestAnEventNoRetryCanFixFailsAtOnce(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, shopify.Name, "s3cret-value")
	body := []byte(`{"id":5,"email":"a@example.com","created_at":"2024-01-01T00:00:00Z","currency":"USD","total_price":"1.00",
		"line_items":[{"id":1,"sku":"A","title":"A","quantity":1,"price":"one dollar"}]}`)
	ev := deliverShopify(t, env, "orders/create", "w-bad", body)
	if ev.Status() != "failed" || ev.GaveUpAt == nil || ev.Attempts != 1 || !strings.Contains(ev.LastError, `amount "one dollar"`) {
		t.Fatalf("status %s, gave up %v, attempts %d, error %q", ev.Status(), ev.GaveUpAt, ev.Attempts, ev.LastError)
	}
	// Replaying clears the given-up mark until the next attempt decides.
	if err := env.Inbox.Replay(it.Ctx(t), ev.ID, func(*sqlx.Tx, integrations.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := env.Event(t, shopify.Name, "w-bad"); got.Status() != "retrying" {
		t.Errorf("after a replay the event is %s", got.Status())
	}
}

func TestAnUnknownProviderIsNotFound(t *testing.T) {
	env := newEnv(t)
	r := env.Post(t, "magento", []byte(`{}`), nil)
	if r.Status != http.StatusNotFound || !strings.HasPrefix(r.ContentType, "application/problem+json") {
		t.Fatalf("status %d %s", r.Status, r.ContentType)
	}
}

func TestPruneKeepsWhatIsNotProcessed(t *testing.T) {
	env := newEnv(t)
	env.SetSecret(t, shopify.Name, "s3cret-value")
	deliverShopify(t, env, "products/update", "w-old", []byte(`{"id":1}`))
	deliverShopify(t, env, "refunds/create", "w-failing", refundBody)
	deliverShopify(t, env, "products/update", "w-new", []byte(`{"id":2}`))
	env.DB.MustExec(`UPDATE webhook_events SET received_at = now() - interval '100 days' WHERE event_id IN ('w-old', 'w-failing')`)
	n, err := env.Inbox.Prune(it.Ctx(t), integrations.Retention)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want the old processed one", n, err)
	}
	if left := env.Count(t, `SELECT count(*) FROM webhook_events`); left != 2 {
		t.Errorf("%d events left", left)
	}
}
