package csvimport

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/jobs"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newImporter returns an importer over a service with a real outbox, so
// that a test can see that a quiet import queues no email.
func newImporter(t *testing.T) (*Importer, *commerce.Service, *sqlx.DB) {
	t.Helper()
	db := pgtest.DB(t)
	q, err := jobs.New(db.DB, jobs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	svc := commerce.NewService(db, mail.NewOutbox(q))
	return New(svc), svc, db
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func file(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func count(t *testing.T, db *sqlx.DB, query string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, query); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantSummary(t *testing.T, s Summary, total, imported, unchanged, failed int) {
	t.Helper()
	if s.Total != total || s.Imported != imported || s.Unchanged != unchanged || s.Failed != failed {
		t.Fatalf("summary %d total: %d imported, %d unchanged, %d failed; want %d: %d, %d, %d\nfailures: %+v",
			s.Total, s.Imported, s.Unchanged, s.Failed, total, imported, unchanged, failed, s.Failures)
	}
}

func TestAGoodOrdersFileImportsOnceAndQuietly(t *testing.T) {
	im, svc, db := newImporter(t)
	var calls, last int
	s, err := im.Orders(ctxT(t), file(t, "orders-good.csv"), Options{Progress: func(done, total int) { calls++; last = done }})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 3, 3, 0, 0)
	if s.Rows != 5 || calls == 0 || last != 3 {
		t.Errorf("rows %d, progress called %d times ending at %d", s.Rows, calls, last)
	}
	o, err := svc.OrderByExternal(ctxT(t), DefaultSource, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Items) != 3 || o.Items[1].Title != "Cup, white" || o.Items[2].SKU != "SPOON" || o.TotalMinor != 5017 || o.TaxMinor != 722 {
		t.Errorf("order 1001: items %+v, total %d", o.Items, o.TotalMinor)
	}
	if o.Customer.Email != "ada@example.com" || len(o.DiscountCodes) != 2 || o.DiscountCodes[1] != "SPRING" || o.ShippingAddress == nil || o.ShippingAddress.Country != "GB" {
		t.Errorf("order 1001: %s %v %+v", o.Customer.Email, o.DiscountCodes, o.ShippingAddress)
	}
	jp, _ := svc.OrderByExternal(ctxT(t), DefaultSource, "1002")
	if jp.Currency != "JPY" || jp.TotalMinor != 2000 || jp.PlacedAt.Format(time.RFC3339) != "2023-05-02T09:30:00Z" {
		t.Errorf("order 1002: %s %d %s", jp.Currency, jp.TotalMinor, jp.PlacedAt)
	}
	if n := count(t, db, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d emails for historical orders", n)
	}

	again, err := im.Orders(ctxT(t), file(t, "orders-good.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, again, 3, 0, 3, 0)
	if n := count(t, db, `SELECT count(*) FROM orders`); n != 3 {
		t.Errorf("%d orders after importing twice", n)
	}
}

func TestABadOrdersFileReportsEachProblemWithItsLine(t *testing.T) {
	im, _, db := newImporter(t)
	s, err := im.Orders(ctxT(t), file(t, "orders-bad.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 9, 1, 0, 8)
	got := map[int]string{}
	for _, f := range s.Failures {
		got[f.Line] += f.Reason + "|"
	}
	for line, want := range map[int]string{
		3: "customer.email must be an email address", 4: `quantity "zero" is not a whole number`, 5: "more decimals than EUR allows",
		6: "external_id is required", 7: "total must be subtotal - discount + shipping + tax (100)",
		9: `email "hal@example.com" differs`, 11: "items[1].title is required", 12: `placed_at "next week" is not a time`,
	} {
		if !strings.Contains(got[line], want) {
			t.Errorf("line %d: %q; want %q", line, got[line], want)
		}
	}
	if !strings.Contains(got[11], "items[1].quantity must be at least 1") {
		t.Errorf("line 11 does not name the second problem of its row: %q", got[11])
	}
	if n := count(t, db, `SELECT count(*) FROM orders`); n != 1 {
		t.Errorf("%d orders; only 2001 is good", n)
	}
}

func TestAFileThatIsNotAnOrdersCSVImportsNothing(t *testing.T) {
	im, _, _ := newImporter(t)
	for _, tt := range []struct{ body, want string }{
		{"", "the file is empty"},
		{"external_id,placed_at,email,currency,sku,title,quantity\n", "missing column(s): unit_price"},
		{"external_id,placed_at,email,currency,sku,title,quantity,unit_price,colour\n", `unknown column "colour"`},
		{"external_id,EXTERNAL_ID\n", `column "external_id" appears twice`},
		{"external_id,placed_at,email,currency,sku,title,quantity,unit_price\n1,\"2023\n", "extraneous or missing"},
	} {
		if _, err := im.Orders(ctxT(t), strings.NewReader(tt.body), Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v; want %q", tt.body, err, tt.want)
		}
	}
}

func TestADryRunWritesNothingAndTellsWhatWouldChange(t *testing.T) {
	im, _, db := newImporter(t)
	s, err := im.Orders(ctxT(t), file(t, "orders-good.csv"), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 3, 3, 0, 0)
	if n := count(t, db, `SELECT count(*) FROM orders`); n != 0 || !s.DryRun {
		t.Fatalf("a dry run wrote %d orders", n)
	}
	if bad, _ := im.Orders(ctxT(t), file(t, "orders-bad.csv"), Options{DryRun: true}); bad.Failed != 8 {
		t.Errorf("dry run of the bad file: %d failed, want 8: %+v", bad.Failed, bad.Failures)
	}
	if _, err := im.Orders(ctxT(t), file(t, "orders-good.csv"), Options{}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("testdata/orders-good.csv")
	changed := strings.Replace(string(raw), "Sencha,1,1500", "Sencha (tin),1,1500", 1)
	s, err = im.Orders(ctxT(t), strings.NewReader(changed), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 3, 1, 2, 0)
}

func TestNotifyQueuesTheEmailsOfRecentOrdersOnly(t *testing.T) {
	im, _, db := newImporter(t)
	recent := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	body := fmt.Sprintf("external_id,placed_at,email,currency,sku,title,quantity,unit_price\nn1,%s,a@example.com,EUR,A,A,1,1.00\nn2,2020-01-01,b@example.com,EUR,A,A,1,1.00\n", recent)
	if _, err := im.Orders(ctxT(t), strings.NewReader(body), Options{}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d emails without --notify", n)
	}
	body = strings.ReplaceAll(body, "n1,", "n3,")
	s, err := im.Orders(ctxT(t), strings.NewReader(body), Options{Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 2, 1, 1, 0)
	if n := count(t, db, `SELECT count(*) FROM messages WHERE kind = 'order_confirmation'`); n != 1 {
		t.Errorf("%d confirmations; want one, for the order placed an hour ago", n)
	}
}

func TestShipmentsImportOnceWithTheirLinesAndStatus(t *testing.T) {
	im, svc, db := newImporter(t)
	if _, err := im.Orders(ctxT(t), file(t, "orders-good.csv"), Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := im.Shipments(ctxT(t), file(t, "shipments-good.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 3, 3, 0, 0)
	o, _ := svc.OrderByExternal(ctxT(t), DefaultSource, "1001")
	if len(o.Shipments) != 2 {
		t.Fatalf("%d shipments of 1001", len(o.Shipments))
	}
	ups, dhl := o.Shipments[0], o.Shipments[1]
	if ups.TrackingNumber != "1Z999AA1" || len(ups.Items) != 2 || ups.Status != commerce.Delivered || ups.TrackingURL == "" {
		t.Errorf("ups parcel %+v", ups)
	}
	if len(dhl.Items) != 1 || dhl.Items[0].SKU != "SPOON" {
		t.Errorf("the dhl parcel carries %+v; want what was left (the spoon)", dhl.Items)
	}
	if n := count(t, db, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d emails for historical parcels", n)
	}
	again, err := im.Shipments(ctxT(t), file(t, "shipments-good.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, again, 3, 0, 3, 0)
	if dry, _ := im.Shipments(ctxT(t), file(t, "shipments-good.csv"), Options{DryRun: true}); dry.Unchanged != 3 {
		t.Errorf("dry run after import: %+v", dry)
	}
}

func TestABadShipmentsFileReportsEachProblemWithItsLine(t *testing.T) {
	im, _, db := newImporter(t)
	if _, err := im.Orders(ctxT(t), file(t, "orders-good.csv"), Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := im.Shipments(ctxT(t), file(t, "shipments-bad.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, 6, 0, 0, 6)
	got := map[int]string{}
	for _, f := range s.Failures {
		got[f.Line] += f.Reason
	}
	for line, want := range map[int]string{
		2: "There is no order 9999 from import", 3: "shipped_at is required", 4: "must not exceed the 3",
		5: `status "lost" is not one of`, 6: "status and status_at go together", 7: "carrier and tracking_number are required",
	} {
		if !strings.Contains(got[line], want) {
			t.Errorf("line %d: %q; want %q", line, got[line], want)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM shipments`); n != 0 {
		t.Errorf("%d shipments from a file of bad rows", n)
	}
}
