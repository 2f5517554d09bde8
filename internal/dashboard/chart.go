package dashboard

import (
	"fmt"

	"github.com/aftercare/aftercare/web"
)

// Chart is a daily bar chart laid out for an inline SVG: the template draws
// the bars; the table under it carries the same numbers for screen readers
// and for copying.
type Chart struct {
	ID, Title, Desc string
	Width, Height   int
	Bars            []Bar
	MaxLabel        string
	FirstDay        string
	LastDay         string
	TableName       string
}

// Bar is one day's bar in SVG user units, with its day and value as text.
type Bar struct {
	X, Y, W, H float64
	Label      string
}

const (
	chartW, chartH = 720, 160
	chartTop       = 8
)

// Charts returns the daily charts of r: orders per day, then revenue per
// day for each currency (currencies are never added together).
func (r Report) Charts() []Chart {
	values := make([]int64, len(r.Days))
	for i, d := range r.Days {
		values[i] = d.Orders
	}
	out := []Chart{r.chart("orders", "Orders per day", values, func(v int64) string { return fmt.Sprintf("%d orders", v) })}
	for _, c := range r.Currencies {
		for i, d := range r.Days {
			values[i] = d.Revenue[c]
		}
		cur := c
		out = append(out, r.chart("revenue-"+c, "Revenue per day ("+c+")", values, func(v int64) string { return web.Money(v, cur) }))
	}
	return out
}

func (r Report) chart(id, title string, values []int64, label func(int64) string) Chart {
	ch := Chart{ID: id, Title: title, Width: chartW, Height: chartH, TableName: "daily"}
	if len(r.Days) == 0 {
		return ch
	}
	ch.FirstDay = r.Days[0].Date.Format("2006-01-02")
	ch.LastDay = r.Days[len(r.Days)-1].Date.Format("2006-01-02")
	var peak, total int64
	for _, v := range values {
		peak = max(peak, v)
		total += v
	}
	ch.MaxLabel = label(peak)
	ch.Desc = fmt.Sprintf("%s from %s to %s: %s in all, at most %s on one day. The table below lists every day.",
		title, ch.FirstDay, ch.LastDay, label(total), label(peak))
	slot := float64(chartW) / float64(len(values))
	for i, v := range values {
		h := 0.0
		if peak > 0 && v > 0 {
			h = float64(chartH-chartTop) * float64(v) / float64(peak)
		}
		ch.Bars = append(ch.Bars, Bar{X: float64(i)*slot + slot*0.1, W: slot * 0.8, Y: float64(chartH) - h, H: h,
			Label: r.Days[i].Date.Format("2006-01-02") + ": " + label(v)})
	}
	return ch
}
