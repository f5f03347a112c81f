// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"errors"
	"fmt"
)

// The sentinel errors of this package. Every error it returns wraps one of
// them (or ErrMalformed), so callers decide with errors.Is.
var (
	// ErrBadSignature reports a checkpoint whose signature does not verify
	// under the expected key, or that carries no signature by that key.
	ErrBadSignature = errors.New("bad signature")
	// ErrBadProof reports an inclusion or consistency proof that does not
	// lead to the expected root.
	ErrBadProof = errors.New("bad proof")
	// ErrMismatch reports a value that disagrees with what commits to it:
	// a payload and its digest, a header and its chain link or index, a
	// stored hash and the hash recomputed from the data.
	ErrMismatch = errors.New("mismatch")
)

// EntryError locates a failure at an entry of the log.
type EntryError struct {
	// Index is the first entry found to be wrong.
	Index uint64
	// Err says what is wrong; it wraps one of the package's sentinel errors.
	Err error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %d: %v", e.Index, e.Err) }

func (e *EntryError) Unwrap() error { return e.Err }

// entryErr wraps err as an *EntryError at index i.
func entryErr(i uint64, format string, args ...any) error {
	return &EntryError{Index: i, Err: fmt.Errorf(format, args...)}
}
