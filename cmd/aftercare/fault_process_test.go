package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// buildBinary builds the aftercare command into the test's directory, or
// skips the test when it cannot be built here.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aftercare")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Skipf("cannot build the binary: %v\n%s", err, out)
	}
	return bin
}

// process is a subprocess of the test with its combined output.
type process struct {
	name string
	cmd  *exec.Cmd
	base string // for a server: its http://host:port
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startProcess runs bin with args and env; the test's end kills it if it
// still runs.
func startProcess(t *testing.T, bin string, env []string, name string, args []string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill() //nolint:errcheck // may have ended
		<-p.done
		p.done <- nil
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, tailOf(p.output(), 3000))
		}
	})
	return p
}

// startServe runs `aftercare serve` on a free port and waits until it
// answers /healthz.
func startServe(t *testing.T, bin string, env []string, name string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	p := startProcess(t, bin, append(env[:len(env):len(env)], "AFTERCARE_ADDR="+addr, "AFTERCARE_BASE_URL="+base), name, []string{"serve"})
	p.base = base
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited: %v\n%s", name, err, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up:\n%s", name, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no deferred function, no flush.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Logf("kill %s: %v", p.name, err)
	}
	err := <-p.done
	p.done <- err
}

// wait waits for the process to exit and returns its output.
func (p *process) wait(timeout time.Duration) (string, error) {
	select {
	case err := <-p.done:
		p.done <- err
		return p.output(), err
	case <-time.After(timeout):
		return p.output(), fmt.Errorf("%s still running after %s", p.name, timeout)
	}
}

// writeOrdersCSV writes n orders of faultItems rows each, in the format of
// internal/csvimport, shaped like faultOrder (so checkWholeOrders applies).
func writeOrdersCSV(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "external_id,number,placed_at,email,name,currency,sku,title,quantity,unit_price,shipping,total")
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("csv-%d", i)
		fmt.Fprintf(w, "%s,#%s,2024-03-01T10:00:00Z,%s@example.com,CSV Shopper,USD,FAULT-1,Part 1,1,1.00,5.00,19.00\n", id, id, id)
		for j := 2; j <= faultItems; j++ {
			fmt.Fprintf(w, "%s,,,,,,FAULT-%d,Part %d,%d,%d.00,,\n", id, j, j, j, j)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
