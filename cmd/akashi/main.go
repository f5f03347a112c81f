// SPDX-License-Identifier: Apache-2.0

// Command akashi runs and uses an Akashi transparency ledger.
//
//	akashi serve [flags]     run the server (see akashi serve -h)
//
// Every subcommand explains itself with -h.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line is wrong
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the ledger server", serveCommand},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintf(stderr, "Usage: akashi <command> [flags]\n\nCommands:\n")
		for _, c := range commands() {
			fmt.Fprintf(stderr, "  %-10s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(stderr, "\nRun akashi <command> -h for a command's flags.\n")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			var ue usageError
			switch {
			case err == nil:
				return exitOK
			case errors.Is(err, flag.ErrHelp):
				return exitOK
			case errors.As(err, &ue):
				fmt.Fprintf(stderr, "akashi %s: %v\n", c.name, err)
				return exitUsage
			case errors.As(err, new(printedError)):
				return exitUsage
			default:
				fmt.Fprintf(stderr, "akashi %s: %v\n", c.name, err)
				return exitError
			}
		}
	}
	fmt.Fprintf(stderr, "akashi: unknown command %q\n\n", args[0])
	usage()
	return exitUsage
}

// printedError is a command-line error the flag package has already
// printed, with the usage.
type printedError struct{ error }

// parseFlags parses a subcommand's flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return printedError{err}
}
