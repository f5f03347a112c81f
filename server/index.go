// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

// The record index, kept by the ledger's sequencer hook in the same
// transaction as the entries (so it is never out of step with the log, and
// can be rebuilt from the log). Keys, in the ledger's index namespace, with
// NUL separators (ids and org-ids never contain NUL):
//
//	'r' id 0 publisher       → recordInfo of the record (id first, so that
//	                           the records with an id are a prefix scan)
//	'P' publisher 0 process  → index:8 of each record of the process, in log order
//
// Two keys per record: every index key costs the append path a write.
const (
	idxRecord  = 'r'
	idxProcess = 'P'
)

// MaxProcessVersions bounds the records of one process.
const MaxProcessVersions = 8192

func recordKey(publisher, id string) []byte {
	return joinKey(idxRecord, id, publisher)
}

func processKey(publisher, process string) []byte {
	return joinKey(idxProcess, publisher, process)
}

func joinKey(prefix byte, parts ...string) []byte {
	k := []byte{prefix}
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// recordInfo is what the index keeps about a record:
//
//	index:8 | kind:1 | SHA-256 of the statement:32 | process id
type recordInfo struct {
	index   uint64
	kind    record.Kind
	digest  [32]byte
	process string
}

func (ri recordInfo) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, ri.index)
	b = append(b, byte(ri.kind))
	b = append(b, ri.digest[:]...)
	return append(b, ri.process...)
}

func decodeRecordInfo(b []byte) (recordInfo, error) {
	if len(b) < 8+1+32 {
		return recordInfo{}, fmt.Errorf("%w: record index value of %d bytes", ledger.ErrCorrupt, len(b))
	}
	ri := recordInfo{index: binary.BigEndian.Uint64(b), kind: record.Kind(b[8]), process: string(b[41:])}
	copy(ri.digest[:], b[9:41])
	return ri, nil
}

// pending is what the server hands the sequencer with a statement it has
// decoded and validated.
type pending struct {
	signed    *akashiv1.SignedStatement
	statement *akashiv1.Statement
	digest    [32]byte // SHA-256 of the statement bytes
	// verified is the public key the signature was checked against, or nil.
	verified ed25519.PublicKey
}

// DuplicateError reports a statement that is already in the log: the
// append is answered with the original entry's receipt.
type DuplicateError struct{ Index uint64 }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("the statement is already in the log at index %d", e.Index)
}

// indexHook is the ledger.Hook of the server: it checks, in log order,
// what depends on the log's order (the registry's rules, record ids,
// references), and writes the registry and record indexes. The
// journalists' indexes are not its business: a query.Follower derives them
// after the fact (see NewQuery).
type indexHook struct {
	origin string
}

var _ ledger.Hook = indexHook{}

// Sequence implements ledger.Hook.
func (h indexHook) Sequence(v ledger.View, index uint64, payload []byte, arg any) ([]ledger.KV, error) {
	p, ok := arg.(*pending)
	if !ok { // replaying the log: decode what the server would have
		var err error
		if p, err = decodePending(payload); err != nil {
			return nil, err
		}
	}
	rec := p.statement.GetRecord()
	// A resubmission of a statement already in the log is answered with its
	// receipt, before its (used) sequence number is held against it.
	var conflict error
	if rec != nil {
		b, err := v.Get(recordKey(rec.GetPublisher().GetId(), rec.GetId()))
		if err == nil {
			old, err := decodeRecordInfo(b)
			if err != nil {
				return nil, err
			}
			if old.digest == p.digest {
				return nil, &DuplicateError{Index: old.index}
			}
			conflict = fmt.Errorf("%w: record.id: publisher %s already published %q at index %d with different content; publish a change as a new record that amends it", ErrConflict, rec.GetPublisher().GetId(), rec.GetId(), old.index)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
	} else {
		b, err := v.Get(append([]byte{idxStatement}, p.digest[:]...))
		if err == nil && len(b) == 8 {
			return nil, &DuplicateError{Index: binary.BigEndian.Uint64(b)}
		} else if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
	}
	changes, err := registry.Check(indexState{get: v.Get}, h.origin, index, registry.Statement{Signed: p.signed, Statement: p.statement, Hash: p.digest, Verified: p.verified})
	if err != nil {
		return nil, err
	}
	regKVs, err := registryKVs(changes)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return append(regKVs, ledger.KV{Key: append([]byte{idxStatement}, p.digest[:]...), Value: binary.BigEndian.AppendUint64(nil, index)}), nil
	}
	if conflict != nil {
		return nil, conflict
	}
	kvs, err := recordKVs(v, index, rec, p.digest)
	if err != nil {
		return nil, err
	}
	return append(kvs, regKVs...), nil
}

// recordKVs checks a record's references and returns its index keys.
func recordKVs(v ledger.View, index uint64, rec *akashiv1.Record, digest [32]byte) ([]ledger.KV, error) {
	pub := rec.GetPublisher().GetId()
	kind, _ := record.KindOf(rec)
	get := func(key []byte) (recordInfo, bool, error) {
		b, err := v.Get(key)
		if errors.Is(err, ledger.ErrNotFound) {
			return recordInfo{}, false, nil
		}
		if err != nil {
			return recordInfo{}, false, err
		}
		ri, err := decodeRecordInfo(b)
		return ri, err == nil, err
	}
	var errs record.Errors
	versions, processExists := []byte(nil), false
	if b, err := v.Get(processKey(pub, rec.GetProcessId())); err == nil {
		versions, processExists = b, true
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return nil, err
	}
	if rec.GetTag() == akashiv1.Tag_TAG_NEW {
		if processExists {
			errs = append(errs, &record.FieldError{Field: "record.process_id", Got: fmt.Sprintf("%q", rec.GetProcessId()),
				Want: fmt.Sprintf("a new process id for a record tagged TAG_NEW (this one began at index %d; amend its records instead)", binary.BigEndian.Uint64(versions)), Err: record.ErrOutOfRange})
		}
	} else {
		old, found, err := get(recordKey(pub, rec.GetAmends()))
		switch {
		case err != nil:
			return nil, err
		case !found:
			errs = append(errs, &record.FieldError{Field: "record.amends", Got: fmt.Sprintf("%q", rec.GetAmends()), Want: "the id of a record already published by " + pub, Err: record.ErrOutOfRange})
		case old.process != rec.GetProcessId():
			errs = append(errs, &record.FieldError{Field: "record.amends", Got: fmt.Sprintf("%q (process %q)", rec.GetAmends(), old.process), Want: fmt.Sprintf("a record of the same process %q", rec.GetProcessId()), Err: record.ErrOutOfRange})
		case old.kind != kind:
			errs = append(errs, &record.FieldError{Field: "record.amends", Got: fmt.Sprintf("%q (a %s)", rec.GetAmends(), old.kind), Want: "a record of the same kind, a " + kind.String(), Err: record.ErrOutOfRange})
		}
	}
	ref := func(field string, r *akashiv1.RecordRef, want record.Kind, anyKind bool) error {
		if r == nil {
			return nil
		}
		rp := r.GetPublisher()
		if rp == "" {
			rp = pub
		}
		old, found, err := get(recordKey(rp, r.GetId()))
		if err != nil {
			return err
		}
		switch {
		case !found:
			errs = append(errs, &record.FieldError{Field: field, Got: fmt.Sprintf("%s/%s", rp, r.GetId()), Want: "a record already in the log", Err: record.ErrOutOfRange})
		case !anyKind && old.kind != want:
			errs = append(errs, &record.FieldError{Field: field, Got: fmt.Sprintf("%s/%s (a %s)", rp, r.GetId(), old.kind), Want: "a " + want.String(), Err: record.ErrOutOfRange})
		}
		return nil
	}
	if err := ref("record.request.basis_decision", rec.GetRequest().GetBasisDecision(), record.KindDecision, false); err != nil {
		return nil, err
	}
	if err := ref("record.disbursement.related_request", rec.GetDisbursement().GetRelatedRequest(), record.KindRequest, false); err != nil {
		return nil, err
	}
	for i, rel := range rec.GetRelated() {
		if err := ref(fmt.Sprintf("record.related[%d].record", i), rel.GetRecord(), 0, true); err != nil {
			return nil, err
		}
	}
	if cp := rec.GetRequest().GetCompensationProgramme(); cp != "" {
		if _, err := v.Get(processKey(pub, cp)); errors.Is(err, ledger.ErrNotFound) {
			errs = append(errs, &record.FieldError{Field: "record.request.compensation_programme", Got: fmt.Sprintf("%q", cp), Want: "the process id of a programme already published by " + pub, Err: record.ErrOutOfRange})
		} else if err != nil {
			return nil, err
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	info := recordInfo{index: index, kind: kind, digest: digest, process: rec.GetProcessId()}
	if len(versions)/8 >= MaxProcessVersions {
		return nil, &record.FieldError{Field: "record.process_id", Got: fmt.Sprintf("%q with %d versions", rec.GetProcessId(), len(versions)/8),
			Want: fmt.Sprintf("a process of at most %d versions (continue in a new process with a related record)", MaxProcessVersions), Err: record.ErrOutOfRange}
	}
	return []ledger.KV{
		{Key: recordKey(pub, rec.GetId()), Value: info.encode()},
		{Key: processKey(pub, rec.GetProcessId()), Value: binary.BigEndian.AppendUint64(bytes.Clone(versions), index)},
	}, nil
}

// decodePending decodes a stored payload as the server does when it
// appends it.
func decodePending(payload []byte) (*pending, error) {
	ss, err := record.DecodeSignedStatement(payload)
	if err != nil {
		return nil, err
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		return nil, err
	}
	return &pending{signed: ss, statement: st, digest: sha256.Sum256(ss.GetStatement())}, nil
}

// splitRecordKey returns the publisher of an 'r' key of the given id.
func splitRecordKey(key []byte, id string) (string, bool) {
	rest, ok := bytes.CutPrefix(key, append(joinKey(idxRecord, id), 0))
	return string(rest), ok
}
