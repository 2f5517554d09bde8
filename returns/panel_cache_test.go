package returns

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/pagecache"
	"github.com/aftercare/aftercare/web"
)

// TestTheOrderPanelSaysUntilWhenItHolds holds the returns section to what
// the order page's cache of rendered pages relies on: it declares itself
// keepable and reports the instant its window closes, after which it
// renders differently.
func TestTheOrderPanelSaysUntilWhenItHolds(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandlers(f.svc, engine)
	render := func() (string, *pagecache.Span) {
		ctx, span := pagecache.Track(ctxT(t))
		s, err := h.OrderPanel(ctx, o.CustomerID, o.ID, "tok", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return string(s), span
	}
	// Nothing delivered: nothing on the clock changes the section.
	if _, span := render(); !span.Stable() || !span.Until().IsZero() {
		t.Fatalf("undelivered: stable %v until %v, want stable and no limit", span.Stable(), span.Until())
	}
	delivered := f.now.Add(-time.Hour)
	f.deliver(o, delivered)
	before, span := render()
	end := WindowEnd(delivered, 30, time.UTC)
	if !span.Stable() || !span.Until().Equal(end) {
		t.Fatalf("delivered: stable %v until %v, want until the window closes at %v", span.Stable(), span.Until(), end)
	}
	if !strings.Contains(before, fmt.Sprintf(`href="/orders/%d/return"`, o.ID)) {
		t.Fatalf("open window, no return link:\n%s", before)
	}
	// Just before that instant the section is the same; at it, it is not.
	f.now = end.Add(-time.Nanosecond)
	if s, _ := render(); s != before {
		t.Fatalf("the section changed before the instant it reported:\n%s", s)
	}
	f.now = end
	after, span := render()
	if after == before || !strings.Contains(after, "The return window closed on") {
		t.Fatalf("at the reported instant the section is unchanged:\n%s", after)
	}
	if !span.Until().IsZero() {
		t.Fatalf("closed window: until %v, want no limit", span.Until())
	}
}
