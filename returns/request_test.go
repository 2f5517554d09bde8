package returns

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/events"
	"github.com/aftercare/aftercare/internal/fault"
)

func TestARequestWithinTheRulesIsApprovedAtOnce(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500})
	f.deliver(o, f.now.Add(-48*time.Hour))

	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidRMA(r.RMA) || r.Status != Approved || r.ValueMinor != 3000 || r.Units() != 2 {
		t.Fatalf("return %+v", r)
	}
	if len(r.Events) != 2 || r.Events[0].Status != Approved || r.Events[0].Actor != "system" || r.Events[1].Actor != "shopper:1" {
		t.Fatalf("history %+v", r.Events)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE kind = 'return_approved' AND order_id = $1`, o.ID); n != 1 {
		t.Fatalf("%d approval emails", n)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE kind = 'return_requested'`); n != 0 {
		t.Fatalf("an approved request also got %d 'requested' emails", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE subject = $1`, r.Subject()); n != 2 {
		t.Fatalf("%d audit entries", n)
	}
	if n := f.events(events.ReturnChanged); n != 2 {
		t.Fatalf("%d return.changed events", n)
	}
}

func TestRequestsOutsideTheRulesWaitForReview(t *testing.T) {
	f := newFixture(t)
	f.product("LAMP", "Lamp", true, "")
	o := f.order("ann@example.com", line{"LAMP", 1, 50000})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Requested || !strings.Contains(r.ReviewNote, "worth more than $150.00") {
		t.Fatalf("status %s, note %q", r.Status, r.ReviewNote)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE kind = 'return_requested'`); n != 1 {
		t.Fatalf("%d 'requested' emails", n)
	}

	o2 := f.order("ann@example.com", line{"LAMP", 1, 1000})
	f.deliver(o2, f.now.Add(-time.Hour))
	in := RequestInput{OrderID: o2.ID, IdempotencyKey: "damaged-1", Resolution: Refund, Items: []RequestItem{
		{OrderItemID: o2.Items[0].ID, Quantity: 1, Reason: ReasonDamaged, Photos: []Upload{{Data: pngBytes(t, 3, 3)}}},
	}}
	r2, _, err := f.svc.Request(ctxT(t), o2.CustomerID, in)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Status != Requested || !strings.Contains(r2.ReviewNote, "claims damage") || len(r2.Photos) != 1 || r2.Photos[0].ContentType != "image/png" {
		t.Fatalf("status %s, note %q, photos %+v", r2.Status, r2.ReviewNote, r2.Photos)
	}
}

func TestADoubleSubmittedFormMakesOneReturn(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 3, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	in := RequestInput{OrderID: o.ID, IdempotencyKey: "form-123", Resolution: Credit,
		Items: []RequestItem{{OrderItemID: o.Items[0].ID, Quantity: 1, Reason: ReasonWrongSize}}}

	var wg sync.WaitGroup
	results := make([]Return, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _, errs[i] = f.svc.Request(ctxT(t), o.CustomerID, in)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
		if results[i].ID != results[0].ID {
			t.Fatalf("submit %d made return %d, submit 0 made %d", i, results[i].ID, results[0].ID)
		}
	}
	if n := f.count(`SELECT count(*) FROM return_requests`); n != 1 {
		t.Fatalf("%d returns", n)
	}
	_, created, err := f.svc.Request(ctxT(t), o.CustomerID, in)
	if err != nil || created {
		t.Fatalf("a later resubmit: created %v, %v", created, err)
	}
	// The same form can still return the other units under a new key.
	in.IdempotencyKey = "form-456"
	if _, created, err := f.svc.Request(ctxT(t), o.CustomerID, in); err != nil || !created {
		t.Fatalf("a second return of other units: created %v, %v", created, err)
	}
}

func TestAShopperCannotReturnOthersItemsMoreThanBoughtOrTheSameUnitsTwice(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	f.product("FINAL", "Final sale", false, "")
	ann := f.order("ann@example.com", line{"MUG", 2, 1500}, line{"FINAL", 1, 900})
	bob := f.order("bob@example.com", line{"MUG", 1, 1500})
	f.deliver(ann, f.now.Add(-time.Hour))
	f.deliver(bob, f.now.Add(-time.Hour))
	mug, final := ann.Items[0].ID, ann.Items[1].ID
	ask := func(who, orderID int64, items ...RequestItem) error {
		_, _, err := f.svc.Request(ctxT(t), who, RequestInput{OrderID: orderID, IdempotencyKey: "k" + time.Now().Format(time.RFC3339Nano), Resolution: Refund, Items: items})
		return err
	}
	tests := []struct {
		name  string
		who   int64
		order int64
		items []RequestItem
		kind  fault.Kind
		field string
	}{
		{"Bob asks to return Ann's order", bob.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: ReasonWrongSize}}, fault.NotFound, ""},
		{"Ann names Bob's order line in her order", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: bob.Items[0].ID, Quantity: 1, Reason: ReasonWrongSize}}, fault.Invalid, "quantity"},
		{"more than was bought", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 3, Reason: ReasonWrongSize}}, fault.Invalid, "must be at most 2"},
		{"a negative quantity", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: -1, Reason: ReasonWrongSize}}, fault.Invalid, "negative"},
		{"a final-sale item", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: final, Quantity: 1, Reason: ReasonWrongSize}}, fault.Invalid, "final sale"},
		{"a reason the store does not list", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: "because"}}, fault.Invalid, "reason"},
		{"a withdrawal outside EU mode", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: ReasonWithdrawal}}, fault.Invalid, "reason"},
		{"other without a comment", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: ReasonOther}}, fault.Invalid, "comment"},
		{"damaged without a photo", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: ReasonDamaged}}, fault.Invalid, "photos"},
		{"damaged with a text file for a photo", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: ReasonDamaged, Photos: []Upload{{Data: []byte("hello")}}}}, fault.Invalid, "JPEG or PNG"},
		{"the same line twice", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 1, Reason: ReasonWrongSize}, {OrderItemID: mug, Quantity: 1, Reason: ReasonWrongSize}}, fault.Invalid, "not an item"},
		{"nothing chosen", ann.CustomerID, ann.ID, []RequestItem{{OrderItemID: mug, Quantity: 0}}, fault.Invalid, "at least one item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ask(tt.who, tt.order, tt.items...)
			de, ok := fault.As(err)
			if !ok || de.Kind != tt.kind || !strings.Contains(strings.ToLower(de.Error()), strings.ToLower(tt.field)) {
				t.Fatalf("got %v, want %s about %q", err, tt.kind, tt.field)
			}
		})
	}
	if n := f.count(`SELECT count(*) FROM return_requests`); n != 0 {
		t.Fatalf("%d returns were made", n)
	}
	if err := ask(ann.CustomerID, ann.ID, RequestItem{OrderItemID: mug, Quantity: 2, Reason: ReasonWrongSize}); err != nil {
		t.Fatal(err)
	}
	err := ask(ann.CustomerID, ann.ID, RequestItem{OrderItemID: mug, Quantity: 1, Reason: ReasonWrongSize})
	if de, ok := fault.As(err); !ok || !strings.Contains(de.Error(), "already in a return") {
		t.Fatalf("the same units returned twice: %v", err)
	}
	t.Run("another customer cannot read, cancel or see photos of the return", func(t *testing.T) {
		var rma string
		if err := f.db.Get(&rma, `SELECT rma FROM return_requests`); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ForCustomer(ctxT(t), bob.CustomerID, rma); !fault.Is(err, fault.NotFound) {
			t.Fatalf("read: %v", err)
		}
		if _, err := f.svc.Cancel(ctxT(t), bob.CustomerID, rma); !fault.Is(err, fault.NotFound) {
			t.Fatalf("cancel: %v", err)
		}
		if _, _, err := f.svc.PhotoOfCustomer(ctxT(t), bob.CustomerID, rma, 1); !fault.Is(err, fault.NotFound) {
			t.Fatalf("photo: %v", err)
		}
	})
}

func TestCancellingFreesTheUnitsUntilTheReturnIsReceived(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 1, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = f.svc.Cancel(ctxT(t), o.CustomerID, r.RMA); err != nil || r.Status != Cancelled {
		t.Fatalf("cancel: %s, %v", r.Status, err)
	}
	a, _, err := f.svc.Eligibility(ctxT(t), o.CustomerID, o.ID)
	if err != nil || a.Lines[0].Available != 1 {
		t.Fatalf("after cancelling, available %d (%v)", a.Lines[0].Available, err)
	}
	received := f.mustReceived(o)
	if _, err := f.svc.Cancel(ctxT(t), o.CustomerID, received.RMA); !fault.Is(err, fault.Conflict) {
		t.Fatalf("a received return was cancelled: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE kind = 'return_cancelled'`); n != 1 {
		t.Fatalf("%d cancellation emails", n)
	}
}

func TestEUWithdrawalNeedsNoReasonAndIsRefunded(t *testing.T) {
	f := newFixture(t)
	p := DefaultPolicy()
	p.EUMode, p.WindowDays, p.AutoApprove = true, 14, false
	if err := SavePolicy(ctxT(t), f.db, p, "staff:1"); err != nil {
		t.Fatal(err)
	}
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500})
	f.deliver(o, f.now.Add(-13*24*time.Hour))
	r, _, err := f.svc.Request(ctxT(t), o.CustomerID, RequestInput{OrderID: o.ID, IdempotencyKey: "w1", Withdrawal: true, Resolution: Credit,
		Items: []RequestItem{{OrderItemID: o.Items[0].ID, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Withdrawal || r.Resolution != Refund || r.Status != Approved || r.Items[0].Reason != ReasonWithdrawal {
		t.Fatalf("withdrawal %+v", r)
	}
}

func TestRejectNeedsAReasonTheShopperSees(t *testing.T) {
	f := newFixture(t)
	f.product("LAMP", "Lamp", true, "")
	o := f.order("ann@example.com", line{"LAMP", 1, 90000})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reject(ctxT(t), r.ID, "staff:2", "  "); !fault.Is(err, fault.Invalid) {
		t.Fatalf("a rejection without a reason: %v", err)
	}
	r, err = f.svc.Reject(ctxT(t), r.ID, "staff:2", "Used beyond inspection.")
	if err != nil || r.Status != Rejected || r.RejectReason != "Used beyond inspection." {
		t.Fatalf("reject: %+v %v", r.Status, err)
	}
	var actor, action string
	if err := f.db.QueryRow(`SELECT actor, action FROM audit_log WHERE subject = $1 ORDER BY id DESC LIMIT 1`, r.Subject()).Scan(&actor, &action); err != nil || actor != "staff:2" || action != "return.rejected" {
		t.Fatalf("audit %s %s %v", actor, action, err)
	}
	if _, err := f.svc.Approve(ctxT(t), r.ID, "staff:2"); !fault.Is(err, fault.Conflict) {
		t.Fatalf("a rejected return was approved: %v", err)
	}
	// A rejected return frees its units.
	if a, _, _ := f.svc.Eligibility(ctxT(t), o.CustomerID, o.ID); a.Lines[0].Available != 1 {
		t.Fatalf("after rejection, available %d", a.Lines[0].Available)
	}
}

func TestReceiveChecksCountsPerItem(t *testing.T) {
	f := newFixture(t)
	f.product("MUG", "Mug", true, "")
	o := f.order("ann@example.com", line{"MUG", 2, 1500})
	f.deliver(o, f.now.Add(-time.Hour))
	r, err := f.request(o, ReasonChangedMind)
	if err != nil {
		t.Fatal(err)
	}
	item := r.Items[0].ID
	bad := []Receipt{
		{Received: map[int64]int{item: 3}},
		{Received: map[int64]int{item: 1}, Damaged: map[int64]int{item: 2}},
		{Received: map[int64]int{item: 0}},
		{Received: map[int64]int{item: 1, 999999: 1}},
	}
	for i, rec := range bad {
		if _, err := f.svc.Receive(ctxT(t), r.ID, "staff:1", rec); !fault.Is(err, fault.Invalid) {
			t.Fatalf("receipt %d accepted: %v", i, err)
		}
	}
	r, err = f.svc.Receive(ctxT(t), r.ID, "staff:1", Receipt{Received: map[int64]int{item: 2}, Damaged: map[int64]int{item: 1}, Note: "One chipped."})
	if err != nil || r.Status != Received || r.Items[0].Received() != 2 || r.Items[0].Damaged() != 1 || r.ConditionNote != "One chipped." || r.ReceivedAt == nil {
		t.Fatalf("received %+v, %v", r, err)
	}
	if _, err := f.svc.Receive(ctxT(t), r.ID, "staff:1", Receipt{Received: map[int64]int{item: 2}}); !fault.Is(err, fault.Conflict) {
		t.Fatalf("received twice: %v", err)
	}
}
