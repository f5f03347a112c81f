// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/client"
)

func verifyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "verify --log-key KEY [flags] FILE", `
Verifies, offline and with the log's verifier key alone (--log-key, which is
required here):

  a saved receipt (from akashi append --receipt or get --receipt): the
    checkpoint's signature, the inclusion proof, the header, leaf and chain
    hashes, and when the receipt carries them, the payload digest and the
    signer's signature;
  an exported bundle (from akashi export): the checkpoint's signature and
    the whole log it commits to, as akashi audit checks it.`, stderr)
	var cf clientFlags
	cf.registerKey(fs)
	cf.registerOutput(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"verify takes one file"}
	}
	key, err := cf.verifierKey()
	if err != nil {
		return err
	}
	if key == "" {
		return usageError{"--log-key is required: offline, the log's key is the only thing to trust"}
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return usageError{fmt.Sprintf("--log-key: %v", err)}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	first, err := br.Peek(min(br.Size(), 4096))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return err
	}
	if line, _, _ := bytes.Cut(first, []byte("\n")); bytes.Contains(line, []byte(`"tree_size"`)) && !bytes.Contains(first, []byte(`"inclusion_proof"`)) {
		rep, err := client.VerifyBundle(br, key)
		if rep == nil {
			return classify(err)
		}
		if cf.json {
			out := map[string]any{"ok": err == nil, "kind": "bundle", "report": rep}
			if err != nil {
				out["error"] = err.Error()
			}
			printJSON(stdout, out)
		} else {
			for _, fl := range rep.Failures {
				fmt.Fprintf(stdout, "FAILED entry %d: %v\n", fl.Index, fl.Err)
			}
			if err == nil {
				fmt.Fprintf(stdout, "verified: the bundle holds the %d entries of %s that its checkpoint commits to (root %s); %d signatures, %d agencies\n",
					rep.To, rep.Origin, rep.Root, rep.Signatures, rep.Agencies)
			}
		}
		return classify(err)
	}
	b, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	r, err := client.ParseReceipt(b)
	if err != nil {
		return codedError{exitVerify, err}
	}
	if r.Origin != v.Name() {
		return codedError{exitVerify, fmt.Errorf("%w: the receipt is for log %q, the key for %q", client.ErrVerification, r.Origin, v.Name())}
	}
	if err := r.Verify(v); err != nil {
		return classify(err)
	}
	checked := []string{"checkpoint signature", "inclusion proof", "header, leaf and chain hashes"}
	if r.Payload != nil {
		checked = append(checked, "payload digest")
	}
	if r.SignerKey != nil {
		checked = append(checked, "signer's signature")
	}
	if cf.json {
		return printJSON(stdout, map[string]any{"ok": true, "kind": "receipt", "index": r.Index, "tree_size": r.TreeSize(), "root_hash": r.Root(), "checked": checked})
	}
	fmt.Fprintf(stdout, "verified: entry %d is in the tree of size %d of %s (root %s)\n  checked: %s\n", r.Index, r.TreeSize(), r.Origin, r.Root(), strings.Join(checked, ", "))
	return nil
}
