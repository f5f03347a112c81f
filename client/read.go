// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"crypto/ed25519"
	"fmt"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
)

// Entry is a log entry as checked by the client: its header commits to
// its payload, its statement decodes strictly and its signature verifies
// under the key whose id it names, and it is proved included in a
// checkpoint signed by the log's key.
type Entry struct {
	Index       uint64
	HeaderBytes []byte
	Header      verify.Header
	LeafHash    verify.Hash
	// ChainHash is the chain hash after this entry.
	ChainHash verify.Hash
	// Payload is the signed statement's bytes; nil when withheld.
	Payload []byte
	// Withheld is why the payload was withheld, if it was.
	Withheld string
	// Signed and Statement are the payload decoded (nil when withheld).
	Signed    *akashiv1.SignedStatement
	Statement *akashiv1.Statement
	// SignerKey is the public key the statement's signature was verified
	// with: the key whose id the statement names, as the registry lists it.
	SignerKey ed25519.PublicKey
	// Checkpoint is the checkpoint the entry was proved in, and Proof the
	// inclusion proof.
	Checkpoint Checkpoint
	Proof      []verify.Hash
}

// Receipt returns the entry's receipt, to save and verify offline.
func (e *Entry) Receipt(origin string) *Receipt {
	return &Receipt{
		Origin: origin, Index: e.Index, Header: e.HeaderBytes, LeafHash: e.LeafHash, ChainHash: e.ChainHash,
		Checkpoint: string(e.Checkpoint.Signed), Proof: e.Proof, Payload: e.Payload, SignerKey: e.SignerKey,
		checkpoint: e.Checkpoint.Checkpoint, header: e.Header,
	}
}

// checkEntry checks what can be checked of one entry on its own: the
// header decodes and names the index, and commits to the payload; the
// payload decodes strictly.
func checkEntry(p *akashiv1.Entry) (*Entry, error) {
	e := &Entry{Index: p.GetIndex(), HeaderBytes: p.GetHeaderBytes(), Payload: p.GetPayload(), Withheld: p.GetWithheldReason()}
	h, err := verify.ParseHeader(e.HeaderBytes)
	if err != nil {
		return nil, Failure{Index: e.Index, Err: fmt.Errorf("%w: %w", ErrVerification, err)}
	}
	if h.Index != e.Index {
		return nil, Failure{Index: e.Index, Err: fmt.Errorf("%w: the header names index %d", ErrVerification, h.Index)}
	}
	e.Header, e.LeafHash = h, verify.LeafHash(e.HeaderBytes)
	e.ChainHash = verify.ChainHash(h.PrevChain, e.LeafHash)
	if e.Withheld != "" && len(e.Payload) == 0 {
		e.Payload = nil
		return e, nil
	}
	if err := verify.CheckPayload(h, e.Payload); err != nil {
		return nil, Failure{Index: e.Index, Err: fmt.Errorf("%w: %w", ErrVerification, err)}
	}
	if e.Signed, err = record.DecodeSignedStatement(e.Payload); err != nil {
		return nil, Failure{Index: e.Index, Err: fmt.Errorf("%w: %w", ErrVerification, err)}
	}
	if e.Statement, err = record.DecodeStatement(e.Signed.GetStatement()); err != nil {
		return nil, Failure{Index: e.Index, Err: fmt.Errorf("%w: %w", ErrVerification, err)}
	}
	return e, nil
}

// Entry fetches the entry at index and checks it: header, payload digest,
// strict decoding, the statement's signature under the key it names, and
// its inclusion in the latest checkpoint.
func (c *Client) Entry(ctx context.Context, index uint64) (*Entry, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ledger.GetEntry(cctx, &akashiv1.GetEntryRequest{Index: index})
	if err != nil {
		return nil, wrapStatus(err)
	}
	if resp.GetEntry().GetIndex() != index {
		return nil, fmt.Errorf("%w: asked for entry %d, got %d", ErrVerification, index, resp.GetEntry().GetIndex())
	}
	return c.proveEntry(ctx, resp.GetEntry())
}

// Record fetches the record a publisher published under id (publisher may
// be empty when only one publisher used the id) and checks its entry as
// [Client.Entry] does.
func (c *Client) Record(ctx context.Context, publisher, id string) (*Entry, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ledger.GetRecord(cctx, &akashiv1.GetRecordRequest{Id: id, Publisher: publisher})
	if err != nil {
		return nil, wrapStatus(err)
	}
	e, err := c.proveEntry(ctx, resp.GetEntry())
	if err != nil {
		return nil, err
	}
	r := e.Statement.GetRecord()
	if r.GetId() != id || (publisher != "" && r.GetPublisher().GetId() != publisher) {
		return nil, fmt.Errorf("%w: asked for record %q, entry %d holds %q of %s", ErrVerification, id, e.Index, r.GetId(), r.GetPublisher().GetId())
	}
	return e, nil
}

func (c *Client) proveEntry(ctx context.Context, p *akashiv1.Entry) (*Entry, error) {
	e, err := checkEntry(p)
	if err != nil {
		return nil, err
	}
	if e.Signed != nil {
		if e.SignerKey, err = c.SignerKey(ctx, e.Signed.GetKeyId()); err != nil {
			return nil, err
		}
		if err := record.VerifySignature(e.SignerKey, c.origin, e.Signed); err != nil {
			return nil, Failure{Index: e.Index, Err: fmt.Errorf("%w: %w", ErrVerification, err)}
		}
	}
	if e.Checkpoint, err = c.LatestCheckpoint(ctx); err != nil {
		return nil, err
	}
	if e.Proof, err = c.ProveInclusion(ctx, e.Index, e.LeafHash, e.Checkpoint); err != nil {
		return nil, err
	}
	return e, nil
}

// SignerKey returns the public key with the given id, as the registry
// lists it, after checking that it is the key of that id (a key id is
// SHA-256 of its key, so the server cannot substitute another).
func (c *Client) SignerKey(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.registry.GetSigner(cctx, &akashiv1.GetSignerRequest{KeyId: keyID})
	if err != nil {
		return nil, wrapStatus(err)
	}
	pub := ed25519.PublicKey(resp.GetKey().GetPublicKey())
	if len(pub) != ed25519.PublicKeySize || record.KeyID(pub) != keyID {
		return nil, fmt.Errorf("%w: the registry gives key %s as %x, which is not that key", ErrVerification, keyID, []byte(pub))
	}
	return pub, nil
}
