// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

func logCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("log", "log [flags]", `
Shows the log's identity — its origin and verifier key — and its latest
checkpoint, whose signature is verified with the pinned key (--log-key).
Pin the key printed here in every other command.`, stderr)
	var cf clientFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("log takes no arguments, got %q", fs.Args())}
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.Info(ctx)
	if err != nil {
		return classify(err)
	}
	cp := info.Checkpoint
	if cf.json {
		return printJSON(stdout, map[string]any{
			"origin": info.Origin, "verifier_key": info.VerifierKey, "size": cp.Size, "root_hash": cp.Root,
			"checkpoint": string(cp.Signed), "governance_key_id": info.GovernanceKeyID, "pinned": cf.logKey != "",
		})
	}
	fmt.Fprintf(stdout, "log:            %s\nverifier key:   %s\nsize:           %d entries\nroot hash:      %s\ngovernance key: %s\n",
		info.Origin, info.VerifierKey, cp.Size, cp.Root, info.GovernanceKeyID)
	fmt.Fprintf(stdout, "checkpoint signature verified at %s\n", time.Now().UTC().Format(time.RFC3339))
	return nil
}
