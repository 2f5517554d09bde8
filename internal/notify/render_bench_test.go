package notify_test

import (
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/notify"
	"github.com/aftercare/aftercare/internal/settings"
)

// BenchmarkRenderOrderConfirmation renders the email of the journey
// benchmark (two lines, a discount), templates only.
func BenchmarkRenderOrderConfirmation(b *testing.B) {
	r, err := mail.NewRenderer()
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	v := mail.View{
		Store: settings.Store{StoreName: "Acme & Co", StoreURL: "https://shop.test", AccentColor: "#0a7", SupportEmail: "help@shop.test", TimeZone: "Europe/Paris"},
		Data: notify.OrderEmail{FirstName: "Ada", CodeURL: "https://shop.test/signin/code", OrdersURL: "https://shop.test/orders",
			Link: auth.Link{URL: "https://shop.test/m/eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiIxMjM0In0.sig", Code: "123456", ExpiresAt: at.Add(30 * 24 * time.Hour)},
			Order: notify.Order{ID: 1, Number: "1001", CustomerID: 1, PlacedAt: at, Currency: "EUR", Subtotal: 12900, Discount: 1000,
				Shipping: 495, Tax: 2150, Total: 14545, DiscountCodes: []string{"WELCOME10"},
				Items: []notify.Item{{Title: "Kettle", Quantity: 1, UnitPrice: 8900}, {Title: "Mug", Quantity: 2, UnitPrice: 2000}}}},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(notify.KindOrderConfirmation, v); err != nil {
			b.Fatal(err)
		}
	}
}
