package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/config"
	"github.com/aftercare/aftercare/internal/csvimport"
)

const importUsage = `aftercare import orders|shipments FILE.csv [--dry-run] [--notify] [--source NAME]:
back-fill historical orders, or their shipments, from a CSV file (columns: see README.md or
'go doc ./internal/csvimport'). Importing the same file again changes nothing. No email is sent
unless --notify. Needs the same configuration as serve.`

// cmdImport back-fills orders or shipments from a CSV file, with a
// progress bar on a terminal and a summary of what was imported, unchanged
// and failed (with line numbers). Any failed row makes it exit non-zero.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "orders" && args[0] != "shipments") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, importUsage)
			return nil
		}
		fmt.Fprintln(stderr, importUsage)
		return errUsage
	}
	kind := args[0]
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "check every row and say what would change; write nothing")
	notify := fs.Bool("notify", false, "send the emails a live order or parcel would (for the last 72 hours only)")
	source := fs.String("source", csvimport.DefaultSource, "the orders' source, e.g. shopify to back-fill what its webhooks will update")
	path, flags := splitPath(args[1:])
	if err := parseFlags(fs, flags, importUsage, stdout, stderr); err != nil {
		return helpIsFine(err)
	}
	if path == "" {
		fmt.Fprintln(stderr, "the CSV file to import is missing\n\n"+importUsage)
		return errUsage
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, err := config.Load(getenv, false)
	if err != nil {
		return err
	}
	// The whole app is wired so that features react to the imported
	// orders (marked historic); its server and workers do not start here.
	app, err := buildApp(ctx, cfg, newLogger(cfg, stderr), appOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	svc := app.Commerce
	if !*notify {
		svc = commerce.NewService(app.DB, nil).WithEvents(app.Events)
	}
	bar := newProgressBar(stdout, kind)
	opts := csvimport.Options{Source: *source, DryRun: *dryRun, Notify: *notify, Progress: bar.update}
	im := csvimport.New(svc)
	var s csvimport.Summary
	if kind == "orders" {
		s, err = im.Orders(ctx, f, opts)
	} else {
		s, err = im.Shipments(ctx, f, opts)
	}
	bar.finish()
	if err != nil {
		return fmt.Errorf("import %s from %s: %w", kind, path, err)
	}
	printSummary(stdout, s)
	if s.Failed > 0 {
		return fmt.Errorf("%d of %d %s could not be imported", s.Failed, s.Total, kind)
	}
	return nil
}

// splitPath takes the file out of the arguments, wherever it stands among
// the flags.
func splitPath(args []string) (path string, flags []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
			if (a == "-source" || a == "--source") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		case path == "":
			path = a
		default:
			flags = append(flags, a) // parseFlags reports it as unexpected
		}
	}
	return path, flags
}

func printSummary(w io.Writer, s csvimport.Summary) {
	verb := "imported"
	if s.DryRun {
		verb = "would be imported"
		fmt.Fprintln(w, "Dry run: nothing was written.")
	}
	fmt.Fprintf(w, "%d %s in %d rows: %d %s, %d unchanged, %d failed.\n", s.Total, s.Kind, s.Rows, s.Imported, verb, s.Unchanged, s.Failed)
	for _, f := range s.Failures {
		ref := ""
		if f.Ref != "" {
			ref = " (" + f.Ref + ")"
		}
		fmt.Fprintf(w, "  line %d%s: %s\n", f.Line, ref, f.Reason)
	}
}

// progressBar draws "orders [=====>    ] 120/400" on a terminal, and
// nothing when the output is a file or a pipe.
type progressBar struct {
	w     io.Writer
	label string
	drawn bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return &progressBar{}
	}
	return &progressBar{w: w, label: label}
}

func (p *progressBar) update(done, total int) {
	if p.w == nil || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d", p.label, bar, done, total)
	p.drawn = true
}

func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
