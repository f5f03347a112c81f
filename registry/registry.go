// SPDX-License-Identifier: Apache-2.0

// Package registry holds the rules of who may write to an Akashi log, and
// the registry they build: agencies, their keys, the governance key, and
// where each key's chain of statements stands. It is pure: the same rules
// run in the server, which keeps the registry as index keys beside the log,
// and in auditors, which replay it from the log ([Memory]).
//
// # The registry lives in the log
//
// The log's first entry establishes the governance key: a governance
// statement, sequence 1, that rotates the governance key to its own public
// key and is signed by it. After that, every change to the registry is a
// governance statement signed by the current governance key:
//
//   - RegisterKey: a key may write for an agency from the next entry on;
//   - RevokeKey: a key may write nothing after the revoking entry;
//   - RotateGovernanceKey: a new governance key takes over (the old one is
//     revoked by the same entry).
//
// # Rules for every entry
//
// [Check] decides, for a signed statement at a given index and the registry
// as it stands just before that index:
//
//  1. The key must be registered ([ErrUnknownKey]) and the signature must
//     verify under it for this log's origin ([ErrBadSignature]).
//  2. The key must not be revoked ([ErrRevoked]).
//  3. The statement's sequence must be the key's next ([ErrSequenceUsed],
//     [ErrSequenceGap]) and its previous hash the hash of the key's last
//     statement ([ErrPreviousMismatch]): each key keeps its own gap-free
//     chain, so anyone holding a signer's statements can show that the log
//     dropped or reordered none of them.
//  4. A record must be published by the key's agency ([ErrWrongAgency]);
//     the governance key publishes no records. A governance action must be
//     signed by the current governance key ([ErrNotGovernance]).
//
// Signatures are Ed25519 as verified by [record.VerifySignature].
package registry

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// The ways a statement can break the rules. Every error [Check] returns
// wraps one of them, or a *record.FieldError for a malformed action.
var (
	// ErrUnknownKey: the signing key is not registered.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrBadSignature: the signature does not verify.
	ErrBadSignature = errors.New("bad signature")
	// ErrRevoked: the signing key has been revoked.
	ErrRevoked = errors.New("revoked key")
	// ErrWrongAgency: the key does not write for the record's publisher.
	ErrWrongAgency = errors.New("key of another agency")
	// ErrNotGovernance: a governance action not signed by the governance key.
	ErrNotGovernance = errors.New("not the governance key")
	// ErrNoGovernance: the log has no governance key yet, and the statement
	// does not establish one.
	ErrNoGovernance = errors.New("no governance key")
	// ErrSequenceUsed: the key already used this sequence number.
	ErrSequenceUsed = errors.New("sequence number already used")
	// ErrSequenceGap: the sequence number skips numbers.
	ErrSequenceGap = errors.New("sequence number out of order")
	// ErrPreviousMismatch: the previous hash is not the hash of the key's last statement.
	ErrPreviousMismatch = errors.New("previous statement hash mismatch")
	// ErrKeyExists: the key to register is registered already.
	ErrKeyExists = errors.New("key already registered")
	// ErrNoSuchKey: the key to revoke is not registered, or revoked already.
	ErrNoSuchKey = errors.New("no such key")
)

// Key is a signing key in the registry.
type Key struct {
	ID         string
	Public     ed25519.PublicKey
	AgencyID   string // empty for a governance key
	AgencyName string
	Label      string
	Governance bool
	// RegisteredAt is the index of the registering entry.
	RegisteredAt uint64
	Revoked      bool
	// RevokedAt is the index of the revoking entry.
	RevokedAt uint64
	Reason    string
}

// Signer is where a key's chain of statements stands.
type Signer struct {
	// Sequence is the last sequence number used; 0 when none.
	Sequence uint64
	// Last is the statement hash of the last statement.
	Last [32]byte
	// LastIndex is the log index of the last statement.
	LastIndex uint64
}

// State is the registry as it stands before an entry. Implementations
// return found == false for what is absent, and an error only when they
// cannot read.
type State interface {
	Key(id string) (k Key, found bool, err error)
	Signer(id string) (Signer, error)
	// Governance returns the id of the current governance key, or "".
	Governance() (string, error)
}

// Change is one change an entry makes to the registry.
type Change struct {
	// Key, if set, is a new or updated key.
	Key *Key
	// SignerID and Signer, if SignerID is set, are a key's new chain state.
	SignerID string
	Signer   Signer
	// Governance, if set, is the new governance key's id.
	Governance string
}

// Statement is a signed statement with its decoded body.
type Statement struct {
	Signed    *akashiv1.SignedStatement
	Statement *akashiv1.Statement
	// Hash is record.StatementHash of Signed.Statement.
	Hash [32]byte
	// Verified names the public key the signature was already checked
	// against, or is nil: Check verifies it then.
	Verified ed25519.PublicKey
}

// Check decides whether st may be the entry at index of the log named
// origin, with the registry s as it stands before it, and returns the
// changes the entry makes. It does not change s.
func Check(s State, origin string, index uint64, st Statement) ([]Change, error) {
	ss, body := st.Signed, st.Statement
	id := ss.GetKeyId()
	gov, err := s.Governance()
	if err != nil {
		return nil, err
	}
	if gov == "" {
		return genesis(origin, index, st)
	}
	key, found, err := s.Key(id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: key %s is not registered in this log", ErrUnknownKey, id)
	}
	if err := verify(origin, key.Public, st); err != nil {
		return nil, err
	}
	if key.Revoked {
		return nil, fmt.Errorf("%w: key %s was revoked at index %d (%s)", ErrRevoked, id, key.RevokedAt, key.Reason)
	}
	signer, err := s.Signer(id)
	if err != nil {
		return nil, err
	}
	if err := checkSequence(id, signer, body); err != nil {
		return nil, err
	}
	changes := []Change{{SignerID: id, Signer: Signer{Sequence: body.GetSequence(), Last: st.Hash, LastIndex: index}}}
	switch {
	case body.GetRecord() != nil:
		pub := body.GetRecord().GetPublisher().GetId()
		if key.Governance {
			return nil, fmt.Errorf("%w: the governance key %s publishes no records", ErrWrongAgency, id)
		}
		if pub != key.AgencyID {
			return nil, fmt.Errorf("%w: key %s writes for %s, the record's publisher is %s", ErrWrongAgency, id, key.AgencyID, pub)
		}
		return changes, nil
	case body.GetGovernance() != nil:
		if id != gov {
			return nil, fmt.Errorf("%w: governance actions must be signed by the governance key %s, not by %s", ErrNotGovernance, gov, id)
		}
		more, err := govern(s, index, key, body.GetGovernance())
		if err != nil {
			return nil, err
		}
		return append(changes, more...), nil
	}
	return nil, fmt.Errorf("%w: statement.body: got none, want a record or a governance action", record.ErrFormat)
}

// genesis checks the entry that establishes the governance key.
func genesis(origin string, index uint64, st Statement) ([]Change, error) {
	ss, body := st.Signed, st.Statement
	rot := body.GetGovernance().GetRotateGovernanceKey()
	if rot == nil {
		return nil, fmt.Errorf("%w: the log's first entry must establish the governance key (a RotateGovernanceKey signed by that key)", ErrNoGovernance)
	}
	pub := ed25519.PublicKey(rot.GetPublicKey())
	if len(pub) != ed25519.PublicKeySize || record.KeyID(pub) != ss.GetKeyId() {
		return nil, fmt.Errorf("%w: the first governance key must sign its own establishment (key %s)", ErrNoGovernance, ss.GetKeyId())
	}
	if err := verify(origin, pub, st); err != nil {
		return nil, err
	}
	if body.GetSequence() != 1 || len(body.GetPrevious()) != 0 {
		return nil, fmt.Errorf("%w: the governance key's first statement has sequence 1 and no previous hash", ErrSequenceGap)
	}
	id := ss.GetKeyId()
	return []Change{
		{Key: &Key{ID: id, Public: pub, Governance: true, Label: "governance", RegisteredAt: index}, Governance: id},
		{SignerID: id, Signer: Signer{Sequence: 1, Last: st.Hash, LastIndex: index}},
	}, nil
}

func verify(origin string, pub ed25519.PublicKey, st Statement) error {
	if st.Verified != nil && pub.Equal(st.Verified) {
		return nil
	}
	if err := record.VerifySignature(pub, origin, st.Signed); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

func checkSequence(id string, s Signer, body *akashiv1.Statement) error {
	seq := body.GetSequence()
	switch {
	case seq <= s.Sequence:
		return fmt.Errorf("%w: key %s already used sequence %d; its next is %d", ErrSequenceUsed, id, seq, s.Sequence+1)
	case seq > s.Sequence+1:
		return fmt.Errorf("%w: key %s: got sequence %d, want %d", ErrSequenceGap, id, seq, s.Sequence+1)
	case seq == 1 && len(body.GetPrevious()) != 0:
		return fmt.Errorf("%w: key %s: the first statement has no previous hash", ErrPreviousMismatch, id)
	case seq > 1 && [32]byte(padHash(body.GetPrevious())) != s.Last:
		return fmt.Errorf("%w: key %s: statement.previous is %x, the hash of the key's statement %d is %x", ErrPreviousMismatch, id, body.GetPrevious(), s.Sequence, s.Last)
	}
	return nil
}

func padHash(b []byte) [32]byte {
	var h [32]byte
	if len(b) != 32 {
		// No statement hashes to this, so the comparison fails; and a
		// malformed hash is refused by validation before.
		h[0] = ^byte(0)
		return h
	}
	copy(h[:], b)
	return h
}

// govern applies a governance action signed by the governance key gov.
func govern(s State, index uint64, gov Key, a *akashiv1.GovernanceAction) ([]Change, error) {
	if err := record.ValidateGovernance(a); err != nil {
		return nil, err
	}
	register := func(pub ed25519.PublicKey, k Key) ([]Change, error) {
		id := record.KeyID(pub)
		if old, found, err := s.Key(id); err != nil {
			return nil, err
		} else if found {
			return nil, fmt.Errorf("%w: key %s was registered at index %d", ErrKeyExists, id, old.RegisteredAt)
		}
		k.ID, k.Public, k.RegisteredAt = id, pub, index
		return []Change{{Key: &k}}, nil
	}
	switch x := a.GetAction().(type) {
	case *akashiv1.GovernanceAction_RegisterKey:
		r := x.RegisterKey
		return register(r.GetPublicKey(), Key{AgencyID: r.GetAgency().GetId(), AgencyName: r.GetAgency().GetName(), Label: r.GetLabel()})
	case *akashiv1.GovernanceAction_RevokeKey:
		id := x.RevokeKey.GetKeyId()
		k, found, err := s.Key(id)
		switch {
		case err != nil:
			return nil, err
		case !found:
			return nil, fmt.Errorf("%w: key %s is not registered", ErrNoSuchKey, id)
		case k.Revoked:
			return nil, fmt.Errorf("%w: key %s was revoked at index %d", ErrNoSuchKey, id, k.RevokedAt)
		case k.Governance:
			return nil, fmt.Errorf("%w: key %s is the governance key; rotate it instead", ErrNoSuchKey, id)
		}
		k.Revoked, k.RevokedAt, k.Reason = true, index, x.RevokeKey.GetReason()
		return []Change{{Key: &k}}, nil
	case *akashiv1.GovernanceAction_RotateGovernanceKey:
		changes, err := register(x.RotateGovernanceKey.GetPublicKey(), Key{Governance: true, Label: "governance"})
		if err != nil {
			return nil, err
		}
		old := gov
		old.Revoked, old.RevokedAt, old.Reason = true, index, "rotated"
		return append(changes, Change{Key: &old}, Change{Governance: changes[0].Key.ID}), nil
	}
	return nil, fmt.Errorf("%w: governance: got no action", record.ErrFormat)
}
