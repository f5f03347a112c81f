// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

func agencyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprint(stderr, `Usage: akashi agency <register|rotate|revoke|list> [flags]

Changes who may write to the log. Each change is a governance statement,
signed with the log's governance key (--governance-key) and appended to the
log itself, so the registry's history is public.

  register   let a key write for an agency
  rotate     register an agency's new key and revoke its old one
  revoke     end a key's right to write
  list       list the agencies and their keys (as the server reports them)

Run akashi agency <command> -h for its flags.
`+exitCodes)
	}
	if len(args) == 0 {
		usage()
		return printedError{fmt.Errorf("agency needs a command")}
	}
	switch args[0] {
	case "register", "rotate", "revoke":
		return agencyChange(ctx, args[0], args[1:], stdout, stderr)
	case "list":
		return agencyList(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage()
		return nil
	}
	usage()
	return printedError{fmt.Errorf("unknown agency command %q", args[0])}
}

func agencyChange(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	about := map[string]string{
		"register": `Registers a key for an agency: from the next entry on, statements signed
with it may publish records for the agency. Give the key as the agency's key
file (--key; only its public half is used) or its public key (--public-key,
a PEM file or base64).`,
		"rotate": `Rotates an agency's key: registers the new key (--key or --public-key) and
revokes the old one (--old-key-id), in two governance statements.`,
		"revoke": `Revokes a key: it may sign nothing after this entry (for example because it
was lost or compromised).`,
	}[sub]
	fs := newFlagSet("agency "+sub, "agency "+sub+" [flags]", about, stderr)
	var cf clientFlags
	cf.register(fs)
	govKey := fs.String("governance-key", "", "the governance key's PEM file (required)")
	govState := fs.String("governance-state", "", "keep the governance key's chain state in this file (crash-safe retries)")
	agency := fs.String("agency", "", "the agency's org-id, e.g. JP-JCN-8000020130001")
	name := fs.String("name", "", "the agency's name, e.g. 東京都")
	keyFile := fs.String("key", "", "the agency's key file (PEM private key); only the public key is sent")
	pubKey := fs.String("public-key", "", "the agency's public key: a PEM file, or base64")
	label := fs.String("label", "", "a label for the key, e.g. \"福祉局 1\"")
	keyID := fs.String("key-id", "", "the key to revoke")
	oldKeyID := fs.String("old-key-id", "", "rotate: the key to revoke")
	reason := fs.String("reason", "", "why the key is revoked (default: \"rotated\" for rotate)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("agency %s takes no arguments, got %q", sub, fs.Args())}
	}
	if *govKey == "" {
		return usageError{"--governance-key is required"}
	}
	var actions []*akashiv1.GovernanceAction
	switch sub {
	case "register", "rotate":
		if *agency == "" || *name == "" {
			return usageError{"--agency and --name are required"}
		}
		pub, err := publicKeyOf(*keyFile, *pubKey)
		if err != nil {
			return err
		}
		actions = append(actions, client.RegisterKey(client.Org(*agency, *name), pub, *label))
		if sub == "rotate" {
			if *oldKeyID == "" {
				return usageError{"--old-key-id is required"}
			}
			r := *reason
			if r == "" {
				r = "rotated"
			}
			actions = append(actions, client.RevokeKey(*oldKeyID, r))
		}
	case "revoke":
		if *keyID == "" {
			return usageError{"--key-id is required"}
		}
		actions = append(actions, client.RevokeKey(*keyID, *reason))
	}
	for _, a := range actions {
		if err := record.ValidateGovernance(a); err != nil {
			return classify(err)
		}
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	gov, err := client.OpenSigner(ctx, c, *govKey, client.SignerOptions{StateFile: *govState})
	if err != nil {
		return classify(fmt.Errorf("--governance-key: %w", err))
	}
	var out []map[string]any
	for _, a := range actions {
		rc, err := gov.Govern(ctx, a)
		if err != nil {
			return classify(err)
		}
		what := ""
		switch x := a.GetAction().(type) {
		case *akashiv1.GovernanceAction_RegisterKey:
			what = fmt.Sprintf("registered key %s for %s (%s)", record.KeyID(x.RegisterKey.GetPublicKey()), x.RegisterKey.GetAgency().GetId(), x.RegisterKey.GetAgency().GetName())
		case *akashiv1.GovernanceAction_RevokeKey:
			what = fmt.Sprintf("revoked key %s", x.RevokeKey.GetKeyId())
		}
		out = append(out, map[string]any{"action": what, "index": rc.Index, "tree_size": rc.TreeSize(), "duplicate": rc.Duplicate})
		if !cf.json {
			fmt.Fprintf(stdout, "%s at entry %d (receipt verified against the checkpoint of size %d)\n", what, rc.Index, rc.TreeSize())
		}
	}
	if cf.json {
		return printJSON(stdout, out)
	}
	return nil
}

// publicKeyOf reads a public key from a private key file or from a PEM
// file or base64 string.
func publicKeyOf(keyFile, pub string) (ed25519.PublicKey, error) {
	switch {
	case keyFile != "" && pub != "":
		return nil, usageError{"give --key or --public-key, not both"}
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, err
		}
		priv, err := record.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w", keyFile, err)
		}
		return priv.Public().(ed25519.PublicKey), nil
	case pub != "":
		if b, err := os.ReadFile(pub); err == nil {
			k, err := record.ParsePublicKey(b)
			if err != nil {
				return nil, fmt.Errorf("--public-key %s: %w", pub, err)
			}
			return k, nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pub))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, usageError{fmt.Sprintf("--public-key: %q is neither a PEM file nor a base64 Ed25519 public key", pub)}
		}
		return ed25519.PublicKey(b), nil
	}
	return nil, usageError{"--key or --public-key is required"}
}

func agencyList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("agency list", "agency list [flags]", `
Lists the registered agencies and their keys, as the server reports them
(akashi audit replays the registry from the log and checks it).`, stderr)
	var cf clientFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := cf.dial(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.Registry().ListAgencies(ctx, &akashiv1.ListAgenciesRequest{})
	if err != nil {
		return classify(err)
	}
	if cf.json {
		_, err := fmt.Fprintln(stdout, string(protoJSON(resp)))
		return err
	}
	fmt.Fprintf(stdout, "governance key %s; %d agencies at tree size %d\n", resp.GetGovernance().GetKeyId(), len(resp.GetAgencies()), resp.GetTreeSize())
	for _, a := range resp.GetAgencies() {
		fmt.Fprintf(stdout, "%s  %s\n", a.GetId(), a.GetName())
		for _, k := range a.GetKeys() {
			state := fmt.Sprintf("since entry %d", k.GetRegisteredAt())
			if k.GetRevoked() {
				state += fmt.Sprintf(", revoked at entry %d (%s)", k.GetRevokedAt(), k.GetRevocationReason())
			}
			fmt.Fprintf(stdout, "  key %s %q %s\n", k.GetKeyId(), k.GetLabel(), state)
		}
	}
	return nil
}
