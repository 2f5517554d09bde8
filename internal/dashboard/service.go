// Package dashboard is the admin's start page: the store's post-purchase
// KPIs for a period beside the period before it, daily charts drawn as SVG
// on the server, a table under each, and a CSV export of every table.
package dashboard

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/fault"
)

// MaxDays bounds a period so one page never scans years of orders.
const MaxDays = 366

// Period is a run of whole days in the store's time zone: From and To are
// the first and last day (inclusive); Start and End the instants that bound
// it, half-open.
type Period struct {
	From, To   time.Time
	Start, End time.Time
}

// Days is the number of days in p.
func (p Period) Days() int { return int(p.To.Sub(p.From).Hours()/24+0.5) + 1 }

// Previous is the period of equal length that ends the day before p starts.
func (p Period) Previous() Period {
	n := p.Days()
	return newPeriod(p.From.AddDate(0, 0, -n), p.From.AddDate(0, 0, -1))
}

func newPeriod(from, to time.Time) Period {
	loc := from.Location()
	f := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	t := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, loc)
	return Period{From: f, To: t, Start: f, End: t.AddDate(0, 0, 1)}
}

// ParsePeriod reads from and to (YYYY-MM-DD, in loc); empty means the 30
// days ending today (now in loc). It returns a fault.Invalid field error for
// a malformed date, a period ending before it starts, or one longer than
// MaxDays.
func ParsePeriod(from, to string, now time.Time, loc *time.Location) (Period, error) {
	today := now.In(loc)
	end, start := today, today.AddDate(0, 0, -29)
	var f fault.Fields
	if to != "" {
		d, err := time.ParseInLocation("2006-01-02", to, loc)
		if err != nil {
			f.Add("to", "must be a date like 2026-01-31")
		}
		end = d
		if from == "" {
			start = d.AddDate(0, 0, -29)
		}
	}
	if from != "" {
		d, err := time.ParseInLocation("2006-01-02", from, loc)
		if err != nil {
			f.Add("from", "must be a date like 2026-01-01")
		}
		start = d
	}
	if err := f.Err(); err != nil {
		return Period{}, err
	}
	p := newPeriod(start, end)
	if p.To.Before(p.From) {
		return Period{}, fault.Field("to", "must not be before the start")
	}
	if p.Days() > MaxDays {
		return Period{}, fault.Field("from", fmt.Sprintf("the period may be at most %d days", MaxDays))
	}
	return p, nil
}

// Figures are the KPIs of one period, straight from SQL.
type Figures struct {
	Sales     []salesRow
	Lifetime  []lifetimeRow
	Customers customerRow
	Returns   []returnRow
	Reviews   reviewRow
	Emails    []emailRow
	Funnel    funnelRow
}

// Service computes the dashboard.
type Service struct{ st store }

// NewService returns the dashboard over db (read-only; a read replica will do).
func NewService(db *sqlx.DB) *Service { return &Service{st: store{db: db}} }

// Figures computes the KPIs of p: from the daily rollups once the refresh
// job has built them in the store's time zone, otherwise straight from the
// record. It returns only database errors.
func (s *Service) Figures(ctx context.Context, p Period) (Figures, error) {
	ro, err := s.st.rollupReady(ctx, p.From.Location().String())
	if err != nil {
		return Figures{}, err
	}
	return s.figures(ctx, p, ro)
}

func (s *Service) figures(ctx context.Context, p Period, rollup bool) (Figures, error) {
	var (
		fg  Figures
		err error
	)
	from, to := p.From.Format(dateFmt), p.To.Format(dateFmt)
	if rollup {
		fg.Sales, err = s.st.salesRollup(ctx, from, to)
	} else {
		fg.Sales, err = s.st.sales(ctx, p.Start, p.End)
	}
	if err != nil {
		return fg, err
	}
	if rollup {
		fg.Lifetime, err = s.st.lifetimeRollup(ctx, to)
	} else {
		fg.Lifetime, err = s.st.lifetime(ctx, p.End)
	}
	if err != nil {
		return fg, err
	}
	if fg.Customers, err = s.st.customers(ctx, p.Start, p.End); err != nil {
		return fg, err
	}
	if fg.Returns, err = s.st.returns(ctx, p.Start, p.End); err != nil {
		return fg, err
	}
	if rollup {
		fg.Reviews, err = s.st.reviewsRollup(ctx, p)
	} else {
		fg.Reviews, err = s.st.reviews(ctx, p.Start, p.End)
	}
	if err != nil {
		return fg, err
	}
	if rollup {
		fg.Emails, err = s.st.emailsRollup(ctx, from, to)
	} else {
		fg.Emails, err = s.st.emails(ctx, p.Start, p.End)
	}
	if err != nil {
		return fg, err
	}
	if fg.Funnel, err = s.st.funnel(ctx, p.Start, p.End); err != nil {
		return fg, err
	}
	return fg, nil
}

// Day is one day of the daily series: orders and net revenue per currency.
type Day struct {
	Date    time.Time
	Orders  int64
	Revenue map[string]int64
}

// Daily returns every day of p, oldest first, days without orders included.
func (s *Service) Daily(ctx context.Context, p Period) ([]Day, error) {
	ro, err := s.st.rollupReady(ctx, p.From.Location().String())
	if err != nil {
		return nil, err
	}
	return s.daily(ctx, p, ro)
}

func (s *Service) daily(ctx context.Context, p Period, rollup bool) ([]Day, error) {
	var rows []dayRow
	var err error
	if rollup {
		rows, err = s.st.dailyRollup(ctx, p.From.Format(dateFmt), p.To.Format(dateFmt))
	} else {
		rows, err = s.st.daily(ctx, p.Start, p.End, p.From.Location().String())
	}
	if err != nil {
		return nil, err
	}
	days := make([]Day, p.Days())
	index := map[string]int{}
	for i := range days {
		d := p.From.AddDate(0, 0, i)
		days[i] = Day{Date: d, Revenue: map[string]int64{}}
		index[d.Format("2006-01-02")] = i
	}
	for _, r := range rows {
		i, ok := index[r.Day.Format("2006-01-02")]
		if !ok {
			continue
		}
		days[i].Orders += r.Orders
		days[i].Revenue[r.Currency] += r.Revenue
	}
	return days, nil
}

// Report is the whole dashboard of a period beside the previous one.
type Report struct {
	Period, Prev Period
	Now, Before  Figures
	Days         []Day
	Currencies   []string
}

// Report computes p, the period before it and p's daily series.
func (s *Service) Report(ctx context.Context, p Period) (Report, error) {
	r := Report{Period: p, Prev: p.Previous()}
	ro, err := s.st.rollupReady(ctx, p.From.Location().String())
	if err != nil {
		return r, err
	}
	if r.Now, err = s.figures(ctx, r.Period, ro); err != nil {
		return r, err
	}
	if r.Before, err = s.figures(ctx, r.Prev, ro); err != nil {
		return r, err
	}
	if r.Days, err = s.daily(ctx, p, ro); err != nil {
		return r, err
	}
	seen := map[string]bool{}
	for _, fg := range []Figures{r.Now, r.Before} {
		for _, s := range fg.Sales {
			if !seen[s.Currency] {
				seen[s.Currency] = true
				r.Currencies = append(r.Currencies, s.Currency)
			}
		}
	}
	sort.Strings(r.Currencies)
	return r, nil
}
