package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aftercare/aftercare/internal/bench"
)

// proc is a child process the harness measures: the product or the reference.
type proc struct {
	name string
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	done chan error

	mu      sync.Mutex
	sampled float64 // largest VmRSS sampled, MB
	peak    float64 // VmHWM at the last sample, MB
}

// freeAddr is a free loopback port, as host:port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startProc runs bin with args and env (added to ours), logging to logPath,
// and waits until health answers 200 on its address.
func startProc(ctx context.Context, name, addr, health, logPath string, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // never outlive the harness
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, base: "http://" + addr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(p.base + health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				go p.sample(ctx)
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("%s exited before it answered (%v); see %s", name, err, logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s did not answer %s within 2 minutes; see %s", name, health, logPath)
		}
	}
}

// sample reads the process's RSS every 100 ms until it exits.
func (p *proc) sample(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, peak, ok := bench.RSS(p.cmd.Process.Pid)
		if !ok {
			return
		}
		p.mu.Lock()
		if now > p.sampled {
			p.sampled = now
		}
		p.peak = peak
		p.mu.Unlock()
	}
}

// RSS is the largest sampled VmRSS and the kernel's high-water mark, in MB.
func (p *proc) RSS() (sampled, peak float64) {
	if now, hwm, ok := bench.RSS(p.cmd.Process.Pid); ok {
		p.mu.Lock()
		p.sampled, p.peak = max(p.sampled, now), hwm
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sampled, p.peak
}

// Pid is the child's process id.
func (p *proc) Pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

// Stop asks the process to shut down gracefully, then kills it after 20 s.
func (p *proc) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // may have exited
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill() //nolint:errcheck // last resort
		<-p.done
	}
}
