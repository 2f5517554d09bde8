package returns

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/web"
)

func TestPhotosAreJudgedByContentAndShownOnlyToTheOwnerAndStaff(t *testing.T) {
	f := newFixture(t)
	f.product("VASE", "Vase", true, "")
	o := f.order("ann@example.com", line{"VASE", 1, 3000})
	other := f.order("bob@example.com", line{"VASE", 1, 3000})
	f.deliver(o, f.now.Add(-time.Hour))
	app := testApp(t, f)
	ann := who{customer: o.CustomerID}
	path := fmt.Sprintf("/orders/%d/return", o.ID)
	item := o.Items[0].ID
	field := fmt.Sprintf("photos_%d", item)
	form := func(key string) url.Values {
		return returnForm(key, map[int64][2]string{item: {"1", ReasonDamaged}}, "refund")
	}

	p := postMultipart(t, app, path, form("p1"), []upload{{field, "notes.png", "image/png", []byte("these are my notes, not a photo")}}, ann)
	wantStatus(t, p, 422)
	wantText(t, p, "must be a JPEG or PNG photo")
	big := append(pngBytes(t, 2, 2), make([]byte, MaxPhotoBytes)...)
	p = postMultipart(t, app, path, form("p2"), []upload{{field, "big.png", "image/png", big}}, ann)
	wantStatus(t, p, 422)
	wantText(t, p, "must be at most 5 MB")
	six := make([]upload, MaxPhotos+1)
	for i := range six {
		six[i] = upload{field, "p.png", "image/png", pngBytes(t, 2, 2)}
	}
	wantText(t, postMultipart(t, app, path, form("p3"), six, ann), "must be at most 5 in one return")
	if n := f.count(`SELECT count(*) FROM return_requests`); n != 0 {
		t.Fatalf("%d returns with bad photos", n)
	}

	// A PNG named .jpg and sent as image/jpeg is a PNG.
	p = postMultipart(t, app, path, form("p4"), []upload{{field, "IMG_0001.jpg", "image/jpeg", pngBytes(t, 40, 30)}}, ann)
	wantStatus(t, p, 303)
	var photoID int64
	var ct string
	if err := f.db.QueryRow(`SELECT id, content_type FROM return_photos`).Scan(&photoID, &ct); err != nil || ct != "image/png" {
		t.Fatalf("stored %q (%v)", ct, err)
	}
	rma := strings.TrimSuffix(strings.TrimPrefix(p.header.Get("Location"), "/returns/"), "?new=1")
	photo := get(t, app, fmt.Sprintf("/returns/%s/photos/%d", rma, photoID), ann)
	wantStatus(t, photo, 200)
	if photo.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(photo.header.Get("Cache-Control"), "private") || photo.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("photo headers %v", photo.header)
	}
	if p := get(t, app, fmt.Sprintf("/returns/%s/photos/%d", rma, photoID), who{customer: other.CustomerID}); p.status != 404 {
		t.Fatalf("another shopper got the photo: %d", p.status)
	}
	var returnID int64
	if err := f.db.Get(&returnID, `SELECT id FROM return_requests`); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, get(t, app, fmt.Sprintf("/admin/returns/%d/photos/%d", returnID, photoID), who{staff: "1:support"}), 200)
	if p := get(t, app, fmt.Sprintf("/admin/returns/%d/photos/%d", returnID, photoID), who{}); p.status != 303 {
		t.Fatalf("a stranger at the staff photo: %d", p.status)
	}
}

func TestTheOrderPanelOffersReturnsAndShowsEachOne(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	engine, err := web.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandlers(f.svc, engine)
	panel := func() string {
		s, err := h.OrderPanel(ctxT(t), o.CustomerID, o.ID, "tok", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return html.UnescapeString(string(s))
	}
	if s := panel(); s != "" {
		t.Fatalf("an undelivered order has a returns panel:\n%s", s)
	}
	f.deliver(o, f.now.Add(-time.Hour))
	if s := panel(); !strings.Contains(s, fmt.Sprintf(`href="/orders/%d/return"`, o.ID)) || strings.Contains(s, "Withdraw") {
		t.Fatalf("panel:\n%s", s)
	}
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	s := panel()
	for _, want := range []string{"Return " + r.RMA, "Approved: send it back", "Open the return label", `action="/returns/` + r.RMA + `/cancel"`, `value="tok"`, "History"} {
		if !strings.Contains(s, want) {
			t.Fatalf("panel lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, ">Return items<") {
		t.Fatal("the panel offers a return with nothing left to return")
	}
	f.now = f.now.Add(40 * 24 * time.Hour)
	if _, err := f.svc.Cancel(ctxT(t), o.CustomerID, r.RMA); err != nil {
		t.Fatal(err)
	}
	if s := panel(); !strings.Contains(s, "The return window closed on") {
		t.Fatalf("after the window:\n%s", s)
	}
}

func TestEUModeShowsAPlainWithdrawButton(t *testing.T) {
	f := newFixture(t)
	setPolicy(t, f, func(p *Policy) { p.EUMode, p.WindowDays = true, 14 })
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	app := testApp(t, f)
	ann := who{customer: o.CustomerID}
	p := get(t, app, fmt.Sprintf("/orders/%d/withdraw", o.ID), ann)
	wantStatus(t, p, 200)
	wantText(t, p, "Withdraw from this purchase", "2 × Item MUG")
	p = post(t, app, fmt.Sprintf("/orders/%d/withdraw", o.ID), url.Values{"key": {"wd-1"}}, ann)
	wantStatus(t, p, 303)
	var reason string
	var withdrawal bool
	if err := f.db.QueryRow(`SELECT r.withdrawal, i.reason FROM return_requests r JOIN return_items i ON i.return_id = r.id`).Scan(&withdrawal, &reason); err != nil || !withdrawal || reason != ReasonWithdrawal {
		t.Fatalf("withdrawal %v %q (%v)", withdrawal, reason, err)
	}
}
