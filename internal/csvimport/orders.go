package csvimport

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/integrations"
)

var orderColumns = []string{"external_id", "number", "placed_at", "email", "name", "currency", "sku", "title", "quantity",
	"unit_price", "discount", "shipping", "tax", "total", "payment_reference", "discount_codes", "referral_code", "source",
	"ship_name", "ship_line1", "ship_line2", "ship_city", "ship_region", "ship_postal_code", "ship_country"}

var orderRequired = []string{"external_id", "placed_at", "email", "currency", "sku", "title", "quantity", "unit_price"}

// batchSize is how many orders go to commerce at once: each is still its
// own transaction, the batch only saves round trips.
const batchSize = 100

// order is one order of the file being assembled from its rows.
type order struct {
	in      commerce.OrderInput
	first   int   // line of its first row
	lines   []int // line of each item
	problem *Failure
	// Which order-level amounts a row has given (0 is a value too).
	discountSet, shippingSet, taxSet, totalSet bool
}

func (o *order) fail(line int, format string, args ...any) {
	if o.problem == nil {
		o.problem = &Failure{Line: line, Ref: o.in.ExternalID, Reason: fmt.Sprintf(format, args...)}
	}
}

// Orders imports an orders file (see the package documentation). It
// returns an error, and imports nothing, when the file is not a CSV with
// the required columns; and stops with an error when the database fails.
// Bad orders are reported in the summary with their line numbers.
func (im *Importer) Orders(ctx context.Context, r io.Reader, o Options) (Summary, error) {
	rows, err := readRows(r, orderColumns, orderRequired)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Kind: "orders", Rows: len(rows), DryRun: o.DryRun}
	orders, loose := assemble(rows, firstOf(o.Source, DefaultSource))
	s.Total = len(orders) + len(loose)
	for _, f := range loose {
		s.Failed++
		s.Failures = append(s.Failures, f)
	}
	done := len(loose)
	progress := func(n int) {
		done += n
		if o.Progress != nil {
			o.Progress(done, s.Total)
		}
	}
	var batch []*order
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ins := make([]commerce.OrderInput, len(batch))
		for i, b := range batch {
			ins[i] = b.in
		}
		results, err := im.svc.UpsertOrders(ctx, ins)
		if err != nil {
			return err
		}
		for i, res := range results {
			s.count(batch[i], res.Outcome, res.Errors)
		}
		progress(len(batch))
		batch = batch[:0]
		return nil
	}
	for _, od := range orders {
		switch {
		case od.problem != nil:
			s.Failed++
			s.Failures = append(s.Failures, *od.problem)
			progress(1)
		case o.DryRun:
			out, err := im.dryOrder(ctx, od)
			if err != nil && fault.KindOf(err) == fault.Internal {
				return s, err
			}
			s.count(od, out, problems(err))
			progress(1)
		case o.Notify:
			_, out, err := im.svc.UpsertOrder(ctx, od.in)
			if err != nil && fault.KindOf(err) == fault.Internal {
				return s, err
			}
			s.count(od, out, problems(err))
			progress(1)
		default:
			if batch = append(batch, od); len(batch) == batchSize {
				if err := flush(); err != nil {
					return s, err
				}
			}
		}
	}
	return s, flush()
}

// count adds an order's outcome to the summary; field errors become
// failures on the line of the item they name, or of the order's first row.
func (s *Summary) count(od *order, out commerce.Outcome, errs []fault.FieldError) {
	switch {
	case len(errs) > 0 || out == commerce.BatchFailed:
		s.Failed++
		for _, e := range errs {
			s.Failures = append(s.Failures, Failure{Line: lineOf(od, e.Field), Ref: od.in.ExternalID, Reason: strings.TrimSpace(e.Field + " " + e.Message)})
		}
	case out == commerce.Unchanged:
		s.Unchanged++
	default:
		s.Imported++
	}
}

var itemPath = regexp.MustCompile(`^items\[(\d+)\]`)

func lineOf(od *order, field string) int {
	if m := itemPath.FindStringSubmatch(field); m != nil {
		if i, err := strconv.Atoi(m[1]); err == nil && i < len(od.lines) {
			return od.lines[i]
		}
	}
	return od.first
}

// problems are the field errors of a refused order (one unnamed for a
// domain error without fields).
func problems(err error) []fault.FieldError {
	fe, ok := fault.As(err)
	if !ok {
		return nil
	}
	if len(fe.Fields) > 0 {
		return fe.Fields
	}
	return []fault.FieldError{{Message: fe.Message}}
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// assemble groups rows into orders by (source, external_id) in the order
// they first appear. Rows without an external_id cannot belong to any
// order and are returned as failures.
func assemble(rows []row, source string) ([]*order, []Failure) {
	var orders []*order
	var loose []Failure
	byKey := map[string]*order{}
	for _, r := range rows {
		ext, src := r.get("external_id"), firstOf(r.get("source"), source)
		if ext == "" {
			loose = append(loose, Failure{Line: r.line, Reason: "external_id is required"})
			continue
		}
		od := byKey[src+"\x00"+ext]
		if od == nil {
			od = &order{first: r.line, in: commerce.OrderInput{Source: src, ExternalID: ext}}
			byKey[src+"\x00"+ext] = od
			orders = append(orders, od)
		}
		od.add(r)
	}
	for _, od := range orders {
		var sub int64
		for _, it := range od.in.Items {
			sub += int64(it.Quantity) * it.UnitPrice
		}
		od.in.Subtotal = sub
		if !od.totalSet {
			od.in.Total = sub - od.in.Discount + od.in.Shipping + od.in.Tax
		}
	}
	return orders, loose
}

// add takes one row into the order: its line, and the order's fields,
// which must agree with what earlier rows said.
func (od *order) add(r row) {
	text := func(name string, dst *string) {
		if v := r.get(name); v != "" {
			// Emails and currency codes are the same in any case.
			differs := *dst != v && !((name == "email" || name == "currency") && strings.EqualFold(*dst, v))
			if *dst != "" && differs {
				od.fail(r.line, "%s %q differs from %q on an earlier row of the order", name, v, *dst)
			}
			*dst = v
		}
	}
	in := &od.in
	text("number", &in.Number)
	text("email", &in.Customer.Email)
	text("name", &in.Customer.Name)
	text("payment_reference", &in.PaymentReference)
	cur := strings.ToUpper(r.get("currency"))
	text("currency", &in.Currency)
	if cur == "" {
		cur = strings.ToUpper(in.Currency)
	}
	if v := r.get("placed_at"); v != "" {
		switch t, err := instant(v); {
		case err != nil:
			od.fail(r.line, "placed_at %v", err)
		case in.PlacedAt != "" && in.PlacedAt != t:
			od.fail(r.line, "placed_at %q differs from an earlier row of the order", v)
		default:
			in.PlacedAt = t
		}
	}
	money := func(name string, dst *int64, set *bool) {
		v := r.get(name)
		if v == "" {
			return
		}
		m, err := integrations.ParseMoney(v, cur)
		if err != nil {
			od.fail(r.line, "%s: %v", name, err)
			return
		}
		if *set && *dst != m {
			od.fail(r.line, "%s %s differs from an earlier row of the order", name, v)
		}
		*dst, *set = m, true
	}
	money("discount", &in.Discount, &od.discountSet)
	money("shipping", &in.Shipping, &od.shippingSet)
	money("tax", &in.Tax, &od.taxSet)
	money("total", &in.Total, &od.totalSet)
	if codes := r.get("discount_codes"); codes != "" && len(in.DiscountCodes) == 0 {
		for _, c := range strings.Split(codes, ";") {
			if c = strings.TrimSpace(c); c != "" {
				in.DiscountCodes = append(in.DiscountCodes, c)
			}
		}
	}
	if ref := r.get("referral_code"); ref != "" {
		in.Attribution = &commerce.AttributionInput{ReferralCode: ref}
	}
	if a := (commerce.AddressInput{Name: r.get("ship_name"), Line1: r.get("ship_line1"), Line2: r.get("ship_line2"), City: r.get("ship_city"),
		Region: r.get("ship_region"), PostalCode: r.get("ship_postal_code"), Country: r.get("ship_country")}); a != (commerce.AddressInput{}) {
		in.ShippingAddress = &a
	}
	qty, err := strconv.Atoi(r.get("quantity"))
	if err != nil {
		od.fail(r.line, "quantity %q is not a whole number", r.get("quantity"))
	}
	price, err := integrations.ParseMoney(r.get("unit_price"), cur)
	if err != nil {
		od.fail(r.line, "unit_price: %v", err)
	}
	in.Items = append(in.Items, commerce.ItemInput{SKU: r.get("sku"), Title: r.get("title"), Quantity: qty, UnitPrice: price})
	od.lines = append(od.lines, r.line)
}
