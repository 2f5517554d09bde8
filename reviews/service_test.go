package reviews_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/reviews"
)

func TestSubmittingAReview(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		settings   string
		rating     int
		wantStatus string
	}{
		{"five stars publish at once", ``, 5, reviews.StatusPublished},
		{"four stars publish at once", ``, 4, reviews.StatusPublished},
		{"three stars wait for a check", ``, 3, reviews.StatusPending},
		{"one star waits for a check", ``, 1, reviews.StatusPending},
		{"with auto-publish off every review waits", `{"auto_publish_min_rating": 0}`, 5, reviews.StatusPending},
		{"a threshold of one publishes everything", `{"auto_publish_min_rating": 1}`, 1, reviews.StatusPublished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.settings != "" {
				f.settings(tt.settings)
			}
			r, err := f.svc.Submit(ctx, f.ada, f.kettle, reviews.Input{Rating: tt.rating, Title: "  Pours  well ", Body: "Nice\r\nkettle\x00"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.wantStatus || r.Title != "Pours  well" || r.Body != "Nice\nkettle" || r.SKU != "KETTLE-1" || r.AuthorName != "Ada L." {
				t.Fatalf("review = %+v", r)
			}
			if (r.PublishedAt != nil) != (tt.wantStatus == reviews.StatusPublished) {
				t.Errorf("published_at = %v", r.PublishedAt)
			}
			want := events.Event{Kind: events.ReviewSubmitted, At: f.now, CustomerID: f.ada, OrderID: f.order, ReviewID: r.ID, Rating: tt.rating}
			if len(f.events.evs) != 1 || f.events.evs[0] != want {
				t.Errorf("events = %+v, want %+v", f.events.evs, want)
			}
		})
	}
}

func TestWhoMayReviewAndWhen(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tests := []struct {
		name     string
		customer int64
		item     int64
		in       reviews.Input
		kind     fault.Kind
		field    string
	}{
		{"another customer cannot review Ada's item", f.bob, f.kettle, reviews.Input{Rating: 5}, fault.NotFound, ""},
		{"no rating is no review", f.ada, f.kettle, reviews.Input{Title: "Hm"}, fault.Invalid, "rating"},
		{"six stars do not exist", f.ada, f.kettle, reviews.Input{Rating: 6}, fault.Invalid, "rating"},
		{"a title has a limit", f.ada, f.kettle, reviews.Input{Rating: 3, Title: strings.Repeat("t", 151)}, fault.Invalid, "title"},
		{"a review has a limit", f.ada, f.kettle, reviews.Input{Rating: 3, Body: strings.Repeat("b", 5001)}, fault.Invalid, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Submit(ctx, tt.customer, tt.item, tt.in)
			fe, ok := fault.As(err)
			if !ok || fe.Kind != tt.kind || (tt.field != "" && (len(fe.Fields) == 0 || fe.Fields[0].Field != tt.field)) {
				t.Fatalf("err = %v, want %s on %q", err, tt.kind, tt.field)
			}
		})
	}

	t.Run("a pending review can be changed by its author", func(t *testing.T) {
		r, err := f.svc.Submit(ctx, f.ada, f.mug, reviews.Input{Rating: 2, Title: "Chipped"})
		if err != nil || r.Status != reviews.StatusPending {
			t.Fatalf("%+v %v", r, err)
		}
		r2, err := f.svc.Submit(ctx, f.ada, f.mug, reviews.Input{Rating: 3, Title: "Chipped, but the shop replaced it"})
		if err != nil || r2.ID != r.ID || r2.Rating != 3 || r2.Status != reviews.StatusPending {
			t.Fatalf("%+v %v", r2, err)
		}
		if n := f.count(`SELECT count(*) FROM reviews WHERE order_item_id = $1`, f.mug); n != 1 {
			t.Errorf("%d reviews of one line", n)
		}
		if len(f.events.evs) != 1 {
			t.Errorf("an edit emitted again: %d events", len(f.events.evs))
		}
	})
	t.Run("a changed rejected review waits for a check again, whatever its stars", func(t *testing.T) {
		var id int64
		f.db.Get(&id, `SELECT id FROM reviews WHERE order_item_id = $1`, f.mug) //nolint:errcheck // next call fails without it
		if err := f.svc.Reject(ctx, id, f.sue, "personal_data"); err != nil {
			t.Fatal(err)
		}
		r, err := f.svc.Submit(ctx, f.ada, f.mug, reviews.Input{Rating: 5, Title: "Great mug"})
		if err != nil || r.Status != reviews.StatusPending || r.RejectReason != nil {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("a published review can no longer be changed", func(t *testing.T) {
		if _, err := f.svc.Submit(ctx, f.ada, f.kettle, reviews.Input{Rating: 5, Title: "Love it"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Submit(ctx, f.ada, f.kettle, reviews.Input{Rating: 1, Title: "Changed my mind"})
		if fault.KindOf(err) != fault.Conflict {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a refunded order cannot be reviewed", func(t *testing.T) {
		f.exec(`UPDATE orders SET status = 'refunded' WHERE id = $1`, f.order)
		defer f.exec(`UPDATE orders SET status = 'open' WHERE id = $1`, f.order)
		f.exec(`DELETE FROM reviews WHERE order_item_id = $1`, f.mug)
		if _, err := f.svc.Submit(ctx, f.ada, f.mug, reviews.Input{Rating: 4}); fault.KindOf(err) != fault.Conflict {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestModerationRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r, err := f.svc.Submit(ctx, f.ada, f.kettle, reviews.Input{Rating: 1, Title: "Leaks", Body: "The lid leaks and support was slow."})
	if err != nil || r.Status != reviews.StatusPending {
		t.Fatalf("%+v %v", r, err)
	}
	t.Run("a review is never rejected for its rating or tone", func(t *testing.T) {
		for _, reason := range []string{"negative", "low_rating", "", "SPAM"} {
			if err := f.svc.Reject(ctx, r.ID, f.sue, reason); fault.KindOf(err) != fault.Invalid {
				t.Errorf("Reject(%q) = %v", reason, err)
			}
		}
		if e, _ := f.svc.Entry(ctx, r.ID); e.Status != reviews.StatusPending {
			t.Fatalf("status %s", e.Status)
		}
	})
	t.Run("each listed reason rejects, and says why", func(t *testing.T) {
		for _, reason := range reviews.RejectReasons {
			if err := f.svc.Reject(ctx, r.ID, f.sue, reason.Code); err != nil {
				t.Fatal(err)
			}
			e, _ := f.svc.Entry(ctx, r.ID)
			if e.Status != reviews.StatusRejected || e.RejectLabel() != reason.Label {
				t.Errorf("%s: %+v", reason.Code, e.Review)
			}
		}
	})
	t.Run("publishing a low rating is just publishing", func(t *testing.T) {
		if err := f.svc.Publish(ctx, r.ID, f.sue); err != nil {
			t.Fatal(err)
		}
		p, err := f.svc.Published(ctx, "KETTLE-1", 1, 10)
		if err != nil || p.Summary.Count != 1 || p.Summary.Average != 1 || p.Reviews[0].Title != "Leaks" {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("the store's reply shows under the review", func(t *testing.T) {
		if err := f.svc.Reply(ctx, r.ID, f.sue, "Sorry! A new lid is on its way."); err != nil {
			t.Fatal(err)
		}
		p, _ := f.svc.Published(ctx, "KETTLE-1", 1, 10)
		if pr := p.Reviews[0].Public(); pr.Reply == nil || pr.Reply.Body != "Sorry! A new lid is on its way." || !pr.VerifiedBuyer {
			t.Fatalf("%+v", pr)
		}
	})
	t.Run("every step is in the audit log", func(t *testing.T) {
		if n := f.count(`SELECT count(*) FROM audit_log WHERE subject = $1`, "review:"+itoa(r.ID)); n != len(reviews.RejectReasons)+2 {
			t.Errorf("%d audit entries", n)
		}
	})
}

func TestUncheckedReviewsArePublishedInTheEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	old, _ := f.svc.Submit(ctx, f.ada, f.kettle, reviews.Input{Rating: 2})
	f.now = f.now.Add(6 * 24 * time.Hour)
	fresh, _ := f.svc.Submit(ctx, f.ada, f.mug, reviews.Input{Rating: 2})
	f.now = f.now.Add(25 * time.Hour) // the first has waited 7 days and an hour
	n, err := f.svc.PublishOverdue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("published %d (%v), want 1", n, err)
	}
	if e, _ := f.svc.Entry(ctx, old.ID); e.Status != reviews.StatusPublished {
		t.Errorf("the overdue review is %s", e.Status)
	}
	if e, _ := f.svc.Entry(ctx, fresh.ID); e.Status != reviews.StatusPending {
		t.Errorf("the fresh review is %s", e.Status)
	}
	f.settings(`{"publish_unmoderated_after_days": 0}`)
	f.now = f.now.Add(30 * 24 * time.Hour)
	if n, _ := f.svc.PublishOverdue(ctx); n != 0 {
		t.Errorf("with the limit off %d were published", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
