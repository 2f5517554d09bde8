package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
	"github.com/aftercare/aftercare/internal/staff"
)

// runStaff runs `aftercare staff args...` through run with env.
func runStaff(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"aftercare", "staff"}, args...), envOf(env), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestStaffCommandsHelpAndUsage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr error
		want    string
	}{
		{"staff alone prints its usage", nil, errUsage, "aftercare staff create --email E"},
		{"staff --help prints its usage", []string{"--help"}, nil, "aftercare staff disable --email E"},
		{"an unknown subcommand is a usage error", []string{"promote"}, errUsage, `unknown staff command "promote"`},
		{"create --help lists its flags", []string{"create", "--help"}, nil, "-magic-link-only"},
		{"list --help explains list", []string{"list", "--help"}, nil, "show every staff account"},
		{"disable --help lists its flags", []string{"disable", "--help"}, nil, "-email"},
		{"create without a role is a usage error", []string{"create", "--email", "a@example.com", "--name", "A"}, errUsage, "--email, --name and --role are required"},
		{"disable without an address is a usage error", []string{"disable"}, errUsage, "--email is required"},
		{"create without a database names the variable", []string{"create", "--email", "a@example.com", "--name", "A", "--role", "admin", "--magic-link-only"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runStaff(t, nil, tc.args...)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "AFTERCARE_DATABASE_URL: is required") {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) && !(err == nil && tc.wantErr == nil) {
				t.Fatalf("error %v, want %v\n%s", err, tc.wantErr, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
	out, _ := runStaff(t, nil, "--help")
	if usage, _ := runStaff(t, nil); !strings.Contains(usage, "Usage:") || !strings.Contains(out, "Usage:") {
		t.Fatal("no usage")
	}
	var top bytes.Buffer
	run(context.Background(), []string{"aftercare", "help"}, envOf(nil), &top, &top) //nolint:errcheck
	if !strings.Contains(top.String(), "staff ") {
		t.Fatalf("the main usage does not list staff:\n%s", top.String())
	}
}

func TestStaffCreateListAndDisable(t *testing.T) {
	env := map[string]string{"AFTERCARE_DATABASE_URL": pgtest.URL(t), "AFTERCARE_STAFF_PASSWORD": "a long password 1", "AFTERCARE_BASE_URL": "https://care.example/"}

	out, err := runStaff(t, env, "create", "--email", "Ada@Example.com", "--name", "Ada Lovelace", "--role", "admin")
	if err != nil || !strings.Contains(out, "Created admin account 1 for Ada Lovelace <ada@example.com>.") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if strings.Contains(out, "a long password 1") {
		t.Fatal("the password was printed")
	}

	t.Run("refuses a taken address and a short password, naming the flag", func(t *testing.T) {
		_, err := runStaff(t, env, "create", "--email", "ada@example.com", "--name", "Ada Two", "--role", "support")
		if err == nil || !strings.Contains(err.Error(), "--email: already belongs to a staff account") {
			t.Fatalf("error %v", err)
		}
		short := map[string]string{"AFTERCARE_DATABASE_URL": env["AFTERCARE_DATABASE_URL"], "AFTERCARE_STAFF_PASSWORD": "too short"}
		_, err = runStaff(t, short, "create", "--email", "bob@example.com", "--name", "Bob", "--role", "support")
		if err == nil || !strings.Contains(err.Error(), "--password: must be at least 12 characters") {
			t.Fatalf("error %v", err)
		}
		_, err = runStaff(t, env, "create", "--email", "bob@example.com", "--name", "Bob", "--role", "owner")
		if err == nil || !strings.Contains(err.Error(), "--role: must be support or admin") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("a link-only account gets a first sign-in link", func(t *testing.T) {
		noPassword := map[string]string{"AFTERCARE_DATABASE_URL": env["AFTERCARE_DATABASE_URL"], "AFTERCARE_BASE_URL": "https://care.example/"}
		out, err := runStaff(t, noPassword, "create", "--email", "cy@example.com", "--name", "Cy", "--role", "support", "--magic-link-only")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`Sign-in link \(works once, until .+\):\nhttps://care\.example/admin/m/[A-Za-z0-9_-]{43}\n`).MatchString(out) {
			t.Fatalf("no link:\n%s", out)
		}
	})

	out, err = runStaff(t, env, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EMAIL", "ada@example.com", "Ada Lovelace", "admin", "password or link", "cy@example.com", "support", "never"} {
		if !strings.Contains(out, want) {
			t.Fatalf("list lacks %q:\n%s", want, out)
		}
	}

	t.Run("disable stops an account once", func(t *testing.T) {
		out, err := runStaff(t, env, "disable", "--email", "CY@example.com")
		if err != nil || !strings.Contains(out, "Disabled cy@example.com") {
			t.Fatalf("disable: %v\n%s", err, out)
		}
		out, err = runStaff(t, env, "disable", "--email", "cy@example.com")
		if err != nil || !strings.Contains(out, "already disabled") {
			t.Fatalf("again: %v\n%s", err, out)
		}
		out, _ = runStaff(t, env, "list")
		if !regexp.MustCompile(`cy@example\.com .*disabled \d{4}-\d\d-\d\d`).MatchString(out) {
			t.Fatalf("list:\n%s", out)
		}
	})
	t.Run("disable refuses an unknown address and the last admin", func(t *testing.T) {
		if _, err := runStaff(t, env, "disable", "--email", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "There is no such staff account") {
			t.Fatalf("error %v", err)
		}
		if _, err := runStaff(t, env, "disable", "--email", "ada@example.com"); err == nil || !strings.Contains(err.Error(), "last active admin") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestStaffCreateReadsThePasswordFromStdin(t *testing.T) {
	dbURL := pgtest.URL(t)
	env := envOf(map[string]string{"AFTERCARE_DATABASE_URL": dbURL})
	var out, errOut bytes.Buffer
	args := []string{"create", "--email", "dee@example.com", "--name", "Dee", "--role", "support"}
	if err := cmdStaff(context.Background(), args, env, strings.NewReader("piped password 1\n"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "Password (at least 12 characters): ") || !strings.Contains(out.String(), "Created support account") {
		t.Fatalf("output:\n%s\n%s", out.String(), errOut.String())
	}
	pool, err := db.Open(context.Background(), dbURL, db.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := staff.NewAccounts(pool).Authenticate(context.Background(), "dee@example.com", "piped password 1"); err != nil {
		t.Fatalf("the piped password does not sign in: %v", err)
	}
	t.Run("and refuses an empty one", func(t *testing.T) {
		args := []string{"create", "--email", "eli@example.com", "--name", "Eli", "--role", "support"}
		err := cmdStaff(context.Background(), args, env, strings.NewReader(""), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "no password") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDevMakesOneDemoAdminAndADayLongLink(t *testing.T) {
	pool, err := db.Open(context.Background(), pgtest.URL(t), db.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for range 2 { // dev runs again on the same database
		link, err := devStaffLink(context.Background(), pool, "http://localhost:8080")
		if err != nil || !regexp.MustCompile(`^http://localhost:8080/admin/m/[A-Za-z0-9_-]{43}$`).MatchString(link) {
			t.Fatalf("link %q, err %v", link, err)
		}
	}
	accounts, err := staff.NewAccounts(pool).List(context.Background())
	if err != nil || len(accounts) != 1 || accounts[0].Email != devStaffEmail || accounts[0].Role != staff.RoleAdmin {
		t.Fatalf("accounts %+v, err %v", accounts, err)
	}
	var hours float64
	if err := pool.Get(&hours, `SELECT extract(epoch FROM max(expires_at) - now()) / 3600 FROM staff_login_tokens`); err != nil || hours < 23.9 || hours > 24 {
		t.Fatalf("the link lasts %.2f hours (err %v), want 24", hours, err)
	}
}
