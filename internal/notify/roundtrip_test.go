package notify_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/aftercare/aftercare/internal/notify"
)

// An order confirmation travels the whole way: outbox, delivery job,
// composer, SMTP, and its link still opens the order.
func TestOrderConfirmationOverSMTP(t *testing.T) {
	f := seed(t)
	srv := mailtest.NewServer(t)
	sender, err := mail.NewSMTPSender(srv.URL(), "Fern & Field <orders@fernfield.example>")
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(f.db.DB, jobs.Options{PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mail.NewDelivery(f.db, sender, f.composers, mail.DeliveryOptions{}).Register(q)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		q.Stop(sctx) //nolint:errcheck // test teardown
	})

	outbox := mail.NewOutbox(q)
	err = db.InTx(ctx, f.db, func(tx *sqlx.Tx) error {
		return outbox.Queue(ctx, tx, mail.Queued{Kind: notify.KindOrderConfirmation, DedupeKey: "order_confirmation:" + itoa(f.order),
			To: "ada@example.com", CustomerID: f.customer, OrderID: f.order})
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Wait(t, 1, 15*time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("server got %d messages, want exactly 1", n)
	}
	hdr, err := msgs[0].Header()
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := msgs[0].Subject()
	if subject != "Thank you for your order #1042 at Fern & Field" || hdr.Get("Reply-To") != "<help@fernfield.example>" {
		t.Errorf("Subject %q, Reply-To %q", subject, hdr.Get("Reply-To"))
	}
	parts, err := msgs[0].Parts()
	if err != nil {
		t.Fatal(err)
	}
	if parts["text/plain"] == "" || !strings.Contains(parts["text/html"], "Hi Ada,") {
		t.Fatalf("parts = %v", parts)
	}
	f.linkIn(t, mail.Content{Text: parts["text/plain"], HTML: parts["text/html"]}, "order:"+itoa(f.order))
}
