package returns

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/mail"
)

func TestEveryReturnEmailRenders(t *testing.T) {
	f := newFixture(t)
	setPolicy(t, f, func(p *Policy) { p.ReturnAddress = "Returns, 1 Dock Road" })
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := mail.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	links := auth.NewLinks(f.db, []config.SigningKey{{ID: "k1", Secret: bytes.Repeat([]byte("s"), 32)}}, "https://care.example")
	composers := Composers(f.db, links, renderer, "https://care.example/")
	if len(composers) != 9 {
		t.Fatalf("%d composers: %v", len(composers), MailKinds())
	}
	f.exec(`UPDATE return_requests SET reject_reason = 'Worn.', resolved_minor = 1650, resolution_ref = $2 WHERE id = $1`, r.ID, PromoCode(r.RMA))
	special := map[string][]string{
		"return_approved": {"https://care.example/returns/" + r.RMA, "Returns, 1 Dock Road"},
		"return_rejected": {"Worn."},
		"return_refunded": {"$16.50"},
	}
	for kind, c := range composers {
		t.Run(kind, func(t *testing.T) {
			if kind == "return_credited" {
				f.exec(`UPDATE return_requests SET status = 'credited' WHERE id = $1`, r.ID)
				defer f.exec(`UPDATE return_requests SET status = 'approved' WHERE id = $1`, r.ID)
			}
			content, err := c.Compose(ctxT(t), mail.Message{ID: 1, Kind: kind, DedupeKey: kind + ":" + strconv.FormatInt(r.ID, 10), To: "ann@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(content.Subject, r.RMA) || !strings.Contains(content.Text, "https://care.example/m/") || !strings.Contains(content.HTML, r.RMA) {
				t.Fatalf("subject %q\n%s", content.Subject, content.Text)
			}
			for _, want := range special[kind] {
				if !strings.Contains(content.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, content.Text)
				}
			}
			if kind == "return_credited" && !strings.Contains(content.Text, PromoCode(r.RMA)) {
				t.Errorf("the credit email lacks the code:\n%s", content.Text)
			}
		})
	}
	t.Run("a message about a return that is gone is skipped", func(t *testing.T) {
		_, err := composers["return_approved"].Compose(ctxT(t), mail.Message{ID: 2, Kind: "return_approved", DedupeKey: "return_approved:999999"})
		if !mail.IsSkip(err) {
			t.Fatalf("err = %v", err)
		}
		_, err = composers["return_approved"].Compose(ctxT(t), mail.Message{ID: 3, Kind: "return_approved", DedupeKey: "nonsense"})
		if !mail.IsPermanent(err) || mail.IsSkip(err) {
			t.Fatalf("err = %v", err)
		}
	})
}
