package csvimport

import (
	"encoding/csv"
	"errors"
	"strings"
	"testing"
)

// FuzzParse reads arbitrary files as orders files and as shipments files,
// up to what goes to commerce (readRows, then assemble or
// assembleParcels), never touching the database. Properties: no panic; a
// file refused as a whole says why (and a CSV syntax error names a line);
// every row of an orders file ends up as exactly one item line of an order
// or as a failure; every failure, order, item and parcel points at a line
// of the file after the header, and every failure has a reason.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string, shipments bool) {
		lines := strings.Count(data, "\n") + 1
		known, required := orderColumns, orderRequired
		if shipments {
			known, required = shipmentColumns, shipmentRequired
		}
		rows, err := readRows(strings.NewReader(data), known, required)
		if err != nil {
			var pe *csv.ParseError
			if err.Error() == "" || (errors.As(err, &pe) && (pe.Line < 1 || pe.Line > lines)) {
				t.Fatalf("refused %q with %v", data, err)
			}
			return
		}
		inLine := func(what string, line int) {
			if line < 2 || line > lines {
				t.Fatalf("%s points at line %d of a %d-line file:\n%q", what, line, lines, data)
			}
		}
		checkFailure := func(fl Failure) {
			inLine("failure "+fl.Reason, fl.Line)
			if fl.Reason == "" {
				t.Fatalf("a failure without a reason on line %d of %q", fl.Line, data)
			}
		}
		placed := 0
		if shipments {
			for _, notify := range []bool{false, true} {
				parcels, loose := assembleParcels(rows, DefaultSource, notify)
				for _, fl := range loose {
					checkFailure(fl)
				}
				for _, p := range parcels {
					inLine("parcel "+p.ref(), p.first)
					if p.problem != nil {
						checkFailure(*p.problem)
					}
					if p.in.Carrier == "" || p.in.TrackingNumber == "" || p.orderID == "" {
						t.Fatalf("parcel without its key: %+v from %q", p, data)
					}
				}
				placed = len(loose) + len(parcels)
			}
		} else {
			orders, loose := assemble(rows, DefaultSource)
			for _, fl := range loose {
				checkFailure(fl)
			}
			for _, od := range orders {
				inLine("order "+od.in.ExternalID, od.first)
				if od.problem != nil {
					checkFailure(*od.problem)
				}
				if od.in.ExternalID == "" || len(od.lines) != len(od.in.Items) || len(od.lines) == 0 {
					t.Fatalf("order %+v has %d item lines from %q", od.in, len(od.lines), data)
				}
				for _, l := range od.lines {
					inLine("item of "+od.in.ExternalID, l)
				}
				placed += len(od.lines)
			}
			if placed += len(loose); placed != len(rows) {
				t.Fatalf("%d rows, but %d item lines and failures: %q", len(rows), placed, data)
			}
		}
		if placed > len(rows) || (len(rows) > 0 && placed == 0) {
			t.Fatalf("%d rows became %d orders, parcels and failures: %q", len(rows), placed, data)
		}
	})
}
