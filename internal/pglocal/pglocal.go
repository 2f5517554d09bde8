// Package pglocal runs a private PostgreSQL server from the binaries
// installed on the machine, for `aftercare dev` and for tests. The server
// listens only on a unix socket in a private directory. When the process
// runs as root, the cluster belongs to the `postgres` user, as initdb demands.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configures a private server.
type Options struct {
	// DataDir keeps the cluster between runs when set (dev); when empty a
	// temporary cluster is made and removed by Stop.
	DataDir string
	// Fast turns off fsync and friends: for tests, where durability is moot.
	Fast bool
	// TCP also listens on a free loopback port, for tests that put a
	// network fault between the application and the database.
	TCP bool
}

// Server is a running private PostgreSQL.
type Server struct {
	dataDir string
	sockDir string
	temp    bool
	bin     string
	cred    *syscall.Credential
	logPath string
	tcpAddr string
}

// ErrNotInstalled is returned when no PostgreSQL binaries can be found.
var ErrNotInstalled = errors.New("pglocal: PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin); install it (apt-get install postgresql) or set AFTERCARE_DATABASE_URL")

// Start initializes the cluster if needed and starts the server.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pglocal: running as root needs a `postgres` user to own the cluster: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "pglocal-")
		if err != nil {
			return nil, fmt.Errorf("pglocal: temp dir: %w", err)
		}
		s.temp = true
		s.dataDir = filepath.Join(dir, "data")
		s.sockDir = dir
	} else {
		abs, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("pglocal: %w", err)
		}
		s.dataDir = filepath.Join(abs, "data")
		// A unix socket path is limited to about 100 bytes, so it lives in /tmp.
		dir, err := os.MkdirTemp("", "pglocal-sock-")
		if err != nil {
			return nil, fmt.Errorf("pglocal: socket dir: %w", err)
		}
		s.sockDir = dir
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("pglocal: %w", err)
		}
		if err := s.own(abs); err != nil {
			return nil, err
		}
	}
	if err := s.own(s.sockDir); err != nil {
		return nil, err
	}
	s.logPath = filepath.Join(s.sockDir, "postgres.log")
	if _, err := os.Stat(filepath.Join(s.dataDir, "PG_VERSION")); err != nil {
		if err := s.run(ctx, "initdb", "-D", s.dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"); err != nil {
			return nil, err
		}
	}
	listen := "''"
	if opts.TCP {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		listen = "127.0.0.1 -c port=" + strconv.Itoa(port)
		s.tcpAddr = "127.0.0.1:" + strconv.Itoa(port)
	}
	conf := []string{"-c listen_addresses=" + listen, "-c unix_socket_directories=" + s.sockDir, "-c max_connections=300", "-c shared_buffers=128MB"}
	if opts.Fast {
		conf = append(conf, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	if err := s.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", s.dataDir, "-l", s.logPath, "-o", strings.Join(conf, " ")); err != nil {
		logTail, _ := os.ReadFile(s.logPath)
		return nil, fmt.Errorf("%w\n%s", err, tail(logTail, 2000))
	}
	return s, nil
}

// URL returns a lib/pq connection URL for database name on this server.
func (s *Server) URL(name string) string {
	q := url.Values{"host": {s.sockDir}, "user": {"postgres"}, "sslmode": {"disable"}}
	return "postgres:///" + url.PathEscape(name) + "?" + q.Encode()
}

// TCPAddr is host:port of the loopback listener when started with TCP.
func (s *Server) TCPAddr() string { return s.tcpAddr }

// URLVia returns a connection URL for database name through addr (host:port),
// e.g. a fault-injecting proxy in front of TCPAddr.
func (s *Server) URLVia(addr, name string) string {
	return "postgres://postgres@" + addr + "/" + url.PathEscape(name) + "?sslmode=disable"
}

// Stop stops the server quickly and removes a temporary cluster.
func (s *Server) Stop() error {
	err := s.run(context.Background(), "pg_ctl", "stop", "-m", "fast", "-w", "-D", s.dataDir)
	if s.temp {
		os.RemoveAll(s.sockDir)
	} else {
		os.RemoveAll(s.sockDir)
	}
	return err
}

func (s *Server) own(dir string) error {
	if s.cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		return fmt.Errorf("pglocal: chown %s: %w", dir, err)
	}
	return nil
}

func (s *Server) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the server running with our pipes; don't wait on them.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("pglocal: %s: %w\n%s", name, err, tail(out.Bytes(), 2000))
	}
	return nil
}

func findBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pglocal: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
