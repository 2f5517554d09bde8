// Command aftercare is the whole of Aftercare in one binary: the web server
// with its background workers, migrations, a development mode with a private
// database, and account commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "aftercare:", err)
		os.Exit(exitCode(err))
	}
}

const usage = `Aftercare: post-purchase portal and referral service.

Usage:
  aftercare <command> [flags]

Commands:
  serve           run the web server and background workers
  migrate         apply database migrations and exit
  dev             run everything locally: private PostgreSQL, demo data, dev mailbox
  apikey create   create an API key for the store's JSON API
  staff           create, list or disable staff accounts for /admin
  import          back-fill orders or shipments from a CSV file (import orders|shipments FILE.csv)
  healthcheck     exit 0 when the server on AFTERCARE_ADDR answers /healthz (for containers)

Run 'aftercare <command> --help' for the flags of a command.
Configuration comes from environment variables; see README.md.
`

// run is main without the process: testable, with every input passed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "dev":
		return cmdDev(ctx, rest, getenv, stdout, stderr)
	case "apikey":
		return cmdAPIKey(ctx, rest, getenv, stdout, stderr)
	case "staff":
		return cmdStaff(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, getenv, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return errUsage
}
