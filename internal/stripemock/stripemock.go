// Package stripemock runs Stripe's official API mock, stripe-mock v0.183.0
// (pinned as a `tool` in go.mod: its OpenAPI spec matches the 2023-10-16 API
// version that stripe-go v76 speaks), for `aftercare dev` and for tests.
// stripe-mock is stateless: it checks request shapes, not business rules.
package stripemock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running stripe-mock.
type Server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// Start builds (once, cached by the go command) and starts stripe-mock on a
// free loopback port. It needs the go command, since the tool is built from
// the module's pinned version.
func Start(ctx context.Context) (*Server, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("stripemock: the go command is needed to run stripe-mock (go tool stripe-mock)")
	}
	var out bytes.Buffer
	build := exec.CommandContext(ctx, goBin, "tool", "-n", "stripe-mock")
	build.Stdout, build.Stderr = &out, &out
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("stripemock: build: %w\n%s", err, out.String())
	}
	bin := strings.TrimSpace(out.String())
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	// stripe-mock also opens HTTPS on a fixed port unless told otherwise,
	// which makes a second instance (another test binary) exit at once.
	s.cmd = exec.Command(bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(port), "-https-addr", "127.0.0.1:0")
	var logs bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &logs, &logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("stripemock: start: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }() //nolint:errcheck // exit is observed through done
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/v1/customers", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("stripemock: exited early:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("stripemock: not answering after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the base URL to give stripe-go (its API backend URL).
func (s *Server) URL() string { return s.url }

// Stop ends the process.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill() //nolint:errcheck // already gone is fine
	}
	<-s.done
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("stripemock: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// URL returns the address of a stripe-mock shared by the tests of this
// binary, started on first use and stopped when the process exits (it is a
// child process; Stop it from TestMain with StopShared when convenient).
func URL(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start(context.Background()) })
	if sharedErr != nil {
		t.Fatalf("stripe-mock: %v", sharedErr)
	}
	return shared.URL()
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}
