// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"errors"
	"fmt"

	flog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its size
// and the root hash of the tree of that size.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
}

// FormatCheckpoint returns the text of a checkpoint note, with no extension lines.
func FormatCheckpoint(c Checkpoint) []byte {
	return flog.Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Root[:]}.Marshal()
}

// ParseCheckpoint parses the text of a checkpoint note (not the signatures).
// It rejects extension lines, which Akashi logs never write.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var fc flog.Checkpoint
	rest, err := fc.Unmarshal(text)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w checkpoint: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return Checkpoint{}, fmt.Errorf("%w checkpoint: unexpected extension lines %q", ErrMalformed, rest)
	}
	if len(fc.Hash) != len(Hash{}) {
		return Checkpoint{}, fmt.Errorf("%w checkpoint: root hash has %d bytes, want %d", ErrMalformed, len(fc.Hash), len(Hash{}))
	}
	c := Checkpoint{Origin: fc.Origin, Size: fc.Size}
	copy(c.Root[:], fc.Hash)
	// Only the canonical encoding is accepted, so that two texts never
	// describe the same tree head.
	if got := FormatCheckpoint(c); string(got) != string(text) {
		return Checkpoint{}, fmt.Errorf("%w checkpoint: not in canonical form", ErrMalformed)
	}
	return c, nil
}

// SignCheckpoint formats c and signs it with s, returning the signed note.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	signed, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(c))}, s)
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint: %w", err)
	}
	return signed, nil
}

// OpenCheckpoint verifies a signed checkpoint: it must carry a valid signature
// by v and name origin. Signatures by other keys (witness cosignatures) are
// ignored.
func OpenCheckpoint(signed []byte, origin string, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, fmt.Errorf("%w: checkpoint: %v", ErrBadSignature, err)
		}
		return Checkpoint{}, fmt.Errorf("%w checkpoint note: %v", ErrMalformed, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint origin is %q, want %q", ErrMismatch, c.Origin, origin)
	}
	return c, nil
}
