package referral

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/aftercare/aftercare/internal/server"
	"github.com/aftercare/aftercare/web"
)

// BenchmarkLanding is one GET /r/{code} through the whole server chain
// (request id, access log, security headers, settings, CSRF cookie, the
// landing, the device cookie, the buffered visit), as the load of
// cmd/bench sends it: no cookies, codes and landings already kept.
func BenchmarkLanding(b *testing.B) {
	w := newWorld(b, true)
	// The store of the bench's data set (internal/demo).
	w.exec(`UPDATE settings SET store_name = 'Driftwood Coffee Co.', store_url = 'https://driftwood.example.com',
		accent_color = '#8a4b2a', support_email = 'help@driftwood.example.com', time_zone = 'America/New_York', updated_at = now()`)
	codes := make([]string, 20)
	for i := range codes {
		codes[i] = w.referrer(fmt.Sprintf("r%d@example.com", i), fmt.Sprintf("Referrer%d Doe", i), order{}).Code
	}
	// As the server runs it: codes and the program kept, visits written
	// every 200 ms.
	w.svc = NewService(Options{DB: w.db, Orders: w.commerce, Rewards: w.rewards, BaseURL: "https://care.example.test",
		CacheTTL: DefaultCacheTTL, VisitFlushEvery: DefaultVisitFlushEvery})
	b.Cleanup(func() { w.svc.Close(context.Background()) }) //nolint:errcheck // nothing to check
	views, err := web.NewEngine(nil)
	if err != nil {
		b.Fatal(err)
	}
	app := server.New(server.Options{DB: w.db, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Views: views,
		RelaxedSettings: []string{"/r/"}, QuietPaths: []string{"/r/"}})
	NewHandlers(w.svc, false).PublicRoutes(app)
	handler := app.Handler()
	var ctx fasthttp.RequestCtx
	hit := func(i int) {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/r/" + codes[i%len(codes)])
		handler(&ctx)
		if s := ctx.Response.StatusCode(); s != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", s, ctx.Response.Body())
		}
	}
	for i := range 2 * len(codes) {
		hit(i)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	n := 0
	for ; b.Loop(); n++ {
		hit(n)
	}
	// The machine is shared: the process's CPU time per hit (GC and the
	// visit writer included) says more than the wall clock.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(len(ctx.Response.Header.Header())+len(ctx.Response.Body())), "resp-bytes")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck // never fails for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
