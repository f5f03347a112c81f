// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
)

func proofCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprint(stderr, `Usage: akashi proof <inclusion|consistency> [flags]

Fetches a proof from the log and verifies it against checkpoints signed
with the pinned key:

  inclusion     that an entry (--index, or --leaf-hash) is in a tree
  consistency   that a tree (--second, default the latest) extends an
                earlier one (--first): the log rewrote nothing

Run akashi proof <kind> -h for its flags.
`+exitCodes)
	}
	if len(args) == 0 {
		usage()
		return printedError{fmt.Errorf("proof needs a kind")}
	}
	kind := args[0]
	if kind == "-h" || kind == "-help" || kind == "--help" || kind == "help" {
		usage()
		return nil
	}
	if kind != "inclusion" && kind != "consistency" {
		usage()
		return printedError{fmt.Errorf("unknown proof kind %q", kind)}
	}
	fs := newFlagSet("proof "+kind, "proof "+kind+" [flags]", map[string]string{
		"inclusion":   "Proves that an entry is in the tree of a published checkpoint (the latest by default).",
		"consistency": "Proves that the tree of one published checkpoint extends the tree of an earlier one.",
	}[kind], stderr)
	var cf clientFlags
	cf.register(fs)
	index := fs.Uint64("index", 0, "inclusion: the entry's index")
	leaf := fs.String("leaf-hash", "", "inclusion: the entry's leaf hash (hex or base64) instead of --index")
	size := fs.Uint64("tree-size", 0, "inclusion: the size of a tree with a published checkpoint (default the latest)")
	first := fs.Uint64("first", 0, "consistency: the smaller tree size (a published checkpoint's)")
	second := fs.Uint64("second", 0, "consistency: the larger tree size (default the latest)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("proof %s takes no arguments, got %q", kind, fs.Args())}
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	checkpoint := func(n uint64) (client.Checkpoint, error) {
		if n == 0 {
			return c.LatestCheckpoint(ctx)
		}
		return c.CheckpointAt(ctx, n)
	}
	switch kind {
	case "inclusion":
		cp, err := checkpoint(*size)
		if err != nil {
			return classify(err)
		}
		var lh verify.Hash
		if *leaf != "" {
			b, err := hex.DecodeString(*leaf)
			if err != nil {
				b, err = base64.StdEncoding.DecodeString(*leaf)
			}
			if err != nil || len(b) != len(lh) {
				return usageError{fmt.Sprintf("--leaf-hash: %q is not a 32-byte hash in hex or base64", *leaf)}
			}
			lh = verify.Hash(b)
			resp, err := c.Ledger().GetInclusionProof(ctx, &akashiv1.GetInclusionProofRequest{LeafHash: b, TreeSize: cp.Size})
			if err != nil {
				return classify(fmt.Errorf("%w", err))
			}
			*index = resp.GetIndex()
		} else {
			e, err := c.Ledger().GetEntry(ctx, &akashiv1.GetEntryRequest{Index: *index})
			if err != nil {
				return classify(err)
			}
			lh = verify.LeafHash(e.GetEntry().GetHeaderBytes())
		}
		p, err := c.ProveInclusion(ctx, *index, lh, cp)
		if err != nil {
			return classify(err)
		}
		if cf.json {
			return printJSON(stdout, map[string]any{"verified": true, "index": *index, "leaf_hash": lh, "tree_size": cp.Size, "root_hash": cp.Root, "proof": p, "checkpoint": string(cp.Signed)})
		}
		fmt.Fprintf(stdout, "verified: entry %d (leaf %s) is in the tree of size %d, root %s (%d hashes)\n", *index, lh, cp.Size, cp.Root, len(p))
	case "consistency":
		if *first == 0 {
			return usageError{"--first is required"}
		}
		older, err := c.CheckpointAt(ctx, *first)
		if err != nil {
			return classify(err)
		}
		newer, err := checkpoint(*second)
		if err != nil {
			return classify(err)
		}
		p, err := c.ProveConsistency(ctx, older, newer)
		if err != nil {
			return classify(err)
		}
		if cf.json {
			return printJSON(stdout, map[string]any{"verified": true, "first": older.Size, "second": newer.Size, "first_root": older.Root, "second_root": newer.Root, "proof": p})
		}
		fmt.Fprintf(stdout, "verified: the tree of size %d (root %s) extends the tree of size %d (root %s) (%d hashes)\n", newer.Size, newer.Root, older.Size, older.Root, len(p))
	}
	return nil
}
