package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/audit"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/staff"
)

const staffUsage = `aftercare staff: manage the support staff who work in /admin.

Usage:
  aftercare staff create --email E --name N --role support|admin [--magic-link-only]
  aftercare staff list
  aftercare staff disable --email E

Run 'aftercare staff <command> --help' for its flags. Needs AFTERCARE_DATABASE_URL (or DATABASE_URL).`

// devStaffEmail is the demo admin that `aftercare dev` signs in.
const devStaffEmail = "admin@example.com"

// cmdStaff dispatches the staff subcommands. stdin is where a password is
// asked for when AFTERCARE_STAFF_PASSWORD is not set.
func cmdStaff(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, staffUsage)
		return errUsage
	}
	switch args[0] {
	case "create":
		return cmdStaffCreate(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "list":
		return cmdStaffList(ctx, args[1:], getenv, stdout, stderr)
	case "disable":
		return cmdStaffDisable(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, staffUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown staff command %q\n\n%s\n", args[0], staffUsage)
	return errUsage
}

func cmdStaffCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	const summary = "aftercare staff create --email E --name N --role support|admin: add a staff account.\n" +
		"The password comes from AFTERCARE_STAFF_PASSWORD, or is asked for (at least 12 characters).\n" +
		"With --magic-link-only the account has no password; a sign-in link valid for 24 hours is printed,\n" +
		"and later links are emailed from the sign-in page."
	fs := flag.NewFlagSet("staff create", flag.ContinueOnError)
	email := fs.String("email", "", "the staff member's email address (required)")
	name := fs.String("name", "", "their name as the admin shows it (required)")
	role := fs.String("role", "", "support (works the queues) or admin (also settings and staff) (required)")
	linkOnly := fs.Bool("magic-link-only", false, "no password: sign in by emailed link; print a first link")
	if err := parseFlags(fs, args, summary, stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	if *email == "" || *name == "" || *role == "" {
		fmt.Fprintln(stderr, "--email, --name and --role are required\n\n"+summary)
		return errUsage
	}
	password := ""
	if !*linkOnly {
		password = getenv("AFTERCARE_STAFF_PASSWORD")
		if password == "" {
			var err error
			if password, err = askPassword(ctx, stdin, stderr); err != nil {
				return err
			}
		}
		if password == "" {
			return errors.New("staff create: no password: set AFTERCARE_STAFF_PASSWORD, type it when asked, or use --magic-link-only")
		}
	}
	return withDB(ctx, getenv, 30*time.Second, func(ctx context.Context, pool *sqlx.DB) error {
		acc, err := staff.NewAccounts(pool).Create(ctx, staff.NewAccount{Email: *email, Name: *name, Role: staff.Role(*role), Password: password}, audit.System)
		if err != nil {
			return fieldErrors("staff create", err)
		}
		fmt.Fprintf(stdout, "Created %s account %d for %s <%s>.\n", acc.Role, acc.ID, acc.Name, acc.Email)
		if *linkOnly {
			link, err := staff.NewLinks(pool, baseURLOf(getenv)).Issue(ctx, pool, acc.ID, staff.MaxLinkTTL)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Sign-in link (works once, until %s):\n%s\n", link.ExpiresAt.UTC().Format(time.RFC1123), link.URL)
		}
		return nil
	})
}

func cmdStaffList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("staff list", flag.ContinueOnError)
	if err := parseFlags(fs, args, "aftercare staff list: show every staff account, active ones first.", stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	return withDB(ctx, getenv, 30*time.Second, func(ctx context.Context, pool *sqlx.DB) error {
		accounts, err := staff.NewAccounts(pool).List(ctx)
		if err != nil {
			return err
		}
		if len(accounts) == 0 {
			fmt.Fprintln(stdout, "No staff accounts yet. Add one with: aftercare staff create --email E --name N --role admin")
			return nil
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tEMAIL\tNAME\tROLE\tSIGNS IN WITH\tSTATUS\tLAST SIGN-IN")
		for _, a := range accounts {
			with, status, last := "link", "active", "never"
			if a.HasPassword {
				with = "password or link"
			}
			if !a.Active() {
				status = "disabled " + a.DisabledAt.UTC().Format("2006-01-02")
			}
			if a.LastSignInAt != nil {
				last = a.LastSignInAt.UTC().Format("2006-01-02 15:04 UTC")
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Email, a.Name, a.Role, with, status, last)
		}
		return w.Flush()
	})
}

func cmdStaffDisable(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const summary = "aftercare staff disable --email E: stop an account from signing in and end its sessions.\nThe last active admin cannot be disabled."
	fs := flag.NewFlagSet("staff disable", flag.ContinueOnError)
	email := fs.String("email", "", "the account's email address (required)")
	if err := parseFlags(fs, args, summary, stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	if *email == "" {
		fmt.Fprintln(stderr, "--email is required\n\n"+summary)
		return errUsage
	}
	return withDB(ctx, getenv, 30*time.Second, func(ctx context.Context, pool *sqlx.DB) error {
		accounts := staff.NewAccounts(pool)
		acc, err := accounts.ByEmail(ctx, *email)
		if err != nil {
			return fieldErrors("staff disable", err)
		}
		if !acc.Active() {
			fmt.Fprintf(stdout, "%s was already disabled.\n", acc.Email)
			return nil
		}
		if _, err := accounts.Disable(ctx, acc.ID, audit.System); err != nil {
			return fieldErrors("staff disable", err)
		}
		fmt.Fprintf(stdout, "Disabled %s; their sessions have ended.\n", acc.Email)
		return nil
	})
}

// fieldErrors spells out a domain error for the terminal, one line per field.
func fieldErrors(what string, err error) error {
	fe, ok := fault.As(err)
	if !ok || len(fe.Fields) == 0 {
		return fmt.Errorf("%s: %w", what, err)
	}
	lines := []string{what + ":"}
	for _, f := range fe.Fields {
		lines = append(lines, "  --"+f.Field+": "+f.Message)
	}
	return errors.New(strings.Join(lines, "\n"))
}

func baseURLOf(getenv func(string) string) string {
	if u := strings.TrimRight(strings.TrimSpace(getenv("AFTERCARE_BASE_URL")), "/"); u != "" {
		return u
	}
	return "http://localhost:8080"
}

// askPassword reads a password from in: on a terminal without echo and
// twice (to catch a typo), otherwise one line (for scripts piping it in).
func askPassword(ctx context.Context, in io.Reader, prompt io.Writer) (string, error) {
	r := bufio.NewReader(in)
	restore, terminal := noEcho(ctx, in)
	defer restore()
	fmt.Fprintf(prompt, "Password (at least %d characters): ", staff.MinPasswordLen)
	first, err := readLine(ctx, r)
	if terminal {
		fmt.Fprintln(prompt)
	}
	if err != nil || !terminal || first == "" {
		return first, err
	}
	fmt.Fprint(prompt, "Same password again: ")
	second, err := readLine(ctx, r)
	fmt.Fprintln(prompt)
	if err == nil && second != first {
		err = errors.New("staff create: the two passwords differ")
	}
	if err != nil {
		return "", err
	}
	return first, nil
}

// noEcho turns terminal echo off when in is a terminal, with stty (so no
// extra module is needed), and returns how to turn it back on.
func noEcho(ctx context.Context, in io.Reader) (restore func(), terminal bool) {
	f, ok := in.(*os.File)
	if !ok {
		return func() {}, false
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}, false
	}
	off := exec.CommandContext(ctx, "stty", "-echo")
	off.Stdin = f
	if off.Run() != nil {
		return func() {}, false // not a terminal after all (e.g. /dev/null)
	}
	return func() {
		on := exec.Command("stty", "echo")
		on.Stdin = f
		on.Run() //nolint:errcheck // best effort: nothing else to do
	}, true
}

// readLine reads one line without its line ending; EOF after text is fine.
// It gives up when ctx ends (Ctrl+C), since a read cannot be interrupted.
func readLine(ctx context.Context, r *bufio.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := r.ReadString('\n')
		if errors.Is(err, io.EOF) && line != "" {
			err = nil
		}
		done <- result{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case res := <-done:
		if errors.Is(res.err, io.EOF) {
			return "", nil
		}
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// devStaffLink makes sure the demo admin exists and returns a sign-in link
// for it, valid for a day.
func devStaffLink(ctx context.Context, pool *sqlx.DB, baseURL string) (string, error) {
	accounts := staff.NewAccounts(pool)
	acc, err := accounts.ByEmail(ctx, devStaffEmail)
	if errors.Is(err, staff.ErrNotFound) {
		acc, err = accounts.Create(ctx, staff.NewAccount{Email: devStaffEmail, Name: "Demo Admin", Role: staff.RoleAdmin}, audit.System)
	}
	if err != nil {
		return "", fmt.Errorf("dev staff account: %w", err)
	}
	if !acc.Active() {
		return "", fmt.Errorf("dev staff account %s is disabled", acc.Email)
	}
	link, err := staff.NewLinks(pool, baseURL).Issue(ctx, pool, acc.ID, staff.MaxLinkTTL)
	if err != nil {
		return "", err
	}
	return link.URL, nil
}
