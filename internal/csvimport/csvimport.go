// Package csvimport back-fills the record of purchases from CSV files:
// historical orders and their shipments, exported from the store before
// Aftercare was connected. Importing is idempotent (a second run of the
// same file leaves everything Unchanged), quiet (no email unless asked) and
// reports each row that could not be imported with its line number.
//
// Orders file: one row per order line; the rows of one order share its
// external_id (they need not be adjacent). Columns, in any order, header
// names in any case:
//
//	external_id*  the store's order id
//	placed_at*    RFC 3339 (2024-03-01T14:30:00Z), or 2024-03-01 14:30:00 or
//	              2024-03-01, both taken as UTC
//	email*        the buyer's email
//	currency*     ISO 4217 code (EUR)
//	sku*, title*, quantity*, unit_price*   the line; unit_price in major
//	              units with a decimal point (19.99), exact to the currency
//	number, name, discount, shipping, tax, total, payment_reference,
//	discount_codes (separated by ;), referral_code, source, and the shipping
//	address: ship_name, ship_line1, ship_line2, ship_city, ship_region,
//	ship_postal_code, ship_country (ISO 3166 alpha-2)
//
// Order-level columns may be repeated on every row of the order or given
// on one; values that disagree fail the order. An empty total is the sum
// of the parts. (* = required)
//
// Shipments file: one row per parcel, or per parcel line; rows with the
// same carrier and tracking_number are one parcel.
//
//	order_external_id*, carrier*, tracking_number*
//	shipped_at*   when it left (required unless notifying: a parcel without
//	              it counts as new and its shopper would be told)
//	tracking_url, estimated_delivery (YYYY-MM-DD), order_source
//	sku, quantity what the parcel holds; none means all not yet shipped
//	status, status_at   its last known status (label_created, in_transit,
//	              out_for_delivery, attempted_delivery, available_for_pickup,
//	              delivered, exception, returned_to_sender) and when
package csvimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aftercare/aftercare/internal/commerce"
)

// DefaultSource is the source of imported orders unless told otherwise.
const DefaultSource = "import"

// Options tune an import.
type Options struct {
	// Source is the orders' source ("shopify" to back-fill what its
	// webhooks will keep up to date); a file's source column overrides it.
	Source string
	// DryRun checks every row and compares it with what is recorded, and
	// writes nothing.
	DryRun bool
	// Notify sends the emails a live order or parcel would cause (for
	// orders placed in the last 72 hours). Without it nothing is sent.
	Notify bool
	// Progress, when set, is called after each order or parcel.
	Progress func(done, total int)
}

// Failure is a row that was not imported.
type Failure struct {
	Line   int    // line number in the file (the header is line 1)
	Ref    string // the order or parcel it belongs to
	Reason string
}

// Summary is what an import did (or, in a dry run, would do). Imported
// counts new and changed orders or parcels, Unchanged those already on
// record as the file has them.
type Summary struct {
	Kind      string // "orders" or "shipments"
	Rows      int
	Total     int // orders or parcels in the file
	Imported  int
	Unchanged int
	Failed    int
	Failures  []Failure
	DryRun    bool
}

// Importer writes through commerce. Email follows the service it was given
// and Options.Notify: give it a service without an outbox for a quiet
// back-fill.
type Importer struct {
	svc *commerce.Service
	now func() time.Time
}

// New returns an importer over svc.
func New(svc *commerce.Service) *Importer { return &Importer{svc: svc, now: time.Now} }

// row is one CSV record with its line number, read by column name.
type row struct {
	line int
	cols map[string]int
	rec  []string
}

func (r row) get(name string) string {
	if i, ok := r.cols[name]; ok && i < len(r.rec) {
		return strings.TrimSpace(r.rec[i])
	}
	return ""
}

// readRows reads a whole file: a header naming known columns (required
// ones present), then records. A file that is not such a CSV is an error;
// problems of single rows are the caller's to report.
func readRows(r io.Reader, known, required []string) ([]row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty; it needs a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cols := map[string]int{}
	for i, h := range head {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown column %q (the columns are: %s)", h, strings.Join(known, ", "))
		}
		if _, dup := cols[name]; dup {
			return nil, fmt.Errorf("column %q appears twice", name)
		}
		cols[name] = i
	}
	var missing []string
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing column(s): %s", strings.Join(missing, ", "))
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err // the csv error names the line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		rows = append(rows, row{line: line, cols: cols, rec: rec})
	}
}

// instant reads a time as RFC 3339, "2006-01-02 15:04:05" or a date (UTC).
func instant(s string) (string, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return "", fmt.Errorf("%q is not a time such as 2024-03-01T14:30:00Z or 2024-03-01", s)
}
