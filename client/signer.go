// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Defaults of [SignerOptions].
const (
	// DefaultMaxRetries is how often a statement whose outcome is unknown,
	// or that the server pushed back (rate limit, overload), is resubmitted.
	DefaultMaxRetries = 8
	// DefaultRetryBackoff is the first wait before a retry; it doubles up
	// to MaxRetryBackoff.
	DefaultRetryBackoff = 50 * time.Millisecond
	// MaxRetryBackoff is the longest wait between retries.
	MaxRetryBackoff = 5 * time.Second
)

// SignerOptions configure a [Signer].
type SignerOptions struct {
	// StateFile keeps where the key's chain stands (sequence, previous
	// hash, the highest sequence the log acknowledged) and the statements
	// signed but not yet acknowledged, across restarts. It is replaced
	// atomically (write to a temporary file, fsync, rename, fsync the
	// folder) before every statement is sent. Empty keeps the state in
	// memory only: the signer then starts from where the log says the
	// key's chain stands.
	StateFile string
	// MaxRetries and RetryBackoff bound resubmissions; DefaultMaxRetries
	// and DefaultRetryBackoff when zero.
	MaxRetries   int
	RetryBackoff time.Duration
}

// Signer signs and appends an agency's statements with one key, keeping
// the key's chain: each statement carries the next sequence number and the
// hash of the previous statement. It verifies every receipt before
// returning it. Its methods are safe for concurrent use, and serialized:
// statements are signed and sent in sequence order.
//
// Retries are safe: a statement whose answer was lost is resubmitted with
// the same bytes (and so the same sequence number), and the log answers
// with the original receipt. A record the log already holds, identical,
// under an earlier statement of the key (after a crash lost the signer's
// state, say) is answered with that entry's receipt, marked Existing.
type Signer struct {
	c    *Client
	key  ed25519.PrivateKey
	pub  ed25519.PublicKey
	id   string
	opts SignerOptions

	mu sync.Mutex
	st signerState
}

// signerState is what the state file holds.
type signerState struct {
	Version int    `json:"version"`
	Origin  string `json:"origin"`
	KeyID   string `json:"key_id"`
	// Sequence is the last sequence number signed, Previous the hash of
	// that statement.
	Sequence uint64 `json:"sequence"`
	Previous []byte `json:"previous,omitempty"`
	// Acknowledged is the highest sequence number the log acknowledged
	// with a verified receipt, and AcknowledgedIndex its entry.
	Acknowledged      uint64 `json:"acknowledged"`
	AcknowledgedIndex uint64 `json:"acknowledged_index"`
	// Pending holds the payloads signed and sent (or about to be) whose
	// receipts have not been verified, in sequence order.
	Pending [][]byte `json:"pending,omitempty"`
}

const signerStateVersion = 1

// OpenSigner loads an Ed25519 private key from a PEM file (PKCS #8, as
// akashi keygen writes it) and returns its signer; see [NewSigner].
func OpenSigner(ctx context.Context, c *Client, keyFile string, opts SignerOptions) (*Signer, error) {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := record.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return NewSigner(ctx, c, key, opts)
}

// NewSigner returns the signer of key for the log of c. It loads the state
// file, if any; resubmits the statements it holds that the log may not
// have acknowledged; then asks the log where the key's chain stands
// (GetSigner) and continues from there. It fails with ErrNotRegistered
// for a key the log does not know, and with ErrRewound when the log no
// longer holds a statement it acknowledged to this signer.
func NewSigner(ctx context.Context, c *Client, key ed25519.PrivateKey, opts SignerOptions) (*Signer, error) {
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	pub := key.Public().(ed25519.PublicKey)
	s := &Signer{c: c, key: key, pub: pub, id: record.KeyID(pub), opts: opts}
	s.st = signerState{Version: signerStateVersion, Origin: c.origin, KeyID: s.id}
	if opts.StateFile != "" {
		var st signerState
		found, err := loadJSON(opts.StateFile, &st)
		if err != nil {
			return nil, err
		}
		if found {
			switch {
			case st.Version != signerStateVersion:
				return nil, fmt.Errorf("%w: %s has version %d, want %d", ErrState, opts.StateFile, st.Version, signerStateVersion)
			case st.Origin != c.origin || st.KeyID != s.id:
				return nil, fmt.Errorf("%w: %s is the state of key %s in log %q, not of key %s in %q", ErrState, opts.StateFile, st.KeyID, st.Origin, s.id, c.origin)
			}
			s.st = st
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(ctx); err != nil {
		return nil, err
	}
	if err := s.resyncLocked(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// KeyID returns the signing key's id.
func (s *Signer) KeyID() string { return s.id }

// PublicKey returns the signing key's public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// Sequence returns the last sequence number the signer used.
func (s *Signer) Sequence() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Sequence
}

// Append validates r as the server does, signs it as the key's next
// statement, appends it and returns its verified receipt. A validation
// failure is returned as is (a record.Errors list) and nothing is sent.
// In the rare case that the receipt is verified but the state file cannot
// be saved, both the receipt and the error are returned.
func (s *Signer) Append(ctx context.Context, r *akashiv1.Record) (*Receipt, error) {
	if err := record.ValidateRecord(r); err != nil {
		return nil, err
	}
	return s.signAndSend(ctx, &akashiv1.Statement{Body: &akashiv1.Statement_Record{Record: r}})
}

// Govern signs a governance action with the signer's key, which must be
// the log's governance key, applies it and returns its verified receipt.
func (s *Signer) Govern(ctx context.Context, a *akashiv1.GovernanceAction) (*Receipt, error) {
	if err := record.ValidateGovernance(a); err != nil {
		return nil, err
	}
	return s.signAndSend(ctx, &akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: a}})
}

func (s *Signer) signAndSend(ctx context.Context, body *akashiv1.Statement) (*Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(ctx); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		st := proto.Clone(body).(*akashiv1.Statement)
		st.Sequence, st.Previous = s.st.Sequence+1, s.st.Previous
		if err := record.ValidateStatement(st); err != nil {
			return nil, err
		}
		ss, err := record.Sign(s.key, s.c.origin, st)
		if err != nil {
			return nil, err
		}
		payload, err := marshalSigned(ss)
		if err != nil {
			return nil, err
		}
		before := s.st
		h := record.StatementHash(ss.GetStatement())
		s.st.Sequence, s.st.Previous, s.st.Pending = st.Sequence, h[:], [][]byte{payload}
		if err := s.saveLocked(); err != nil {
			s.st = before
			return nil, err
		}
		rcpt, err := s.submit(ctx, ss, payload, st.GetGovernance() != nil)
		if err == nil {
			s.acknowledge(st.Sequence, rcpt)
			s.st.Pending = nil
			// The receipt stands even if the state cannot be saved: the
			// statement would then be resubmitted, and answered with it.
			return rcpt, s.saveLocked()
		}
		var re *RefusedError
		if !errors.As(err, &re) || !re.definite() {
			// Kept pending: the next call, or the next NewSigner,
			// resubmits the same bytes.
			return nil, fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
		}
		// Refused: the statement is not in the log.
		s.st = before
		s.st.Pending = nil
		if err := s.saveLocked(); err != nil {
			return nil, err
		}
		switch {
		case isRecordConflict(re) && st.GetRecord() != nil:
			if e, found, lerr := s.existing(ctx, st.GetRecord()); lerr != nil {
				return nil, errors.Join(err, lerr)
			} else if found {
				return e, nil
			}
			return nil, err
		case isChainRefusal(re) && attempt == 0:
			// Someone else used the key, or a state was lost: continue
			// from where the log says the chain stands.
			if err := s.resyncLocked(ctx); err != nil {
				return nil, err
			}
			continue
		}
		return nil, err
	}
}

// isRecordConflict reports a refusal because the publisher already
// published the record's id.
func isRecordConflict(re *RefusedError) bool {
	return re.Code == codes.AlreadyExists && strings.Contains(re.Message, "record.id")
}

// isChainRefusal reports a refusal because of the statement's sequence
// number or previous hash.
func isChainRefusal(re *RefusedError) bool {
	return re.Code == codes.FailedPrecondition || (re.Code == codes.AlreadyExists && strings.Contains(re.Message, "sequence"))
}

// existing looks up a record the log refused as a duplicate id: when the
// log holds exactly this record, its entry's receipt is returned with
// Existing set.
func (s *Signer) existing(ctx context.Context, r *akashiv1.Record) (*Receipt, bool, error) {
	e, err := s.c.Record(ctx, r.GetPublisher().GetId(), r.GetId())
	if err != nil {
		return nil, false, err
	}
	if !proto.Equal(e.Statement.GetRecord(), r) {
		return nil, false, nil
	}
	rcpt := e.Receipt(s.c.origin)
	rcpt.Existing = true
	return rcpt, true, nil
}

// submit sends one signed statement, resubmitting the same bytes while the
// outcome is unknown or the server pushes back, and verifies the receipt.
func (s *Signer) submit(ctx context.Context, ss *akashiv1.SignedStatement, payload []byte, governance bool) (*Receipt, error) {
	wait := s.opts.RetryBackoff
	var last error
	for try := 0; try <= s.opts.MaxRetries; try++ {
		if try > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, errors.Join(ctx.Err(), last)
			}
			wait = min(2*wait, MaxRetryBackoff)
		}
		cctx, cancel := s.c.callContext(ctx)
		var p *akashiv1.Receipt
		var dup bool
		var err error
		if governance {
			var resp *akashiv1.ApplyGovernanceResponse
			resp, err = s.c.registry.ApplyGovernance(cctx, &akashiv1.ApplyGovernanceRequest{Statement: ss})
			p, dup = resp.GetReceipt(), resp.GetDuplicate()
		} else {
			var resp *akashiv1.AppendRecordResponse
			resp, err = s.c.ledger.AppendRecord(cctx, &akashiv1.AppendRecordRequest{Statement: ss})
			p, dup = resp.GetReceipt(), resp.GetDuplicate()
		}
		cancel()
		if err == nil {
			rcpt, err := s.c.receiptFromProto(p, payload, s.pub)
			if err != nil {
				return nil, err
			}
			rcpt.Duplicate = dup
			return rcpt, nil
		}
		last = wrapStatus(err)
		var re *RefusedError
		if errors.As(last, &re) && re.definite() {
			return nil, last
		}
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), last)
		}
	}
	return nil, last
}

// flushLocked resubmits the pending statements, in order. Each is answered
// with its receipt (the original one if it was logged already). When one
// is refused, it and those after it are not in the log, and the signer
// continues from where the log says its chain stands.
func (s *Signer) flushLocked(ctx context.Context) error {
	if len(s.st.Pending) == 0 {
		return nil
	}
	for len(s.st.Pending) > 0 {
		payload := s.st.Pending[0]
		ss, err := record.DecodeSignedStatement(payload)
		if err != nil {
			return fmt.Errorf("%w: a pending statement: %w", ErrState, err)
		}
		st, err := record.DecodeStatement(ss.GetStatement())
		if err != nil {
			return fmt.Errorf("%w: a pending statement: %w", ErrState, err)
		}
		rcpt, err := s.submit(ctx, ss, payload, st.GetGovernance() != nil)
		var re *RefusedError
		switch {
		case err == nil:
			s.acknowledge(st.GetSequence(), rcpt)
			s.st.Pending = s.st.Pending[1:]
		case errors.As(err, &re) && re.definite():
			s.st.Pending = nil
			if err := s.resyncLocked(ctx); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: resubmitting sequence %d: %w", ErrUnknownOutcome, st.GetSequence(), err)
		}
	}
	s.st.Pending = nil
	return s.saveLocked()
}

func (s *Signer) acknowledge(seq uint64, r *Receipt) {
	if seq > s.st.Acknowledged {
		s.st.Acknowledged, s.st.AcknowledgedIndex = seq, r.Index
	}
}

// resyncLocked sets the chain state to the log's. The log must still hold
// every statement it acknowledged.
func (s *Signer) resyncLocked(ctx context.Context) error {
	cctx, cancel := s.c.callContext(ctx)
	defer cancel()
	resp, err := s.c.registry.GetSigner(cctx, &akashiv1.GetSignerRequest{KeyId: s.id})
	if err != nil {
		err = wrapStatus(err)
		var re *RefusedError
		if errors.As(err, &re) && re.Code == codes.NotFound {
			return fmt.Errorf("%w: key %s is not registered in log %q: %s", ErrNotRegistered, s.id, s.c.origin, re.Message)
		}
		return fmt.Errorf("asking where key %s stands: %w", s.id, err)
	}
	if resp.GetSequence() < s.st.Acknowledged {
		return fmt.Errorf("%w: the log acknowledged sequence %d of key %s at index %d, and now says the key's last sequence is %d",
			ErrRewound, s.st.Acknowledged, s.id, s.st.AcknowledgedIndex, resp.GetSequence())
	}
	if resp.GetSequence() > 0 && len(resp.GetLastStatementHash()) != 32 {
		return fmt.Errorf("%w: the log gives key %s a last statement hash of %d bytes", ErrVerification, s.id, len(resp.GetLastStatementHash()))
	}
	changed := resp.GetSequence() != s.st.Sequence || !bytes.Equal(resp.GetLastStatementHash(), s.st.Previous)
	s.st.Sequence, s.st.Previous = resp.GetSequence(), resp.GetLastStatementHash()
	if changed || s.opts.StateFile != "" {
		return s.saveLocked()
	}
	return nil
}

func (s *Signer) saveLocked() error {
	if s.opts.StateFile == "" {
		return nil
	}
	return saveJSON(s.opts.StateFile, &s.st)
}
