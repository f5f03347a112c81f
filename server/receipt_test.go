// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// TestCheckpointSize: the tree size read from a signed checkpoint's second
// line is the size it was signed with, and the one its parser reads.
func TestCheckpointSize(t *testing.T) {
	const origin = "test.akashi.example/log"
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []uint64{0, 1, 9, 10, 255, 123456789, 1 << 40, 1<<64 - 1} {
		signed, err := verify.SignCheckpoint(verify.Checkpoint{Origin: origin, Size: size}, signer)
		if err != nil {
			t.Fatal(err)
		}
		text, _, _ := bytes.Cut(signed, []byte("\n\n"))
		parsed, err := verify.ParseCheckpoint(append(text, '\n'))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got := checkpointSize(signed); got != size || got != parsed.Size {
			t.Errorf("size %d: checkpointSize gave %d, the parser %d, from %q", size, got, parsed.Size, signed)
		}
	}
}
