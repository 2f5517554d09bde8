package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aftercare/aftercare/internal/pagecache"
)

// Metrics are Aftercare's Prometheus series.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Jobs counts finished jobs by kind and outcome.
	Jobs *prometheus.CounterVec
	// Emails counts outbox messages by kind and final state.
	Emails *prometheus.CounterVec

	series   atomic.Pointer[map[seriesKey]series]
	seriesMu sync.Mutex
}

// NewMetrics registers the series on reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftercare_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aftercare_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftercare_jobs_total", Help: "Background jobs finished, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		Emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftercare_emails_total", Help: "Emails by kind and state (sent, failed, kept).",
		}, []string{"kind", "state"}),
	}
	pageLookups := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "aftercare_pagecache_lookups_total", Help: "Order page parts looked up in the page caches.",
	}, func() float64 { return float64(pagecache.Lookups.Load()) })
	pageHits := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "aftercare_pagecache_hits_total", Help: "Order page parts served from the page caches.",
	}, func() float64 { return float64(pagecache.Hits.Load()) })
	memoLookups := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "aftercare_session_memo_lookups_total", Help: "Signed-in requests' session reads looked up in memory (internal/auth memo).",
	}, func() float64 { return float64(pagecache.MemoLookups.Load()) })
	memoHits := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "aftercare_session_memo_hits_total", Help: "Signed-in requests' session reads answered from memory, without the database.",
	}, func() float64 { return float64(pagecache.MemoHits.Load()) })
	m.series.Store(&map[seriesKey]series{})
	reg.MustRegister(m.requests, m.latency, m.Jobs, m.Emails, pageLookups, pageHits, memoLookups, memoHits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for packages that add their own series.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) observe(c *fiber.Ctx, status int, d time.Duration) {
	s := m.seriesOf(c, status)
	s.requests.Inc()
	s.latency.Observe(d.Seconds())
}

// series are a route's counter (for one status) and latency histogram.
type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// seriesKey picks a request's series: its route (nil when unmatched), its
// method and its status.
type seriesKey struct {
	route  *fiber.Route
	method string
	status int
}

// seriesOf returns the request's series from a map that is copied on each
// new key (a route, method and status seen the first time: a few hundred
// at most): looking the labels up in the vectors took a lock, a hash of
// the label values and the status formatted as text, per request.
func (m *Metrics) seriesOf(c *fiber.Ctx, status int) series {
	r := c.Route()
	unmatched := r.Method == "USE" || r.Path == "" || r.Path == "/" && c.Path() != "/"
	key := seriesKey{route: r, method: c.Method(), status: status}
	if unmatched {
		key.route = nil
	}
	if s, ok := (*m.series.Load())[key]; ok {
		return s
	}
	route := r.Path
	if unmatched {
		route = "unmatched"
	}
	s := series{
		requests: m.requests.WithLabelValues(route, key.method, strconv.Itoa(status)),
		latency:  m.latency.WithLabelValues(route, key.method),
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	old := *m.series.Load()
	if len(old) < maxSeriesKept {
		next := make(map[seriesKey]series, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[key] = s
		m.series.Store(&next)
	}
	return s
}

// maxSeriesKept bounds the map of seriesOf; past it, new keys are looked
// up in the vectors each time (they are bounded by the routes anyway).
const maxSeriesKept = 4096

func (m *Metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}
