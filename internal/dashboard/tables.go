package dashboard

import (
	"fmt"
	"strconv"

	"github.com/aftercare/aftercare/web"
)

// Table is one table of the dashboard, as shown under a chart and as
// exported to CSV: Name is its path (/admin/dashboard/<Name>.csv).
type Table struct {
	Name, Title string
	Columns     []string
	Rows        [][]string
}

// TableNames lists the dashboard's tables in page order.
var TableNames = []string{"sales", "daily", "customers", "returns", "reviews", "emails", "referrals"}

// Tables returns every table of r, in TableNames order.
func (r Report) Tables() []Table {
	out := make([]Table, 0, len(TableNames))
	for _, n := range TableNames {
		t, _ := r.Table(n)
		out = append(out, t)
	}
	return out
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

// rate is a share as a percentage with one decimal, or "–" when there is no
// base to divide by.
func rate(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", float64(part)*100/float64(whole))
}

func salesOf(rows []salesRow, currency string) salesRow {
	for _, s := range rows {
		if s.Currency == currency {
			return s
		}
	}
	return salesRow{Currency: currency}
}

func aov(s salesRow) string {
	if s.Orders == 0 {
		return "–"
	}
	return web.Money(s.Gross/s.Orders, s.Currency)
}

// lifetimeValue is the average net spend of the customers who ever paid in
// currency, up to the end of the period.
func lifetimeValue(rows []lifetimeRow, currency string) string {
	for _, l := range rows {
		if l.Currency == currency && l.Customers > 0 {
			return web.Money(l.Net/l.Customers, currency)
		}
	}
	return "–"
}

// Table returns the table called name, and false for an unknown name.
func (r Report) Table(name string) (Table, bool) {
	switch name {
	case "sales":
		t := Table{Name: name, Title: "Orders and revenue by currency",
			Columns: []string{"Currency", "Orders", "Orders before", "Revenue", "Revenue before", "Refunded", "Average order", "Average order before", "Lifetime value per customer"}}
		for _, c := range r.Currencies {
			n, b := salesOf(r.Now.Sales, c), salesOf(r.Before.Sales, c)
			t.Rows = append(t.Rows, []string{c, count(n.Orders), count(b.Orders),
				web.Money(n.Gross-n.Refunded, c), web.Money(b.Gross-b.Refunded, c), web.Money(n.Refunded, c), aov(n), aov(b),
				lifetimeValue(r.Now.Lifetime, c)})
		}
		return t, true
	case "daily":
		t := Table{Name: name, Title: "Orders and revenue per day", Columns: []string{"Day", "Orders"}}
		for _, c := range r.Currencies {
			t.Columns = append(t.Columns, "Revenue "+c)
		}
		for _, d := range r.Days {
			row := []string{d.Date.Format("2006-01-02"), count(d.Orders)}
			for _, c := range r.Currencies {
				row = append(row, web.Money(d.Revenue[c], c))
			}
			t.Rows = append(t.Rows, row)
		}
		return t, true
	case "customers":
		n, b := r.Now.Customers, r.Before.Customers
		return Table{Name: name, Title: "Customers", Columns: []string{"Measure", "This period", "Previous period"},
			Rows: [][]string{
				{"Customers who ordered", count(n.Buyers), count(b.Buyers)},
				{"Of them, with more than one order", count(n.Repeaters), count(b.Repeaters)},
				{"Repeat purchase rate", rate(n.Repeaters, n.Buyers), rate(b.Repeaters, b.Buyers)},
				{"Order page views (where is my order)", count(n.Views), count(b.Views)},
				{"Order page views per parcel shipped", perParcel(n.Views, n.Parcels), perParcel(b.Views, b.Parcels)},
			}}, true
	case "returns":
		t := Table{Name: name, Title: "Returns by reason",
			Columns: []string{"Reason", "Currency", "Items", "Value", "Share of items sold", "Share of revenue"}}
		for _, x := range r.Now.Returns {
			s := salesOf(r.Now.Sales, x.Currency)
			t.Rows = append(t.Rows, []string{x.Reason, x.Currency, count(x.Items), web.Money(x.Value, x.Currency),
				rate(x.Items, s.Items), rate(x.Value, s.Gross)})
		}
		return t, true
	case "reviews":
		n, b := r.Now.Reviews, r.Before.Reviews
		avg := func(v reviewRow) string {
			if v.Reviews == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", v.AvgRating)
		}
		return Table{Name: name, Title: "Reviews", Columns: []string{"Measure", "This period", "Previous period"},
			Rows: [][]string{
				{"Review requests sent", count(n.Requests), count(b.Requests)},
				{"Reviews written", count(n.Reviews), count(b.Reviews)},
				{"Review conversion", rate(n.Reviews, n.Requests), rate(b.Reviews, b.Requests)},
				{"Average rating", avg(n), avg(b)},
			}}, true
	case "emails":
		t := Table{Name: name, Title: "Emails by kind",
			Columns: []string{"Kind", "Sent", "Failed", "Opened", "Clicked", "Unsubscribed", "Open rate", "Click rate"}}
		for _, e := range r.Now.Emails {
			t.Rows = append(t.Rows, []string{e.Kind, count(e.Sent), count(e.Failed), count(e.Opened), count(e.Clicked),
				count(e.Unsubscribed), rate(e.Opened, e.Sent), rate(e.Clicked, e.Sent)})
		}
		return t, true
	case "referrals":
		n, b := r.Now.Funnel, r.Before.Funnel
		return Table{Name: name, Title: "Referral funnel", Columns: []string{"Step", "This period", "Previous period"},
			Rows: [][]string{
				{"Codes shared", count(n.Codes), count(b.Codes)},
				{"Link visits", count(n.Visits), count(b.Visits)},
				{"Friend codes", count(n.Friends), count(b.Friends)},
				{"Converted orders", count(n.Converted), count(b.Converted)},
				{"Rewards granted", count(n.Rewards), count(b.Rewards)},
				{"Referral conversion (orders / friend codes)", rate(n.Converted, n.Friends), rate(b.Converted, b.Friends)},
			}}, true
	}
	return Table{}, false
}

// perParcel is views per shipment with one decimal, or a dash without parcels.
func perParcel(views, parcels int64) string {
	if parcels == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", float64(views)/float64(parcels))
}
