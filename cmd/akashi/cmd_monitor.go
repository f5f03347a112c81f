// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/akashi-ledger/akashi/client"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func monitorCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("monitor", "monitor [flags]", `
Watches the log's checkpoints: each new one must be signed with the pinned
key and proved consistent with the last one seen. A checkpoint that goes
backwards, or a tree that does not extend the last one, raises an ALARM
with both signed checkpoints as evidence, and the monitor exits with code 3.
With --compare, the checkpoints of other endpoints of the same log are
compared at every poll, which catches a log showing different histories
to different readers (a split view). With --state, the last checkpoint is
kept across restarts.`, stderr)
	var cf clientFlags
	cf.register(fs)
	interval := fs.Duration("interval", client.DefaultMonitorInterval, "time between polls")
	state := fs.String("state", "", "keep the last checkpoint seen in this file")
	once := fs.Bool("once", false, "poll once and exit")
	var others listFlag
	fs.Var(&others, "compare", "another gRPC endpoint of the same log to compare with (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("monitor takes no arguments, got %q", fs.Args())}
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := client.MonitorOptions{Interval: *interval, StateFile: *state}
	for _, o := range others {
		of := cf
		of.server = o
		if of.logKey == "" {
			of.logKey = c.VerifierKey()
		}
		oc, err := of.dial(ctx, stderr)
		if err != nil {
			return fmt.Errorf("--compare %s: %w", o, err)
		}
		defer oc.Close()
		opts.Others = append(opts.Others, oc)
	}
	opts.OnCheckpoint = func(endpoint string, cp client.Checkpoint) {
		if cf.json {
			printJSON(stdout, map[string]any{"time": time.Now().UTC(), "endpoint": endpoint, "size": cp.Size, "root_hash": cp.Root, "consistent": true})
			return
		}
		fmt.Fprintf(stdout, "%s %s: checkpoint of size %d, root %s: signature and consistency verified\n", time.Now().UTC().Format(time.RFC3339), endpoint, cp.Size, cp.Root)
	}
	m, err := client.NewMonitor(c, opts)
	if err != nil {
		return classify(err)
	}
	report := func(err error) error {
		var a *client.Alarm
		if !errors.As(err, &a) {
			return classify(err)
		}
		if cf.json {
			printJSON(stdout, map[string]any{"alarm": a.Err.Error(), "old_endpoint": a.OldEndpoint, "old_checkpoint": string(a.Old.Signed), "new_endpoint": a.NewEndpoint, "new_checkpoint": string(a.New.Signed)})
		} else {
			fmt.Fprintf(stdout, "ALARM: %v\nevidence, two checkpoints signed with the log's key:\n--- %s\n%s--- %s\n%s", a.Err, a.OldEndpoint, a.Old.Signed, a.NewEndpoint, a.New.Signed)
		}
		return codedError{exitVerify, err}
	}
	if *once {
		_, err := m.Check(ctx)
		if err != nil {
			return report(err)
		}
		return nil
	}
	err = m.Run(ctx, func(err error) { fmt.Fprintf(stderr, "%s: %v\n", time.Now().UTC().Format(time.RFC3339), err) })
	if err != nil {
		return report(err)
	}
	return nil
}
