package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one request a connection sends.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Load describes one measured run: Conns connections, each a goroutine with
// its own keep-alive connection, sending back to back for Warmup (not
// recorded) and then Duration (recorded).
type Load struct {
	Name     string
	Conns    int
	Warmup   time.Duration
	Duration time.Duration
	// Next returns the i-th request of connection conn.
	Next func(conn, i int) Request
	// OK says whether a response counts as a success; by default any
	// status below 400 (redirects are not followed).
	OK func(status int) bool
}

// Result is what a run measured. Requests and Errors count the responses
// that arrived within the recorded window (as wrk does), so a request longer
// than the window still counts once it ends inside it.
type Result struct {
	Name     string
	Conns    int
	Seconds  float64
	Requests int
	Errors   int
	RPS      float64
	Latency  Summary
	Statuses map[int]int
}

// Run drives l against its URLs and returns the figures.
func Run(ctx context.Context, l Load) Result {
	if l.OK == nil {
		l.OK = func(s int) bool { return s > 0 && s < 400 }
	}
	start := time.Now()
	from, until := start.Add(l.Warmup), start.Add(l.Warmup+l.Duration)
	type conn struct {
		lat      Latencies
		errors   int
		statuses map[int]int
	}
	conns := make([]conn, l.Conns)
	var wg sync.WaitGroup
	for c := range l.Conns {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			st := &conns[c]
			st.statuses = map[int]int{}
			client := newClient()
			defer client.CloseIdleConnections()
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if t0.After(until) {
					return
				}
				status := do(ctx, client, l.Next(c, i))
				t1 := time.Now()
				if t1.Before(from) || t1.After(until) {
					continue // finished during warm-up or after the window closed
				}
				st.lat.Add(t1.Sub(t0))
				st.statuses[status]++
				if !l.OK(status) {
					st.errors++
				}
			}
		}(c)
	}
	wg.Wait()
	r := Result{Name: l.Name, Conns: l.Conns, Seconds: l.Duration.Seconds(), Statuses: map[int]int{}}
	var all Latencies
	for i := range conns {
		all.Merge(&conns[i].lat)
		r.Errors += conns[i].errors
		for s, n := range conns[i].statuses {
			r.Statuses[s] += n
		}
	}
	r.Requests = all.Count()
	r.RPS = float64(r.Requests) / l.Duration.Seconds()
	r.Latency = all.Summarize()
	return r
}

// newClient is one keep-alive connection: its own transport, at most one
// connection, redirects returned rather than followed, no cookie jar.
func newClient() *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends rq and reads the whole body; it returns the status, or 0 when
// the request failed.
func do(ctx context.Context, client *http.Client, rq Request) int {
	var body io.Reader
	if rq.Body != nil {
		body = bytes.NewReader(rq.Body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.Method, rq.URL, body)
	if err != nil {
		return 0
	}
	for k, v := range rq.Header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // a short read shows as a later error
	resp.Body.Close()
	return resp.StatusCode
}

// RunFixed sends exactly total requests of l over its connections (no
// warm-up, no time limit) and reports the rate over the wall time they took:
// for loads whose requests are long, like 500-order batches, where a fixed
// window would cut most of them off.
func RunFixed(ctx context.Context, l Load, total int) Result {
	if l.OK == nil {
		l.OK = func(s int) bool { return s > 0 && s < 400 }
	}
	var next atomic.Int64
	lats := make([]Latencies, l.Conns)
	errs := make([]int, l.Conns)
	statuses := make([]map[int]int, l.Conns)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range l.Conns {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			statuses[c] = map[int]int{}
			client := newClient()
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				t0 := time.Now()
				status := do(ctx, client, l.Next(c, i))
				lats[c].Add(time.Since(t0))
				statuses[c][status]++
				if !l.OK(status) {
					errs[c]++
				}
			}
		}(c)
	}
	wg.Wait()
	wall := time.Since(start)
	r := Result{Name: l.Name, Conns: l.Conns, Seconds: wall.Seconds(), Statuses: map[int]int{}}
	var all Latencies
	for c := range l.Conns {
		all.Merge(&lats[c])
		r.Errors += errs[c]
		for s, n := range statuses[c] {
			r.Statuses[s] += n
		}
	}
	r.Requests = all.Count()
	r.RPS = float64(r.Requests) / wall.Seconds()
	r.Latency = all.Summarize()
	return r
}
