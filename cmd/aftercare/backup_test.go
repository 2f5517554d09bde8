package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// pgTool finds a PostgreSQL client program (pg_dump, pg_restore).
func pgTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		t.Fatalf("%s is not installed (it comes with the PostgreSQL packages)", name)
	}
	return matches[len(matches)-1]
}

// TestABackupRestoredIntoANewDatabaseIsServed follows README's backup and
// restore steps: pg_dump -Fc of a live store, pg_restore into an empty
// database, and the app started on it answers with what was stored, with
// the same API key, and finds its schema up to date.
func TestABackupRestoredIntoANewDatabaseIsServed(t *testing.T) {
	l := startLive(t)
	orderID := l.placeDemoOrder(t, "backup@example.com", "#7001")
	dump := filepath.Join(t.TempDir(), "aftercare.dump")
	if out, err := exec.Command(pgTool(t, "pg_dump"), "--format=custom", "--file="+dump, "--dbname="+l.Config.DatabaseURL).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}

	target := pgtest.EmptyURL(t)
	if out, err := exec.Command(pgTool(t, "pg_restore"), "--no-owner", "--exit-on-error", "--dbname="+target, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg, err := config.Load(envOf(map[string]string{
		"AFTERCARE_DATABASE_URL": target, "AFTERCARE_SIGNING_KEYS": testKeys, "AFTERCARE_BASE_URL": base,
		"AFTERCARE_AUTO_MIGRATE": "1",
	}), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	restored, err := buildApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{PollInterval: 20 * time.Millisecond})
	if err != nil {
		cancel()
		t.Fatalf("start on the restored database: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- restored.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
		restored.Close()
	}()

	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/orders/%d", base, orderID), nil)
	req.Header.Set("Authorization", "Bearer "+l.key)
	var resp *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err = http.DefaultClient.Do(req); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"#7001"`) || !strings.Contains(string(body), "1Z999AA17001") {
		t.Fatalf("the restored store answered %d:\n%s", resp.StatusCode, body)
	}
}
