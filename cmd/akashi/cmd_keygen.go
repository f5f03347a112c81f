// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"

	"github.com/akashi-ledger/akashi/record"
)

func keygenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", "keygen [flags]", `
Makes a new Ed25519 signing key for an agency (or for the log's governance)
and writes it to a PEM file (PKCS #8) readable by its owner only. Keep it
secret: whoever holds it writes for the agency once the key is registered
(akashi agency register). Prints the key's id and public key.`, stderr)
	out := fs.String("out", "agency.key", "the private key file to write; an existing file is never overwritten")
	pubOut := fs.String("pub", "", "also write the public key to this PEM file (for the operator who registers it)")
	var cf clientFlags
	cf.registerOutput(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("keygen takes no arguments, got %q", fs.Args())}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pemBytes, err := record.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	if err := writeFileExcl(*out, pemBytes); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if *pubOut != "" {
		pubPEM, err := record.MarshalPublicKey(pub)
		if err != nil {
			return err
		}
		if err := writeFileExcl(*pubOut, pubPEM); err != nil {
			return fmt.Errorf("--pub: %w", err)
		}
		if err := os.Chmod(*pubOut, 0o644); err != nil {
			return err
		}
	}
	id, pub64 := record.KeyID(pub), base64.StdEncoding.EncodeToString(pub)
	if cf.json {
		return printJSON(stdout, map[string]string{"key_id": id, "public_key": pub64, "file": *out})
	}
	fmt.Fprintf(stdout, "Wrote a new signing key to %s (keep it secret).\n  key id:     %s\n  public key: %s\n", *out, id, pub64)
	fmt.Fprintf(stdout, "Register it with: akashi agency register --governance-key <governance.key> --agency <org-id> --name <name> --key %s\n", *out)
	return nil
}
