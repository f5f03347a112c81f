// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/akashi-ledger/akashi/client"
)

func getCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("get", "get [flags] INDEX|RECORD-ID", `
Fetches an entry by its index, or a record by its id, and checks it before
printing it: the header commits to the payload, the statement decodes
strictly and its signature verifies under the key it names, and the entry
is proved included in the latest checkpoint, signed with the pinned key.`, stderr)
	var cf clientFlags
	cf.register(fs)
	publisher := fs.String("publisher", "", "the publisher's org-id, when several published the record id")
	byID := fs.Bool("id", false, "read the argument as a record id even if it is a number")
	receiptOut := fs.String("receipt", "", "save the entry's receipt to this file, for akashi verify")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"get takes one index or record id"}
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	var e *client.Entry
	if i, perr := strconv.ParseUint(fs.Arg(0), 10, 64); perr == nil && !*byID {
		e, err = c.Entry(ctx, i)
	} else {
		e, err = c.Record(ctx, *publisher, fs.Arg(0))
	}
	if err != nil {
		return classify(err)
	}
	if *receiptOut != "" {
		b, err := e.Receipt(c.Origin()).Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*receiptOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	at := e.Header.IntegrationTime().Format(time.RFC3339Nano)
	if cf.json {
		out := map[string]any{
			"index": e.Index, "integrated_at": at, "leaf_hash": e.LeafHash, "chain_hash": e.ChainHash,
			"tree_size": e.Checkpoint.Size, "checkpoint": string(e.Checkpoint.Signed), "withheld": e.Withheld,
		}
		if e.Signed != nil {
			out["key_id"], out["sequence"] = e.Signed.GetKeyId(), e.Statement.GetSequence()
			out["statement"] = protoJSON(e.Statement)
		}
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "entry %d, integrated %s\n", e.Index, at)
	if e.Signed == nil {
		fmt.Fprintf(stdout, "payload withheld: %s\n", e.Withheld)
	} else {
		fmt.Fprintf(stdout, "signed by key %s, its statement %d\n", e.Signed.GetKeyId(), e.Statement.GetSequence())
		if r := e.Statement.GetRecord(); r != nil {
			fmt.Fprintf(stdout, "%s\n", protoText(r))
		} else {
			fmt.Fprintf(stdout, "governance: %s\n", protoText(e.Statement.GetGovernance()))
		}
	}
	fmt.Fprintf(stdout, "verified: signature, payload digest, and inclusion in the tree of size %d (root %s)\n", e.Checkpoint.Size, e.Checkpoint.Root)
	return nil
}
