// Package pgtest gives each test its own freshly migrated PostgreSQL
// database: one server per test binary (a private pglocal server, or the one
// at TEST_DATABASE_URL), one migrated template, and a cheap clone per test.
//
// A package that uses it calls pgtest.Main from its TestMain so the private
// server stops when the tests end.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal"
	schema "github.com/aftercare/aftercare/sql"
)

var (
	once     sync.Once
	server   *pglocal.Server
	adminURL string // a URL on the server whose database part we replace
	template string
	setupErr error
)

// Main runs the tests and stops the private server afterwards.
func Main(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop() //nolint:errcheck // nothing to do about it at exit
	}
	os.Exit(code)
}

// URL returns the connection URL of a new, migrated, empty database that is
// dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sqlx.Open("postgres", withDB(adminURL, "postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	for try := 0; ; try++ {
		_, err = admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, template))
		// Two clones of one template at the same instant can collide; try again.
		if err == nil || try == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: clone template: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sqlx.Open("postgres", withDB(adminURL, "postgres"))
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)) //nolint:errcheck // best effort
	})
	return withDB(adminURL, name)
}

// EmptyURL returns the URL of a new database with no schema at all (to
// restore a backup into, or to test migrations), dropped when the test ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
	name := "e_" + randomHex(8)
	admin, err := sqlx.Open("postgres", withDB(adminURL, "postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(fmt.Sprintf(`CREATE DATABASE %s TEMPLATE template0`, name)); err != nil {
		t.Fatalf("pgtest: create empty database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sqlx.Open("postgres", withDB(adminURL, "postgres"))
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)) //nolint:errcheck // best effort
	})
	return withDB(adminURL, name)
}

// DB returns a pool on a new, migrated, empty database for this test.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, URL(t), db.Options{MaxConns: 10, HotStatements: 8}) // as served
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		adminURL = u
	} else {
		server, setupErr = pglocal.Start(ctx, pglocal.Options{Fast: true})
		if setupErr != nil {
			return
		}
		adminURL = server.URL("postgres")
	}
	template = "tmpl_" + migrationsHash()
	setupErr = ensureTemplate(ctx)
}

// ensureTemplate creates the migrated template once per migration set; under
// an advisory lock, since test binaries of several packages share a server.
func ensureTemplate(ctx context.Context) error {
	admin, err := sqlx.Open("postgres", withDB(adminURL, "postgres"))
	if err != nil {
		return err
	}
	defer admin.Close()
	conn, err := admin.Connx(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(72531002)`); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(72531002)`) //nolint:errcheck // released on close too
	var exists bool
	if err := conn.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, template); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := template + "_build"
	conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`) //nolint:errcheck // leftovers of a crash
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	d, err := db.Open(ctx, withDB(adminURL, building), db.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	err = db.Migrate(ctx, d.DB, nil)
	d.Close()
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+template); err != nil {
		return fmt.Errorf("publish template: %w", err)
	}
	return nil
}

func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(schema.Migrations, ".", func(path string, d fs.DirEntry, err error) error { //nolint:errcheck // embedded fs
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(schema.Migrations, path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func withDB(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}
