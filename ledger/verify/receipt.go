// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// Receipt is the log's acknowledgement of one append: everything needed to
// check, with the log's public key alone, that the payload is in the log at
// Index, committed to by a signed checkpoint.
type Receipt struct {
	// Index is the entry's position in the log.
	Index uint64
	// Header is the encoded entry header.
	Header []byte
	// LeafHash is LeafHash(Header).
	LeafHash Hash
	// ChainHash is chain[Index], ChainHash(header.PrevChain, LeafHash).
	ChainHash Hash
	// Checkpoint is the signed checkpoint of the batch the entry was committed in.
	Checkpoint []byte
	// Proof is the inclusion proof of the entry in the checkpoint's tree.
	Proof []Hash
}

// VerifyReceipt checks a receipt: the header decodes and names the receipt's
// index, the leaf and chain hashes follow from it, the checkpoint is signed
// by v for origin, and the inclusion proof leads from the leaf to the
// checkpoint's root. It returns the verified checkpoint and header.
func VerifyReceipt(r *Receipt, origin string, v note.Verifier) (Checkpoint, Header, error) {
	h, err := ParseHeader(r.Header)
	if err != nil {
		return Checkpoint{}, Header{}, err
	}
	if h.Index != r.Index {
		return Checkpoint{}, Header{}, fmt.Errorf("%w: receipt for index %d carries the header of index %d", ErrMismatch, r.Index, h.Index)
	}
	if leaf := LeafHash(r.Header); leaf != r.LeafHash {
		return Checkpoint{}, Header{}, fmt.Errorf("%w: receipt leaf hash %v, header hashes to %v", ErrMismatch, r.LeafHash, leaf)
	}
	if c := ChainHash(h.PrevChain, r.LeafHash); c != r.ChainHash {
		return Checkpoint{}, Header{}, fmt.Errorf("%w: receipt chain hash %v, header links to %v", ErrMismatch, r.ChainHash, c)
	}
	cp, err := OpenCheckpoint(r.Checkpoint, origin, v)
	if err != nil {
		return Checkpoint{}, Header{}, err
	}
	if r.Index >= cp.Size {
		return Checkpoint{}, Header{}, fmt.Errorf("%w: receipt index %d is beyond its checkpoint's size %d", ErrBadProof, r.Index, cp.Size)
	}
	if err := VerifyInclusion(r.Index, cp.Size, r.LeafHash, r.Proof, cp.Root); err != nil {
		return Checkpoint{}, Header{}, err
	}
	return cp, h, nil
}

// CheckPayload reports whether payload is the one the receipt's header
// commits to.
func (r *Receipt) CheckPayload(payload []byte) error {
	h, err := ParseHeader(r.Header)
	if err != nil {
		return err
	}
	return CheckPayload(h, payload)
}

// CheckPayload reports whether payload has the digest h commits to.
func CheckPayload(h Header, payload []byte) error {
	if d := PayloadDigest(payload); d != h.PayloadDigest {
		return &EntryError{Index: h.Index, Err: fmt.Errorf("%w: payload digest %v, header commits to %v", ErrMismatch, d, h.PayloadDigest)}
	}
	return nil
}

// ChainHead returns the chain head of a log whose last entry has the given
// encoded header: chain[n-1] for a tree of size n = header.Index+1.
func ChainHead(lastHeader []byte) (Hash, error) {
	h, err := ParseHeader(lastHeader)
	if err != nil {
		return Hash{}, err
	}
	return ChainHash(h.PrevChain, LeafHash(lastHeader)), nil
}
