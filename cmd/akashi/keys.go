// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// logKey is the log's checkpoint key, kept in the data folder as a
// signed-note private key (file mode 0600).
type logKey struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string // the verifier key in signed-note format
}

// loadOrCreateLogKey reads the key file, or creates it named origin if
// there is none. An origin that differs from an existing key's is an error:
// a log's origin never changes.
func loadOrCreateLogKey(path, origin string) (*logKey, bool, error) {
	b, err := os.ReadFile(path)
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		if origin == "" {
			return nil, false, fmt.Errorf("no key at %s: give --origin to create one", path)
		}
		skey, _, err := note.GenerateKey(rand.Reader, origin)
		if err != nil {
			return nil, false, fmt.Errorf("generating the log key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		if err := writeFileExcl(path, []byte(skey+"\n")); err != nil {
			return nil, false, err
		}
		b, created = []byte(skey+"\n"), true
	} else if err != nil {
		return nil, false, fmt.Errorf("reading the log key: %w", err)
	}
	k, err := parseLogKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	if origin != "" && k.signer.Name() != origin {
		return nil, false, fmt.Errorf("%s is the key of log %q, not %q: a log keeps its origin (omit --origin, or use another --data folder)", path, k.signer.Name(), origin)
	}
	return k, created, nil
}

// parseLogKey parses a signed-note Ed25519 private key
// ("PRIVATE+KEY+<name>+<hash>+<base64 key>") and derives its verifier.
func parseLogKey(skey string) (*logKey, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("not a signed-note private key: %w", err)
	}
	// PRIVATE+KEY+<name>+<hash>+<base64>; the base64 may itself hold '+'.
	key64 := skey
	for range 4 {
		_, key64, _ = strings.Cut(key64, "+")
	}
	raw, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("not an Ed25519 signed-note private key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &logKey{signer: signer, verifier: verifier, vkey: vkey}, nil
}
