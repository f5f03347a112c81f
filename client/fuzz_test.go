// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/client"
)

// FuzzParseReceipt: a saved receipt is untrusted bytes (a file anyone may
// hand an auditor). Parsing and verifying it never panics, and a receipt
// that verifies has a statement to show.
func FuzzParseReceipt(f *testing.F) {
	_, vkey, err := note.GenerateKey(rand.Reader, "fuzz.example/log")
	if err != nil {
		f.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"origin":"fuzz.example/log","index":3,"checkpoint":"fuzz.example/log\n4\nAAAA\n\n— x AAAA\n","inclusion_proof":["AAAA"]}`))
	f.Add([]byte(`{"index":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := client.ParseReceipt(b)
		if err != nil {
			return
		}
		if r.Verify(v) == nil {
			if _, _, err := r.Statement(); err != nil {
				t.Fatalf("a receipt that verifies has no statement: %v", err)
			}
		}
	})
}
