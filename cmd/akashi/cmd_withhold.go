// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/query"
	"github.com/akashi-ledger/akashi/record"
)

func withholdCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("withhold", "withhold --reason REASON [flags] INDEX", `
Withholds the payload of one entry: personal data published by mistake, or
a court order. The entry's header, its place in the chain and the tree,
and every proof and checkpoint stay as they are; the payload's bytes are
no longer served, and the entry says why (the reason is public). The
search index, which holds terms and amounts taken from the payload, is
dropped, and the next akashi serve rebuilds it without them.

Run it on the server's data folder while the server is stopped. The old
bytes are never served again, but they stay on disk, in Badger's value
log, until its garbage collection rewrites that file, which it does once
enough of the file is stale.`, stderr)
	dataDir := flags.String("data", defaultDataDir, "the server's data folder")
	reason := flags.String("reason", "", "why the payload is withheld, published with the entry (required)")
	var cf clientFlags
	cf.registerOutput(flags)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return usageError{fmt.Sprintf("withhold takes one entry index, got %q", flags.Args())}
	}
	index, err := strconv.ParseUint(flags.Arg(0), 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("entry index %q: want a number", flags.Arg(0))}
	}
	if *reason == "" {
		return usageError{"--reason is required: it is published with the entry"}
	}
	keyPath := filepath.Join(*dataDir, "log.key")
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no log in %s (%s is missing)", *dataDir, keyPath)
	}
	key, _, err := loadOrCreateLogKey(keyPath, "")
	if err != nil {
		return err
	}
	l, err := ledger.Open(ctx, filepath.Join(*dataDir, "ledger"), ledger.Options{
		Origin: key.signer.Name(), Signer: key.signer, Verifier: key.verifier,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("%w (is akashi serve still running on %s?)", err, *dataDir)
	}
	err = withhold(ctx, l, index, *reason)
	if err == nil {
		err = query.DropIndex(ctx, l)
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, map[string]any{"index": index, "withheld_reason": *reason, "search_index": "dropped"})
	}
	fmt.Fprintf(stdout, "Entry %d: payload withheld (%q). The search index was dropped; akashi serve rebuilds it at its next start.\n", index, *reason)
	return nil
}

// withhold withholds the payload of entry index, unless it is a
// governance statement: the registry of who may write is replayed from
// those, by every auditor, so they stay.
func withhold(ctx context.Context, l *ledger.Log, index uint64, reason string) error {
	e, err := l.Entry(ctx, index)
	if err != nil {
		return err
	}
	if e.Withheld != "" {
		return fmt.Errorf("entry %d is already withheld (%q)", index, e.Withheld)
	}
	if ss, err := record.DecodeSignedStatement(e.Payload); err == nil {
		if st, err := record.DecodeStatement(ss.GetStatement()); err == nil && st.GetGovernance() != nil {
			return fmt.Errorf("entry %d is a governance statement (who may write, from which entry on); auditors replay the registry from it, so it cannot be withheld", index)
		}
	}
	return l.Withhold(ctx, index, reason)
}
