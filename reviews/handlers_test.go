package reviews_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/reviews"
)

// starLink issues the link a review email carries for item, as the
// composer does, with rating chosen.
func (f *fixture) starLink(customer, item int64, purpose string, rating string) string {
	f.t.Helper()
	l, err := f.links.Issue(context.Background(), f.db, customer, purpose, auth.EmailLinkTTL)
	if err != nil {
		f.t.Fatal(err)
	}
	token := l.URL[strings.LastIndex(l.URL, "/m/")+3:]
	return "/reviews/m/" + token + "?rating=" + rating
}

func TestTheEmailStarOpensTheFormAndOnlyASubmitRecords(t *testing.T) {
	f := newFixture(t)
	link := f.starLink(f.ada, f.kettle, "review:"+itoa(f.kettle), "4")

	scanner := f.browser()
	for i := 0; i < 3; i++ {
		resp, body := scanner.do("GET", link, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="rating-4" name="rating" value="4" checked`) || !strings.Contains(body, "Review Gooseneck kettle") {
			t.Fatalf("GET %s: %d\n%s", link, resp.StatusCode, body)
		}
	}
	if n := f.count(`SELECT count(*) FROM reviews`); n != 0 {
		t.Fatalf("opening the link recorded %d reviews", n)
	}
	if n := f.count(`SELECT count(*) FROM login_tokens WHERE used_at IS NOT NULL`); n != 0 {
		t.Fatal("opening the link spent it")
	}

	shopper := f.browser()
	resp, body := shopper.submit(link, url.Values{"rating": {"9"}, "title": {"Great"}})
	if resp.StatusCode != 422 || !strings.Contains(body, "choose from one to five stars") {
		t.Fatalf("a bad rating: %d\n%s", resp.StatusCode, body)
	}
	if n := f.count(`SELECT count(*) FROM login_tokens WHERE used_at IS NOT NULL`); n != 0 {
		t.Fatal("a refused form spent the link")
	}

	resp, _ = shopper.submit(link, url.Values{"rating": {"4"}, "title": {"Pours well"}, "body": {"Steady hand, <b>hot</b> water."}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/reviews/items/"+itoa(f.kettle)+"/thanks" {
		t.Fatalf("submit: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	r, err := f.svc.Item(context.Background(), f.ada, f.kettle)
	if err != nil || r.Review == nil || r.Review.Rating != 4 || r.Review.Body != "Steady hand, <b>hot</b> water." || r.Review.Status != reviews.StatusPublished {
		t.Fatalf("stored %+v (%v)", r.Review, err)
	}
	if len(f.events.evs) != 1 || f.events.evs[0].Rating != 4 {
		t.Errorf("events %+v", f.events.evs)
	}
	resp, body = shopper.do("GET", resp.Header.Get("Location"), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Your review is published.") || strings.Contains(body, "<b>hot</b>") {
		t.Fatalf("thanks page (the shopper is signed in now): %d\n%s", resp.StatusCode, body)
	}

	t.Run("the spent link sends its signed-in shopper to the form, anyone else to sign in", func(t *testing.T) {
		resp, _ := shopper.do("GET", link, nil, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/reviews/items/"+itoa(f.kettle)+"?rating=4" {
			t.Fatalf("%d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := f.browser().do("GET", link, nil, nil)
		if resp.StatusCode != 410 || !strings.Contains(body, "/signin?next=%2freviews%2fitems%2f"+itoa(f.kettle)) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
	})
}

func TestReviewLinksAreCheckedForWhatTheyOpen(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		link   string
		status int
	}{
		{"a sign-in link is not a review link", f.starLink(f.ada, f.kettle, "login", "5"), 400},
		{"an order link is not a review link", f.starLink(f.ada, f.kettle, "order:"+itoa(f.order), "5"), 400},
		{"a forged token", "/reviews/m/eyJhbGciOiJIUzI1NiJ9.e30.x?rating=5", 400},
		{"a link for an item of someone else", f.starLink(f.bob, f.kettle, "review:"+itoa(f.kettle), "5"), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, _ := f.browser().do("GET", tt.link, nil, nil); resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	t.Run("a posted form with a wrong-purpose token records nothing", func(t *testing.T) {
		link := f.starLink(f.ada, f.kettle, "login", "5")
		b := f.browser()
		b.do("GET", "/reviews/items/"+itoa(f.kettle), nil, nil) // any page sets the CSRF cookie
		resp, _ := b.do("POST", strings.Split(link, "?")[0], url.Values{"rating": {"5"}, "_csrf": {b.cookies["aftercare_csrf"].Value}}, nil)
		if resp.StatusCode != 400 || f.count(`SELECT count(*) FROM reviews`) != 0 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestSignedInShoppersReviewFromTheOrderPage(t *testing.T) {
	f := newFixture(t)
	ada := f.browser().signIn("shopper", f.ada)
	resp, _ := ada.submit("/reviews/items/"+itoa(f.mug), url.Values{"rating": {"2"}, "title": {"Chipped"}})
	if resp.StatusCode != 303 {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	_, body := ada.do("GET", "/reviews/items/"+itoa(f.mug)+"/thanks", nil, nil)
	if !strings.Contains(body, "checked it for spam and personal details") {
		t.Fatalf("a pending review's thanks page:\n%s", body)
	}
	if resp, _ := f.browser().signIn("shopper", f.bob).do("GET", "/reviews/items/"+itoa(f.mug), nil, nil); resp.StatusCode != 404 {
		t.Fatalf("Bob opened Ada's review form: %d", resp.StatusCode)
	}
	if resp, _ := f.browser().do("GET", "/reviews/items/"+itoa(f.mug), nil, nil); resp.StatusCode != 303 {
		t.Fatalf("a stranger opened a review form: %d", resp.StatusCode)
	}
}

func TestStaffModerateInTheAdmin(t *testing.T) {
	f := newFixture(t)
	r, err := f.svc.Submit(context.Background(), f.ada, f.mug, reviews.Input{Rating: 2, Title: "Chipped", Body: "Call me on 555-0100"})
	if err != nil {
		t.Fatal(err)
	}
	sue := f.browser().signIn("staff", f.sue)
	resp, body := sue.do("GET", "/admin/reviews", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Chipped") || !strings.Contains(body, "Never hold a review back for its rating") {
		t.Fatalf("queue: %d\n%s", resp.StatusCode, body)
	}
	page := "/admin/reviews/" + itoa(r.ID)
	_, body = sue.do("GET", page, nil, nil)
	csrf := csrfField.FindStringSubmatch(body)[1]
	post := func(action string, form url.Values) (int, string) {
		form.Set("_csrf", csrf)
		resp, body := sue.do("POST", page+"/"+action, form, nil)
		return resp.StatusCode, body
	}
	if status, body := post("reject", url.Values{"reason": {"negative"}}); status != 422 || !strings.Contains(body, "choose one of the listed reasons") {
		t.Fatalf("reject for sentiment: %d\n%s", status, body)
	}
	if status, _ := post("reject", url.Values{"reason": {"personal_data"}}); status != 303 {
		t.Fatalf("reject: %d", status)
	}
	if status, _ := post("reply", url.Values{"reply": {"We removed your number; a new mug is on its way."}}); status != 303 {
		t.Fatalf("reply: %d", status)
	}
	_, body = sue.do("GET", page, nil, nil)
	if !strings.Contains(body, "Rejected: Contains personal data") || !strings.Contains(body, "a new mug is on its way") {
		t.Fatalf("after moderation:\n%s", body)
	}
	if status, _ := post("publish", url.Values{}); status != 303 {
		t.Fatalf("publish: %d", status)
	}
	if e, _ := f.svc.Entry(context.Background(), r.ID); e.Status != reviews.StatusPublished {
		t.Fatalf("status %s", e.Status)
	}
	if resp, _ := sue.do("GET", "/admin/reviews/settings", nil, nil); resp.StatusCode != 403 {
		t.Errorf("support opened the review settings: %d", resp.StatusCode)
	}
}
