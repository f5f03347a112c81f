// SPDX-License-Identifier: Apache-2.0

package query

import (
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// FuzzParseManifest: an export manifest is untrusted bytes handed to a
// verifier. Parsing and verifying it against any leaves never panics, and
// never accepts a checkpoint that the log's key did not sign.
func FuzzParseManifest(f *testing.F) {
	_, vkey, err := note.GenerateKey(rand.Reader, "fuzz.example/log")
	if err != nil {
		f.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{}`), uint8(0))
	f.Add([]byte(`{"origin":"fuzz.example/log","checkpoint":"fuzz.example/log\n2\nAAAA\n\n— x AAAA\n","index_from":0,"index_to":2,"left":[],"right":["AAAA"]}`), uint8(2))
	f.Add([]byte(`{"index_from":5,"index_to":1}`), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, n uint8) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		leaves := make([]verify.Hash, n)
		if _, err := VerifyExportManifest(m, leaves, v); err == nil {
			t.Fatalf("a manifest with no valid signature verified: %q", b)
		}
	})
}
