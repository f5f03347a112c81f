// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"fmt"
	"slices"

	"github.com/akashi-ledger/akashi/record"
)

// Memory is a registry held in memory, as an auditor replays it from the
// log. Its zero value is not usable; call NewMemory.
type Memory struct {
	origin     string
	keys       map[string]Key
	signers    map[string]Signer
	governance string
	order      []string // key ids in registration order
}

// NewMemory returns an empty registry for the log named origin.
func NewMemory(origin string) *Memory {
	return &Memory{origin: origin, keys: map[string]Key{}, signers: map[string]Signer{}}
}

// Key implements State.
func (m *Memory) Key(id string) (Key, bool, error) {
	k, ok := m.keys[id]
	return k, ok, nil
}

// Signer implements State.
func (m *Memory) Signer(id string) (Signer, error) { return m.signers[id], nil }

// Governance implements State.
func (m *Memory) Governance() (string, error) { return m.governance, nil }

// Apply applies changes.
func (m *Memory) Apply(changes []Change) {
	for _, c := range changes {
		if c.Key != nil {
			if _, ok := m.keys[c.Key.ID]; !ok {
				m.order = append(m.order, c.Key.ID)
			}
			m.keys[c.Key.ID] = *c.Key
		}
		if c.SignerID != "" {
			m.signers[c.SignerID] = c.Signer
		}
		if c.Governance != "" {
			m.governance = c.Governance
		}
	}
}

// Append checks the entry at index, whose payload is a serialized signed
// statement, against the registry and applies it. It returns an error
// naming the index for a payload that breaks a rule; the registry is then
// unchanged.
func (m *Memory) Append(index uint64, payload []byte) error {
	ss, err := record.DecodeSignedStatement(payload)
	if err != nil {
		return fmt.Errorf("entry %d: %w", index, err)
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		return fmt.Errorf("entry %d: %w", index, err)
	}
	changes, err := Check(m, m.origin, index, Statement{Signed: ss, Statement: st, Hash: record.StatementHash(ss.GetStatement())})
	if err != nil {
		return fmt.Errorf("entry %d: %w", index, err)
	}
	m.Apply(changes)
	return nil
}

// Keys returns every key ever registered, in registration order.
func (m *Memory) Keys() []Key {
	out := make([]Key, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.keys[id])
	}
	return out
}

// Agencies returns the ids of the agencies with keys, sorted.
func (m *Memory) Agencies() []string {
	var ids []string
	for _, k := range m.keys {
		if k.AgencyID != "" && !slices.Contains(ids, k.AgencyID) {
			ids = append(ids, k.AgencyID)
		}
	}
	slices.Sort(ids)
	return ids
}
