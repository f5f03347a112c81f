// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// AuditorState is where a sequential audit stands after Size entries. It is
// small (a few hundred bytes at most) and can be saved to resume an audit.
type AuditorState struct {
	// Size is the number of entries checked so far.
	Size uint64 `json:"size"`
	// ChainHead is chain[Size-1], or GenesisChain when Size is 0.
	ChainHead Hash `json:"chain_head"`
	// LastTime is the integration time of entry Size-1 (0 when Size is 0).
	LastTime int64 `json:"last_time"`
	// Range holds the hashes of the compact range [0, Size): the roots of the
	// perfect subtrees of the tree of Size leaves, largest first.
	Range []Hash `json:"range"`
}

// Auditor checks a log entry by entry, in order: indices without gaps,
// non-decreasing integration times, every chain link, payload digests, and
// the tree root at any size. It keeps O(log n) state.
type Auditor struct {
	st  AuditorState
	rng *compact.Range

	// OnNode, if set, is called with every tree node the auditor completes:
	// its level (0 for leaves), its index within the level, and its hash.
	// The ledger uses it to compare stored tiles with recomputed ones.
	OnNode func(level uint, index uint64, h Hash)
}

// NewAuditor returns an auditor that resumes from st; the zero AuditorState
// starts at the genesis of the log.
func NewAuditor(st AuditorState) (*Auditor, error) {
	rng, err := RangeFactory.NewRange(0, st.Size, toBytes(st.Range))
	if err != nil {
		return nil, fmt.Errorf("%w auditor state: %v", ErrMalformed, err)
	}
	if st.Size == 0 && st.ChainHead != GenesisChain {
		return nil, fmt.Errorf("%w auditor state: empty log with a chain head", ErrMalformed)
	}
	st.Range = append([]Hash(nil), st.Range...)
	return &Auditor{st: st, rng: rng}, nil
}

// State returns the auditor's current state.
func (a *Auditor) State() AuditorState {
	st := a.st
	hs := a.rng.Hashes()
	st.Range = make([]Hash, len(hs))
	for i, h := range hs {
		st.Range[i] = Hash(h)
	}
	return st
}

// Size returns the number of entries checked.
func (a *Auditor) Size() uint64 { return a.st.Size }

// ChainHead returns chain[Size-1].
func (a *Auditor) ChainHead() Hash { return a.st.ChainHead }

// Root returns the root hash of the tree of the entries checked so far.
func (a *Auditor) Root() Hash {
	r, err := RootFromRange(a.rng)
	if err != nil {
		panic("verify: compact range from 0 has no root: " + err.Error()) // unreachable: the range starts at 0
	}
	return r
}

// Append checks the next entry, given its encoded header and its payload. A
// nil payload means the payload was withheld: the header is still checked
// and linked, but no digest is compared.
func (a *Auditor) Append(header, payload []byte) error {
	h, err := ParseHeader(header)
	if err != nil {
		return &EntryError{Index: a.st.Size, Err: err}
	}
	if payload != nil {
		if err := CheckPayload(h, payload); err != nil {
			return err
		}
	}
	return a.AppendParsed(h, LeafHash(header))
}

// AppendParsed is Append for a header already parsed and hashed by the
// caller (who also checked the payload digest, if there is one). leaf must
// be LeafHash of the header's encoding.
func (a *Auditor) AppendParsed(h Header, leaf Hash) error {
	i := a.st.Size
	if h.Index != i {
		return entryErr(i, "%w: header names index %d", ErrMismatch, h.Index)
	}
	if h.PrevChain != a.st.ChainHead {
		return entryErr(i, "%w: header links to chain hash %v, previous entry's chain hash is %v", ErrMismatch, h.PrevChain, a.st.ChainHead)
	}
	if i > 0 && h.Time < a.st.LastTime {
		return entryErr(i, "%w: integration time %v is before the previous entry's %v", ErrMismatch, h.IntegrationTime(), Header{Time: a.st.LastTime}.IntegrationTime())
	}
	var visit compact.VisitFn
	if a.OnNode != nil {
		visit = func(id compact.NodeID, b []byte) { a.OnNode(id.Level, id.Index, Hash(b)) }
	}
	if err := a.rng.Append(leaf[:], visit); err != nil {
		return entryErr(i, "appending to compact range: %v", err)
	}
	a.st.Size++
	a.st.ChainHead = ChainHash(h.PrevChain, leaf)
	a.st.LastTime = h.Time
	return nil
}

// CheckCheckpoint checks that c describes the tree the auditor has seen:
// same size and same root.
func (a *Auditor) CheckCheckpoint(c Checkpoint) error {
	if c.Size != a.st.Size {
		return fmt.Errorf("%w: checkpoint size %d, auditor is at %d", ErrMismatch, c.Size, a.st.Size)
	}
	if r := a.Root(); r != c.Root {
		return fmt.Errorf("%w: checkpoint at size %d has root %v, the entries hash to %v", ErrMismatch, c.Size, c.Root, r)
	}
	return nil
}
