// SPDX-License-Identifier: Apache-2.0

// Command akashi runs and uses an Akashi transparency ledger.
//
//	akashi serve [flags]     run the server (see akashi serve -h)
//	akashi keygen|log|agency|append|import|get|proof|verify|audit|monitor|export|withhold
//	                         publish to and check a log (package client)
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
	"runtime/debug"
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
		{"keygen", "make an agency's (or governance) signing key", keygenCommand},
		{"log", "show the log's identity and its latest checkpoint, verified", logCommand},
		{"agency", "register, rotate or revoke an agency's key (governance)", agencyCommand},
		{"append", "sign and append a record from a JSON or YAML file", appendCommand},
		{"import", "sign and append records from CSV or JSON Lines, resumably", importCommand},
		{"get", "fetch an entry by index or a record by id, proof verified", getCommand},
		{"proof", "fetch and verify an inclusion or consistency proof", proofCommand},
		{"verify", "verify a saved receipt or an exported log, offline", verifyCommand},
		{"audit", "verify the whole log, resumably", auditCommand},
		{"monitor", "watch the log's checkpoints for rollbacks and forks", monitorCommand},
		{"export", "export the log as NDJSON or CSV with its checkpoint", exportCommand},
		{"withhold", "withhold an entry's payload (server stopped); its proofs stay", withholdCommand},
	}
}

// defaultMemoryLimit is the soft memory limit the Go runtime gets unless
// GOMEMLIMIT says otherwise: the garbage collector works harder as the heap
// nears it, so that the resident set stays bounded under any load (Badger's
// compactions allocate in bursts, and by default the heap may grow to twice
// what is live).
const defaultMemoryLimit = 512 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
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
			var ce codedError
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
			case errors.As(err, &ce):
				fmt.Fprintf(stderr, "akashi %s: %v\n", c.name, err)
				return ce.code
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
