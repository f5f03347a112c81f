// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"golang.org/x/time/rate"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/registry"
)

// The registry index, written by the sequencer hook with the entries that
// change it (so it is rebuilt by replaying the log):
//
//	'k' key id              → the key, JSON (registry.Key)
//	's' key id              → its chain: sequence:8 | last statement hash:32 | last index:8
//	'g'                     → the current governance key's id
//	'a' agency 0 key id     → empty: an agency's keys
//	'd' statement hash      → index:8 of a governance statement, for resubmissions
const (
	idxKey        = 'k'
	idxSigner     = 's'
	idxGovernance = 'g'
	idxAgencyKey  = 'a'
	idxStatement  = 'd'
)

// indexState reads the registry from index keys, through get (a sequencer
// View, or the committed index).
type indexState struct {
	get func(key []byte) ([]byte, error)
}

var _ registry.State = indexState{}

func (s indexState) read(key []byte) ([]byte, bool, error) {
	b, err := s.get(key)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s indexState) Key(id string) (registry.Key, bool, error) {
	b, found, err := s.read(joinKey(idxKey, id))
	if !found {
		return registry.Key{}, false, err
	}
	if k, ok := decodedKeys.get(string(b)); ok {
		return k, true, nil
	}
	var k registry.Key
	if err := json.Unmarshal(b, &k); err != nil {
		return registry.Key{}, false, fmt.Errorf("%w: registry key %s: %v", ledger.ErrCorrupt, id, err)
	}
	decodedKeys.put(string(b), k)
	return k, true, nil
}

// decodedKeys remembers the decoding of registry key records: every
// signed statement looks its key up twice (admission and sequencing), and
// decoding the JSON cost more than reading it. It is keyed by the stored
// bytes themselves, so it can never answer for a key that changed.
var decodedKeys = newKeyMemo()

// keyMemoMax bounds keyMemo; when full it starts again.
const keyMemoMax = 16384

type keyMemo struct {
	mu sync.Mutex
	m  map[string]registry.Key
}

func newKeyMemo() *keyMemo { return &keyMemo{m: make(map[string]registry.Key)} }

func (c *keyMemo) get(s string) (registry.Key, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[s]
	if ok {
		k.Public = slices.Clone(k.Public) // callers own what they get
	}
	return k, ok
}

func (c *keyMemo) put(s string, k registry.Key) {
	k.Public = slices.Clone(k.Public)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= keyMemoMax {
		clear(c.m)
	}
	c.m[s] = k
}

func (s indexState) Signer(id string) (registry.Signer, error) {
	b, found, err := s.read(joinKey(idxSigner, id))
	if !found {
		return registry.Signer{}, err
	}
	if len(b) != 8+32+8 {
		return registry.Signer{}, fmt.Errorf("%w: signer state of %s has %d bytes", ledger.ErrCorrupt, id, len(b))
	}
	var sg registry.Signer
	sg.Sequence = binary.BigEndian.Uint64(b)
	copy(sg.Last[:], b[8:40])
	sg.LastIndex = binary.BigEndian.Uint64(b[40:])
	return sg, nil
}

func (s indexState) Governance() (string, error) {
	b, _, err := s.read([]byte{idxGovernance})
	return string(b), err
}

// registryKVs renders registry changes as index keys.
func registryKVs(changes []registry.Change) ([]ledger.KV, error) {
	var kvs []ledger.KV
	for _, c := range changes {
		if c.Key != nil {
			b, err := json.Marshal(c.Key)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, ledger.KV{Key: joinKey(idxKey, c.Key.ID), Value: b})
			if c.Key.AgencyID != "" {
				kvs = append(kvs, ledger.KV{Key: joinKey(idxAgencyKey, c.Key.AgencyID, c.Key.ID), Value: []byte{}})
			}
		}
		if c.SignerID != "" {
			v := binary.BigEndian.AppendUint64(nil, c.Signer.Sequence)
			v = append(v, c.Signer.Last[:]...)
			v = binary.BigEndian.AppendUint64(v, c.Signer.LastIndex)
			kvs = append(kvs, ledger.KV{Key: joinKey(idxSigner, c.SignerID), Value: v})
		}
		if c.Governance != "" {
			kvs = append(kvs, ledger.KV{Key: []byte{idxGovernance}, Value: []byte(c.Governance)})
		}
	}
	return kvs, nil
}

// committed reads the registry as committed.
func (s *Server) committed() indexState { return indexState{get: s.log.IndexGet} }

// signingKey looks up the key of a statement as committed, and applies
// its agency's rate limit. The signature is then checked outside the
// sequencer, in parallel with other requests (see prepare). The sequencer
// re-checks the key's standing at the statement's index (a revocation may
// be in flight), but does not verify the signature again. It returns nil
// for the statement that establishes the governance key of a new log,
// which the sequencer checks itself.
//
// What it needs of a key never changes once the key is registered (its id
// is the hash of its public key, a key is registered once, to one agency),
// nor does a log lose its governance key once it has one: both are
// remembered, so admitting a statement reads nothing from the store. The
// key's standing (revoked or not at this index) is the hook's to check.
func (s *Server) signingKey(ss *akashiv1.SignedStatement) (ed25519.PublicKey, error) {
	st := s.committed()
	if !s.governed.Load() {
		gov, err := st.Governance()
		if err != nil {
			return nil, err
		}
		if gov == "" {
			return nil, nil
		}
		s.governed.Store(true)
	}
	key, found := s.keys.get(ss.GetKeyId())
	if !found {
		var err error
		key, found, err = st.Key(ss.GetKeyId())
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%w: key %s is not registered in this log", registry.ErrUnknownKey, ss.GetKeyId())
		}
		s.keys.put(ss.GetKeyId(), registry.Key{ID: key.ID, Public: key.Public, AgencyID: key.AgencyID})
	}
	if !s.limiter(key).Allow() {
		return nil, fmt.Errorf("%w: the rate limit of %s (%g statements/s) is exceeded", ErrRateLimited, key.AgencyID, float64(s.opts.RateLimit))
	}
	return key.Public, nil
}

// limiters hold one token bucket per agency (the governance key has its own).
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (s *Server) limiter(k registry.Key) *rate.Limiter {
	id := k.AgencyID
	if id == "" {
		id = "governance"
	}
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	l, ok := s.limits.m[id]
	if !ok {
		l = rate.NewLimiter(s.opts.RateLimit, s.opts.RateBurst)
		s.limits.m[id] = l
	}
	return l
}

// ApplyGovernance implements akashiv1.RegistryServiceServer.
func (r *registryServer) ApplyGovernance(ctx context.Context, req *akashiv1.ApplyGovernanceRequest) (*akashiv1.ApplyGovernanceResponse, error) {
	s := r.s
	payload, p, err := s.prepare(ctx, req.GetStatement(), true)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	rcpt, err := s.log.AppendWith(ctx, payload, p)
	resp, err := s.answer(ctx, rcpt, err)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &akashiv1.ApplyGovernanceResponse{Receipt: resp.GetReceipt(), Duplicate: resp.GetDuplicate()}, nil
}

// registryServer implements akashiv1.RegistryServiceServer.
type registryServer struct {
	akashiv1.UnimplementedRegistryServiceServer
	s *Server
}

// Registry returns the RegistryService of the server.
func (s *Server) Registry() akashiv1.RegistryServiceServer { return &registryServer{s: s} }

func keyInfo(k registry.Key) *akashiv1.KeyInfo {
	return &akashiv1.KeyInfo{
		KeyId: k.ID, PublicKey: k.Public, AgencyId: k.AgencyID, Label: k.Label, Governance: k.Governance,
		RegisteredAt: k.RegisteredAt, Revoked: k.Revoked, RevokedAt: k.RevokedAt, RevocationReason: k.Reason,
	}
}

// agency reads an agency's keys as committed.
func (s *Server) agency(id string) (*akashiv1.Agency, error) {
	prefix := append(joinKey(idxAgencyKey, id), 0)
	var keys []registry.Key
	err := s.log.IndexScan(prefix, func(k, _ []byte) (bool, error) {
		key, found, err := s.committed().Key(string(k[len(prefix):]))
		if err != nil || !found {
			return false, err
		}
		keys = append(keys, key)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no agency %q is registered", ErrNotFound, id)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].RegisteredAt < keys[j].RegisteredAt })
	a := &akashiv1.Agency{Id: id, Name: keys[len(keys)-1].AgencyName}
	for _, k := range keys {
		a.Keys = append(a.Keys, keyInfo(k))
	}
	return a, nil
}

// ListAgencies implements akashiv1.RegistryServiceServer.
func (r *registryServer) ListAgencies(ctx context.Context, _ *akashiv1.ListAgenciesRequest) (*akashiv1.ListAgenciesResponse, error) {
	s := r.s
	size := s.log.Size()
	var ids []string
	err := s.log.IndexScan([]byte{idxAgencyKey}, func(k, _ []byte) (bool, error) {
		if i := indexOf(k[1:], 0); i >= 0 {
			if id := string(k[1 : 1+i]); len(ids) == 0 || ids[len(ids)-1] != id {
				ids = append(ids, id)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	resp := &akashiv1.ListAgenciesResponse{TreeSize: size}
	for _, id := range ids {
		a, err := s.agency(id)
		if err != nil {
			return nil, s.status(ctx, err)
		}
		resp.Agencies = append(resp.Agencies, a)
	}
	if gov, err := s.committed().Governance(); err == nil && gov != "" {
		if k, found, err := s.committed().Key(gov); err == nil && found {
			resp.Governance = keyInfo(k)
		}
	}
	return resp, nil
}

func indexOf(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// GetAgency implements akashiv1.RegistryServiceServer.
func (r *registryServer) GetAgency(ctx context.Context, req *akashiv1.GetAgencyRequest) (*akashiv1.GetAgencyResponse, error) {
	s := r.s
	size := s.log.Size()
	if _, err := record.ParseOrgID(req.GetId()); err != nil {
		return nil, s.status(ctx, record.At("id", err))
	}
	a, err := s.agency(req.GetId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &akashiv1.GetAgencyResponse{Agency: a, TreeSize: size}, nil
}

// GetSigner implements akashiv1.RegistryServiceServer.
func (r *registryServer) GetSigner(ctx context.Context, req *akashiv1.GetSignerRequest) (*akashiv1.GetSignerResponse, error) {
	s := r.s
	size := s.log.Size()
	id := req.GetKeyId()
	if err := record.ValidateKeyID(id); err != nil {
		return nil, s.status(ctx, record.At("key_id", err))
	}
	k, found, err := s.committed().Key(id)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	if !found {
		return nil, s.status(ctx, fmt.Errorf("%w: key %s is not registered", ErrNotFound, id))
	}
	sg, err := s.committed().Signer(id)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	resp := &akashiv1.GetSignerResponse{Key: keyInfo(k), Sequence: sg.Sequence, LastIndex: sg.LastIndex, TreeSize: size}
	if sg.Sequence > 0 {
		resp.LastStatementHash = sg.Last[:]
	}
	return resp, nil
}
