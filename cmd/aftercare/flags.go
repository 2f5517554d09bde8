package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errUsage means the command line was wrong and usage has been printed.
var errUsage = errors.New("usage")

// errHelp means --help was asked for and printed.
var errHelp = errors.New("help")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// parseFlags parses args with fs, printing help to stdout for --help and
// errors with usage to stderr.
func parseFlags(fs *flag.FlagSet, args []string, summary string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, summary)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n\n%s\n", err, summary)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n\n%s\n", fs.Arg(0), summary)
		return errUsage
	}
	return nil
}
