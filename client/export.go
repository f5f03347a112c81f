// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

// Bundles.
//
// A bundle is the whole log up to a checkpoint, as NDJSON: a first line
// [BundleHead] with the signed checkpoint, then one [BundleEntry] per
// entry, in index order. Each entry carries the exact header and payload
// bytes the log committed to, and the statement decoded for reading (which
// a verifier ignores). [VerifyBundle] checks a bundle offline with the
// log's verifier key alone.

// BundleHead is the first line of a bundle.
type BundleHead struct {
	Origin      string      `json:"origin"`
	VerifierKey string      `json:"verifier_key"`
	TreeSize    uint64      `json:"tree_size"`
	Root        verify.Hash `json:"root_hash"`
	Checkpoint  string      `json:"checkpoint"`
}

// BundleEntry is one entry of a bundle.
type BundleEntry struct {
	Index        uint64 `json:"index"`
	IntegratedAt string `json:"integrated_at"`
	// Header and Payload are the bytes the log committed to.
	Header  []byte `json:"header"`
	Payload []byte `json:"payload,omitempty"`
	// Withheld is why the payload was withheld, if it was.
	Withheld string      `json:"withheld,omitempty"`
	LeafHash verify.Hash `json:"leaf_hash"`
	KeyID    string      `json:"key_id,omitempty"`
	Sequence uint64      `json:"sequence,omitempty"`
	// Statement is the payload's statement, for reading only.
	Statement json.RawMessage `json:"statement,omitempty"`
}

// ExportEntries reads the entries [0, cp.Size) of the log, checks each
// one (header, chain, payload digest, strict decoding) and passes it to f,
// in order; at the end it checks that the entries hash to cp's root. So
// what f was given is exactly the log that cp commits to. Signatures and
// the registry are checked by an [Auditor] or [VerifyBundle].
func (c *Client) ExportEntries(ctx context.Context, cp Checkpoint, f func(*Entry) error) error {
	aud, err := verify.NewAuditor(verify.AuditorState{})
	if err != nil {
		return err
	}
	err = c.Entries(ctx, 0, cp.Size, func(p *akashiv1.Entry) error {
		e, err := checkEntry(p)
		if err != nil {
			return err
		}
		if err := aud.AppendParsed(e.Header, e.LeafHash); err != nil {
			return fmt.Errorf("%w: %w", ErrVerification, err)
		}
		e.Checkpoint = cp
		return f(e)
	})
	if err != nil {
		return err
	}
	if err := aud.CheckCheckpoint(cp.Checkpoint); err != nil {
		return fmt.Errorf("%w: %w", ErrVerification, err)
	}
	return nil
}

// WriteBundle exports the log up to checkpoint cp as a bundle to w.
func (c *Client) WriteBundle(ctx context.Context, cp Checkpoint, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(BundleHead{Origin: c.origin, VerifierKey: c.vkey, TreeSize: cp.Size, Root: cp.Root, Checkpoint: string(cp.Signed)}); err != nil {
		return err
	}
	err := c.ExportEntries(ctx, cp, func(e *Entry) error {
		be := BundleEntry{Index: e.Index, IntegratedAt: e.Header.IntegrationTime().Format(time.RFC3339Nano), Header: e.HeaderBytes,
			Payload: e.Payload, Withheld: e.Withheld, LeafHash: e.LeafHash}
		if e.Signed != nil {
			be.KeyID, be.Sequence = e.Signed.GetKeyId(), e.Statement.GetSequence()
			be.Statement, _ = protojson.MarshalOptions{UseProtoNames: true}.Marshal(e.Statement)
		}
		return enc.Encode(&be)
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// VerifyBundle checks a bundle offline, trusting only the verifier key
// vkey: the checkpoint's signature, every header, chain link and payload
// digest, every statement's encoding, signature, sequence and registry
// rule, and that the entries hash to the checkpoint's root. Failures are
// reported in the report with their indexes; the error wraps
// ErrVerification when there is any.
func VerifyBundle(r io.Reader, vkey string) (*AuditReport, error) {
	start := time.Now()
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogKey, err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	var head BundleHead
	if err := dec.Decode(&head); err != nil {
		return nil, fmt.Errorf("%w: %w: not a bundle: %v", ErrVerification, verify.ErrMalformed, err)
	}
	cp, err := OpenCheckpoint([]byte(head.Checkpoint), v.Name(), v)
	if err != nil {
		return nil, err
	}
	rep := &AuditReport{Origin: v.Name(), Checkpoint: head.Checkpoint}
	aud, _ := verify.NewAuditor(verify.AuditorState{})
	reg := registry.NewMemory(v.Name())
	fail := func(i uint64, err error) {
		var ee *verify.EntryError
		if errors.As(err, &ee) && ee.Index == i {
			err = ee.Err
		}
		rep.Failures = append(rep.Failures, Failure{Index: i, Err: err})
	}
	for {
		var be BundleEntry
		err := dec.Decode(&be)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(aud.Size(), fmt.Errorf("%w: not a bundle entry: %v", verify.ErrMalformed, err))
			break
		}
		i := aud.Size()
		if be.Index != i {
			fail(i, fmt.Errorf("%w: the bundle's entry %d is labelled %d", verify.ErrMismatch, i, be.Index))
			break
		}
		payload := be.Payload
		if be.Withheld != "" && len(payload) == 0 {
			payload = nil
			rep.Withheld++
		} else if payload == nil {
			payload = []byte{}
		}
		h, err := verify.ParseHeader(be.Header)
		if err == nil && h.Index != i {
			err = fmt.Errorf("%w: the header names index %d", verify.ErrMismatch, h.Index)
		}
		if err != nil {
			fail(i, err)
			break
		}
		digestOK := true
		if payload != nil {
			if err := verify.CheckPayload(h, payload); err != nil {
				fail(i, err)
				digestOK = false
			}
		}
		if err := aud.AppendParsed(h, verify.LeafHash(be.Header)); err != nil {
			fail(i, err)
			break
		}
		if payload == nil || !digestOK {
			continue
		}
		if err := reg.Append(i, payload); err != nil {
			fail(i, err)
			continue
		}
		rep.Signatures++
		if ss, err := record.DecodeSignedStatement(payload); err == nil {
			if st, err := record.DecodeStatement(ss.GetStatement()); err == nil && st.GetGovernance() != nil {
				rep.Governance++
				continue
			}
		}
		rep.Records++
	}
	rep.To, rep.Root = aud.Size(), aud.Root()
	rep.Keys, rep.Agencies = len(reg.Keys()), len(reg.Agencies())
	if len(rep.Failures) == 0 {
		if err := aud.CheckCheckpoint(cp.Checkpoint); err != nil {
			fail(max(cp.Size, 1)-1, err)
		} else {
			rep.Complete = true
		}
	}
	rep.Elapsed = time.Since(start)
	if len(rep.Failures) > 0 {
		f := rep.Failures[0]
		return rep, fmt.Errorf("%w: %d failures, the first at entry %d: %w", ErrVerification, len(rep.Failures), f.Index, f.Err)
	}
	return rep, nil
}
