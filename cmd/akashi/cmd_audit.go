// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/akashi-ledger/akashi/client"
)

func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", "audit [flags]", `
Verifies the whole log, trusting nothing but its key: every entry's header,
index, time and chain link, every payload digest, the strict encoding and
validity of every statement, every signature against the keys the registry
allowed at that index, every signer's sequence, the registry's rules, the
tree against the latest checkpoint, and that checkpoint's consistency with
the one the last audit verified. With --state, a run resumes where the last
one stopped (or was interrupted) and checks only what is new. Every failure
is reported with its entry's index.`, stderr)
	var cf clientFlags
	cf.register(fs)
	state := fs.String("state", "", "keep the audit's state in this file, to resume")
	workers := fs.Int("workers", 0, "goroutines decoding and verifying (default: all cores)")
	prog := progressFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("audit takes no arguments, got %q", fs.Args())}
	}
	bar, err := newProgressBar(*prog, "audit", stderr)
	if err != nil {
		return err
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	// A batch job: trade memory for less garbage collection.
	debug.SetGCPercent(400)
	a := client.NewAuditor(c, client.AuditorOptions{StateFile: *state, Workers: *workers, Progress: func(p client.Progress) {
		extra := ""
		if p.Failures > 0 {
			extra = fmt.Sprintf("%d failures", p.Failures)
		}
		bar.update(p.Done, p.Total, extra, false)
	}})
	rep, err := a.Run(ctx)
	if rep != nil {
		bar.update(rep.To, rep.To, "", true)
	}
	if rep == nil {
		return classify(err)
	}
	if cf.json {
		out := map[string]any{"ok": err == nil, "report": rep, "entries_per_second": rep.Rate()}
		if err != nil {
			out["error"] = err.Error()
		}
		if perr := printJSON(stdout, out); perr != nil {
			return perr
		}
	} else {
		fmt.Fprintf(stdout, "audited %s: entries %d to %d (%d entries in %.1fs, %.0f/s)\n", rep.Origin, rep.From, rep.To, rep.To-rep.From, rep.Elapsed.Seconds(), rep.Rate())
		fmt.Fprintf(stdout, "  %d records, %d governance statements, %d signatures, %d withheld payloads; %d agencies, %d keys\n",
			rep.Records, rep.Governance, rep.Signatures, rep.Withheld, rep.Agencies, rep.Keys)
		if rep.Previous > 0 {
			fmt.Fprintf(stdout, "  the checkpoint extends the one verified before (size %d)\n", rep.Previous)
		}
		for _, f := range rep.Failures {
			fmt.Fprintf(stdout, "  FAILED entry %d: %v\n", f.Index, f.Err)
		}
		if err == nil {
			fmt.Fprintf(stdout, "OK: the log of %d entries matches its signed checkpoint (root %s)\n", rep.To, rep.Root)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted at entry %d; run again to resume", rep.To)
	case len(rep.Failures) > 0:
		return codedError{exitVerify, fmt.Errorf("the log failed the audit: %d failures, the first at entry %d", len(rep.Failures), rep.Failures[0].Index)}
	}
	return classify(err)
}
