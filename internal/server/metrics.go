package server

import (
	"strconv"
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
	reg.MustRegister(m.requests, m.latency, m.Jobs, m.Emails, pageLookups, pageHits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for packages that add their own series.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) observe(c *fiber.Ctx, status int, d time.Duration) {
	route := c.Route().Path
	if c.Route().Method == "USE" || route == "" || route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, c.Method(), strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, c.Method()).Observe(d.Seconds())
}

func (m *Metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}
