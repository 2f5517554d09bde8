package notify_test

import (
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/notify"
)

func TestTheDeliveredEmailCarriesTheGuides(t *testing.T) {
	f := seed(t)
	if _, err := f.db.Exec(`UPDATE products SET guide_md = $1, guide_video_url = 'https://video.example/mug' WHERE sku = 'MUG-1'`,
		"## Caring for your mug\n\nHand wash. <script>alert(1)</script>\n\n[Evil](javascript:alert(2))"); err != nil {
		t.Fatal(err)
	}
	m := mail.Message{ID: 9, Kind: notify.KindShipmentDelivered, DedupeKey: "shipment_delivered:1", To: "ada@example.com",
		CustomerID: f.customer, ShipmentID: f.shipment}
	c := f.compose(t, m)
	mustContain(t, "html", c.HTML, "Getting started", `<h2 id="caring-for-your-mug">Caring for your mug</h2>`, "Hand wash.",
		`href="`+baseURL+`/guides/MUG-1"`, `href="https://video.example/mug"`)
	mustContain(t, "text", c.Text, "GETTING STARTED", "## Caring for your mug", "Read the guide online: "+baseURL+"/guides/MUG-1",
		"Watch the video: https://video.example/mug")
	for _, bad := range []string{"<script", "javascript:"} {
		if strings.Contains(c.HTML, bad) {
			t.Errorf("the email's HTML carries %q", bad)
		}
	}
	t.Run("other shipment emails do not", func(t *testing.T) {
		m.Kind, m.DedupeKey = notify.KindShipmentShipped, "shipment_shipped:1"
		if c := f.compose(t, m); strings.Contains(c.Text, "GETTING STARTED") {
			t.Error("the shipped email carries the guide")
		}
	})
	t.Run("a guide too long for an email goes as a link", func(t *testing.T) {
		if _, err := f.db.Exec(`UPDATE products SET guide_md = repeat('Long guide. ', 1000) WHERE sku = 'MUG-1'`); err != nil {
			t.Fatal(err)
		}
		m.Kind, m.DedupeKey = notify.KindShipmentDelivered, "shipment_delivered:1"
		c := f.compose(t, m)
		mustContain(t, "text", c.Text, "Read the guide: "+baseURL+"/guides/MUG-1")
		if strings.Contains(c.Text, "Long guide.") {
			t.Error("the long guide was copied into the email")
		}
	})
}
