// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/akashi-ledger/akashi/client"
	"github.com/akashi-ledger/akashi/record"
)

// signerFlags are the flags of subcommands that sign with an agency key.
type signerFlags struct {
	key   string
	state string
}

func (f *signerFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&f.key, "key", os.Getenv("AKASHI_KEY"), "the agency's signing key (PEM file from akashi keygen; env AKASHI_KEY)")
	fs.StringVar(&f.state, "signer-state", "", "the key's chain state file, replaced atomically before each statement is sent, for crash-safe retries (default <key>.state; \"none\" keeps it in memory)")
}

func (f *signerFlags) open(ctx context.Context, c *client.Client) (*client.Signer, error) {
	if f.key == "" {
		return nil, usageError{"--key is required"}
	}
	state := f.state
	switch state {
	case "":
		state = f.key + ".state"
	case "none":
		state = ""
	}
	s, err := client.OpenSigner(ctx, c, f.key, client.SignerOptions{StateFile: state})
	if err != nil {
		return nil, classify(fmt.Errorf("--key %s: %w", f.key, err))
	}
	return s, nil
}

func appendCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("append", "append [flags] [FILE|-]", `
Signs a record with the agency's key and appends it to the log. The record
is read from FILE (or standard input) as JSON or YAML in the protobuf JSON
form of akashi.v1.Record (see proto/akashi/v1/record.proto), for example:

  id: tokyo-dec-0001
  process_id: tokyo-dec-0001
  tag: TAG_NEW
  publisher: {id: JP-JCN-8000020130001, name: 東京都}
  recorded_at: "2020-04-07T19:00:00+09:00"
  decision:
    title: 緊急事態措置
    type: DECISION_TYPE_POLICY
    decision_date: "2020-04-07"
    status: DECISION_STATUS_IN_FORCE

It is validated as the server validates it before anything is sent. The
receipt is verified (checkpoint signature, inclusion proof, chain, payload)
before it is printed; --receipt saves it for akashi verify. Appending the
same record again returns its original receipt.`, stderr)
	var cf clientFlags
	cf.register(fs)
	var sf signerFlags
	sf.register(fs)
	receiptOut := fs.String("receipt", "", "save the verified receipt to this file (JSON)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Sprintf("append takes one file, got %q", fs.Args())}
	}
	in := "-"
	if fs.NArg() == 1 {
		in = fs.Arg(0)
	}
	var b []byte
	var err error
	if in == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(in)
	}
	if err != nil {
		return err
	}
	r, err := parseRecord(b)
	if err != nil {
		return codedError{exitRejected, fmt.Errorf("%s: %w", in, err)}
	}
	if err := record.ValidateRecord(r); err != nil {
		return codedError{exitRejected, fmt.Errorf("%s: %w", in, err)}
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := sf.open(ctx, c)
	if err != nil {
		return err
	}
	rc, err := s.Append(ctx, r)
	if err != nil {
		return classify(err)
	}
	if *receiptOut != "" {
		b, err := rc.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*receiptOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if cf.json {
		return printJSON(stdout, map[string]any{
			"index": rc.Index, "record_id": r.GetId(), "publisher": r.GetPublisher().GetId(), "key_id": s.KeyID(),
			"tree_size": rc.TreeSize(), "leaf_hash": rc.LeafHash, "duplicate": rc.Duplicate || rc.Existing,
			"checkpoint": rc.Checkpoint,
		})
	}
	what := "appended"
	if rc.Duplicate || rc.Existing {
		what = "already in the log"
	}
	fmt.Fprintf(stdout, "%s: record %s of %s at entry %d\n  receipt verified: included in the tree of size %d signed by %s\n",
		what, r.GetId(), r.GetPublisher().GetId(), rc.Index, rc.TreeSize(), c.Origin())
	if *receiptOut != "" {
		fmt.Fprintf(stdout, "  receipt saved to %s\n", *receiptOut)
	}
	return nil
}
