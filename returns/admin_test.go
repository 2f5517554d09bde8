package returns

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStaffQueueFiltersAndCountsOldestFirst(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	f.product("LAMP", "Lamp", true, "")
	mugs := f.order("ann@example.com", line{"MUG", 1, 1500})
	lamp := f.order("bob@example.com", line{"LAMP", 1, 90000})
	f.deliver(mugs, f.now.Add(-time.Hour))
	f.deliver(lamp, f.now.Add(-time.Hour))
	approved, err := f.request(mugs, ReasonWrongSize) // auto-approved
	if err != nil {
		t.Fatal(err)
	}
	review, err := f.request(lamp, ReasonChangedMind) // over the threshold: waits
	if err != nil {
		t.Fatal(err)
	}
	// The lamp has waited longer.
	f.exec(`UPDATE return_requests SET status_changed_at = $2::timestamptz - interval '5 days' WHERE id = $1`, review.ID, f.now)
	app := testApp(t, f)
	sam := who{staff: "3:support"}

	p := get(t, app, "/admin/returns", sam)
	wantStatus(t, p, 200)
	wantText(t, p, approved.RMA, review.RMA, "5 days", "Waiting for review", "ann@example.com", "$900.00")
	if strings.Index(p.body, review.RMA) > strings.Index(p.body, approved.RMA) {
		t.Fatal("the longest waiting return is not first")
	}
	if strings.Contains(p.body, "Return policy settings") {
		t.Fatal("support is offered the settings")
	}
	tests := []struct {
		query      string
		has, lacks string
	}{
		{"status=requested", review.RMA, approved.RMA},
		{"status=approved", approved.RMA, review.RMA},
		{"reason=wrong_size", approved.RMA, review.RMA},
		{"age=3", review.RMA, approved.RMA},
		{"min=100", review.RMA, approved.RMA},
		{"max=20.00", approved.RMA, review.RMA},
		{"status=refunded", "No returns match this filter", approved.RMA},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := get(t, app, "/admin/returns?"+tt.query, sam)
			wantStatus(t, p, 200)
			if !strings.Contains(p.body, tt.has) || strings.Contains(p.body, `href="/admin/returns/`+idOf(tt.lacks, approved, review)+`"`) {
				t.Fatalf("want %s, not %s", tt.has, tt.lacks)
			}
		})
	}
	if p := get(t, app, "/admin/returns", who{}); p.status != 303 {
		t.Fatalf("a stranger opened the queue: %d", p.status)
	}
}

func idOf(rma string, rs ...Return) string {
	for _, r := range rs {
		if r.RMA == rma {
			return fmt.Sprint(r.ID)
		}
	}
	return "none"
}

func TestStaffReceivesAndResolvesFromTheReturnPage(t *testing.T) {
	f := newFixture(t)
	f.product("LAMP", "Lamp", true, "")
	o := f.order("ann@example.com", line{"LAMP", 2, 90000})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	app := testApp(t, f)
	sam := who{staff: "3:support"}
	path := fmt.Sprintf("/admin/returns/%d", r.ID)

	p := get(t, app, path, sam)
	wantStatus(t, p, 200)
	wantText(t, p, r.RMA, "Jane Doe, ann@example.com", "Changed my mind", "Approve", "Reject, with a reason")

	p = post(t, app, path+"/receive", url.Values{fmt.Sprintf("received_%d", r.Items[0].ID): {"2"}}, sam)
	wantStatus(t, p, 409)
	wantText(t, p, "A return that is waiting for review cannot be received.")

	wantStatus(t, post(t, app, path+"/approve", url.Values{}, sam), 303)
	p = post(t, app, path+"/receive", url.Values{fmt.Sprintf("received_%d", r.Items[0].ID): {"3"}}, sam)
	wantStatus(t, p, 422)
	wantText(t, p, "must be between 0 and 2")
	p = post(t, app, path+"/receive", url.Values{
		fmt.Sprintf("received_%d", r.Items[0].ID): {"2"}, fmt.Sprintf("damaged_%d", r.Items[0].ID): {"1"}, "note": {"One shade cracked."},
	}, sam)
	wantStatus(t, p, 303)
	if p.header.Get("Location") != path+"?done=received" {
		t.Fatalf("Location %q", p.header.Get("Location"))
	}
	p = get(t, app, path, sam)
	wantText(t, p, "2 of 2 units received, 1 damaged. One shade cracked.", "Refund <strong>$1,800.00</strong>", "Stripe is not configured")

	p = post(t, app, path+"/resolve", url.Values{"method": {"refund"}}, sam)
	wantStatus(t, p, 422)
	wantText(t, p, "Stripe is not configured, so refunds and credits cannot be made here.")

	var actions []string
	if err := f.db.Select(&actions, `SELECT action || ' by ' || actor FROM audit_log WHERE subject = $1 ORDER BY id`, r.Subject()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(actions, ", "); got != "return.requested by shopper:1, return.approved by staff:3, return.received by staff:3" {
		t.Fatalf("audit: %s", got)
	}
}

func TestOnlyAdminsChangeTheReturnPolicy(t *testing.T) {
	f := newFixture(t)
	app := testApp(t, f)
	if p := get(t, app, "/admin/settings/returns", who{staff: "3:support"}); p.status != 403 {
		t.Fatalf("support opened the settings: %d", p.status)
	}
	admin := who{staff: "1:admin"}
	p := get(t, app, "/admin/settings/returns", admin)
	wantStatus(t, p, 200)
	wantText(t, p, "Days to return", "EU mode", "Restocking fee", "promotion code")

	form := url.Values{
		"window_days": {"10"}, "eu_mode": {"1"}, "allow_refund": {"1"}, "credit_bonus_pct": {"10"}, "restocking_fee_pct": {"5"},
		"credit_method": {"balance"}, "auto_approve": {"1"}, "auto_approve_max": {"80.00"}, "return_address": {"Returns dept.\n1 Dock Road"},
	}
	for _, r := range defaultReasons() {
		form.Set("reason_"+r.Code, "1")
		form.Set("label_"+r.Code, r.Label)
	}
	p = post(t, app, "/admin/settings/returns", form, admin)
	wantStatus(t, p, 422)
	wantText(t, p, "must be at least 14 days in EU mode")

	form.Set("window_days", "21")
	form.Set("label_"+ReasonChangedMind, "No longer wanted")
	form.Del("reason_" + ReasonArrivedLate)
	wantStatus(t, post(t, app, "/admin/settings/returns", form, admin), 303)
	p2, err := LoadPolicy(ctxT(t), f.db)
	if err != nil {
		t.Fatal(err)
	}
	late, _ := p2.Reason(ReasonArrivedLate)
	mind, _ := p2.Reason(ReasonChangedMind)
	if p2.WindowDays != 21 || !p2.EUMode || p2.AutoApproveMaxMinor != 8000 || p2.CreditMethod != CreditBalance || p2.AllowCredit ||
		late.Enabled || mind.Label != "No longer wanted" || p2.ReturnAddress != "Returns dept.\n1 Dock Road" {
		t.Fatalf("saved %+v", p2)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'settings.returns_saved' AND actor = 'staff:1'`); n != 1 {
		t.Fatalf("%d audit entries", n)
	}
}
