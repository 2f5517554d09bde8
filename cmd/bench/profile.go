package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aftercare/aftercare/internal/bench"
)

// profiler captures CPU profiles of the server through the pprof listener
// that AFTERCARE_PPROF_ADDR turns on. A nil profiler captures nothing.
type profiler struct {
	addr, dir, run string
}

func newProfiler(dir, run string) (*profiler, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &profiler{addr: addr, dir: dir, run: run}, nil
}

// during runs load and, after its warm-up, records a CPU profile of the
// server for its measured duration into <dir>/<run>-<name>.cpu.pprof.
func (p *profiler) during(ctx context.Context, name string, o options, load func() bench.Result) bench.Result {
	if p == nil {
		return load()
	}
	done := make(chan error, 1)
	go func() {
		select {
		case <-ctx.Done():
			done <- ctx.Err()
			return
		case <-time.After(o.warmup):
		}
		done <- p.capture(ctx, name, o.duration)
	}()
	r := load()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
	}
	return r
}

func (p *profiler) capture(ctx context.Context, name string, d time.Duration) error {
	secs := int(d.Seconds())
	if secs < 1 {
		secs = 1
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.addr, secs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d (is AFTERCARE_PPROF_ADDR supported by this build?)", url, resp.StatusCode)
	}
	path := filepath.Join(p.dir, p.run+"-"+name+".cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintln(os.Stderr, "pprof: wrote", path)
	return f.Close()
}
