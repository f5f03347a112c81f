// SPDX-License-Identifier: Apache-2.0

package client

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
)

// Receipt is the log's acknowledgement of a statement, verified: the
// entry's index and header, its leaf and chain hashes, the signed
// checkpoint of a tree that includes it and the inclusion proof. It is
// also the format of a saved receipt (JSON, see [ParseReceipt]), which
// [Receipt.Verify] checks offline with the log's verifier key alone.
type Receipt struct {
	// Origin is the log's origin.
	Origin string `json:"origin"`
	// Index is the entry's index.
	Index uint64 `json:"index"`
	// Header is the entry's encoded header, the Merkle leaf.
	Header []byte `json:"header"`
	// LeafHash is SHA-256(0x00 || Header).
	LeafHash verify.Hash `json:"leaf_hash"`
	// ChainHash is the chain hash after this entry.
	ChainHash verify.Hash `json:"chain_hash"`
	// Checkpoint is the signed checkpoint the proof leads to.
	Checkpoint string `json:"checkpoint"`
	// Proof is the inclusion proof of the leaf in the checkpoint's tree.
	Proof []verify.Hash `json:"inclusion_proof"`
	// Payload is the entry's payload, the serialized signed statement,
	// when known.
	Payload []byte `json:"payload,omitempty"`
	// SignerKey is the Ed25519 public key that signed the statement, when
	// known: with it the statement's signature is checked too.
	SignerKey ed25519.PublicKey `json:"signer_public_key,omitempty"`
	// Duplicate is true when the statement was in the log already: the
	// receipt is the original entry's.
	Duplicate bool `json:"duplicate,omitempty"`
	// Existing is true when the log already held this record, identical,
	// under another statement of the signer (see [Signer.Append]).
	Existing bool `json:"existing,omitempty"`

	// Filled in by verification.
	checkpoint verify.Checkpoint
	header     verify.Header
}

// TreeSize returns the size of the checkpoint's tree (after Verify).
func (r *Receipt) TreeSize() uint64 { return r.checkpoint.Size }

// Root returns the checkpoint's root hash (after Verify).
func (r *Receipt) Root() verify.Hash { return r.checkpoint.Root }

// ParsedHeader returns the decoded header (after Verify).
func (r *Receipt) ParsedHeader() verify.Header { return r.header }

// Verify checks the receipt with the log's verifier v alone: the header
// decodes and names the index, the leaf and chain hashes follow from it,
// the checkpoint is signed by v for the receipt's origin, and the
// inclusion proof leads from the leaf to the checkpoint's root. When the
// receipt carries its payload, the header must commit to it and it must
// be a signed statement; when it also carries the signer's key, the
// statement's signature must verify under it. Errors wrap ErrVerification.
func (r *Receipt) Verify(v note.Verifier) error {
	return r.verifyWith(func(signed []byte) (verify.Checkpoint, error) {
		return verify.OpenCheckpoint(signed, r.Origin, v)
	})
}

// verifyWith is Verify with a function that opens checkpoints (a cache).
func (r *Receipt) verifyWith(open func(signed []byte) (verify.Checkpoint, error)) error {
	fail := func(err error) error {
		return fmt.Errorf("%w: receipt of entry %d: %w", ErrVerification, r.Index, err)
	}
	h, err := verify.ParseHeader(r.Header)
	if err != nil {
		return fail(err)
	}
	switch {
	case h.Index != r.Index:
		return fail(fmt.Errorf("%w: the header names index %d", verify.ErrMismatch, h.Index))
	case verify.LeafHash(r.Header) != r.LeafHash:
		return fail(fmt.Errorf("%w: leaf hash %v, the header hashes to %v", verify.ErrMismatch, r.LeafHash, verify.LeafHash(r.Header)))
	case verify.ChainHash(h.PrevChain, r.LeafHash) != r.ChainHash:
		return fail(fmt.Errorf("%w: chain hash %v, the header links to %v", verify.ErrMismatch, r.ChainHash, verify.ChainHash(h.PrevChain, r.LeafHash)))
	}
	cp, err := open([]byte(r.Checkpoint))
	if err != nil {
		return fail(err)
	}
	if r.Index >= cp.Size {
		return fail(fmt.Errorf("%w: index %d is beyond the checkpoint's size %d", verify.ErrBadProof, r.Index, cp.Size))
	}
	if err := verify.VerifyInclusion(r.Index, cp.Size, r.LeafHash, r.Proof, cp.Root); err != nil {
		return fail(err)
	}
	if r.Payload != nil {
		if err := verify.CheckPayload(h, r.Payload); err != nil {
			return fail(err)
		}
		ss, err := record.DecodeSignedStatement(r.Payload)
		if err != nil {
			return fail(err)
		}
		if r.SignerKey != nil {
			if err := record.VerifySignature(r.SignerKey, r.Origin, ss); err != nil {
				return fail(err)
			}
		}
	}
	r.checkpoint, r.header = cp, h
	return nil
}

// Statement decodes the receipt's payload.
func (r *Receipt) Statement() (*akashiv1.SignedStatement, *akashiv1.Statement, error) {
	ss, err := record.DecodeSignedStatement(r.Payload)
	if err != nil {
		return nil, nil, err
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	return ss, st, err
}

// Marshal returns the receipt as indented JSON, to save.
func (r *Receipt) Marshal() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// ParseReceipt decodes a saved receipt. It does not verify it: call
// [Receipt.Verify].
func ParseReceipt(b []byte) (*Receipt, error) {
	var r Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: not a saved receipt: %v", verify.ErrMalformed, err)
	}
	return &r, nil
}

// receiptFromProto converts a receipt the server sent, with the payload
// the caller sent and the key it was signed with, and verifies it.
func (c *Client) receiptFromProto(p *akashiv1.Receipt, payload []byte, signer ed25519.PublicKey) (*Receipt, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: the server sent no receipt", ErrVerification)
	}
	r := &Receipt{
		Origin: c.origin, Index: p.GetIndex(), Header: p.GetHeader(), Checkpoint: p.GetCheckpoint(),
		Payload: payload, SignerKey: signer,
	}
	var err error
	if r.LeafHash, err = hash32(p.GetLeafHash()); err != nil {
		return nil, err
	}
	if r.ChainHash, err = hash32(p.GetChainHash()); err != nil {
		return nil, err
	}
	if r.Proof, err = hashes(p.GetInclusionProof()); err != nil {
		return nil, err
	}
	// The signature was made by the caller moments ago: checking the
	// payload digest is enough to tie the receipt to it.
	key := r.SignerKey
	r.SignerKey = nil
	if err := r.verifyWith(c.openCached); err != nil {
		return nil, err
	}
	r.SignerKey = key
	if p.GetTreeSize() != r.checkpoint.Size {
		return nil, fmt.Errorf("%w: receipt of entry %d says tree size %d, its checkpoint %d", ErrVerification, r.Index, p.GetTreeSize(), r.checkpoint.Size)
	}
	return r, nil
}

func hash32(b []byte) (verify.Hash, error) {
	if len(b) != len(verify.Hash{}) {
		return verify.Hash{}, fmt.Errorf("%w: a hash of %d bytes", ErrVerification, len(b))
	}
	return verify.Hash(b), nil
}

// marshalSigned serializes a signed statement as the log stores it.
func marshalSigned(ss *akashiv1.SignedStatement) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(ss)
}
