// SPDX-License-Identifier: Apache-2.0

package query

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/akashi-ledger/akashi/ledger"
)

// Posting lists.
//
// A term's posting list is the ascending list of the log indexes of the
// records that have the term. It is written append-only, in three tiers,
// so that an append rewrites one small key (many appends in a batch
// rewrite the same key, which Badger writes once) and a reader of a long
// list reads a few large keys:
//
//	chunk     'q' 't' term 0x00 'C' group:4 slot:1   ≤ maxChunk bytes: uvarint first index, uvarint deltas
//	big block 'q' 't' term 0x00 'B' group:4          the 64 chunks of a complete group: (len:1 chunk)*64
//
// A term's postings fill the chunks of group 0, slots 0..63, then group 1,
// and so on; when the 64th chunk of a group is full, the next posting
// writes the group's big block (in the same batch) and starts the next
// group. A reader takes the big blocks in order, then the chunks of the
// first group without a big block.

const (
	// maxChunk bounds a chunk: small, so that rewriting it with every
	// posting keeps a batch's transaction small.
	maxChunk = 32
	// chunksPerGroup is the number of chunks a big block gathers.
	chunksPerGroup = 64
)

func termPrefix(term []byte) []byte {
	k := make([]byte, 0, 2+len(term)+1+6)
	k = append(k, prefixQuery, tagTerm)
	k = append(k, term...)
	return append(k, 0)
}

func bigKey(term []byte, group uint32) []byte {
	k := append(termPrefix(term), 'B')
	return binary.BigEndian.AppendUint32(k, group)
}

func chunkPrefix(term []byte, group uint32) []byte {
	k := append(termPrefix(term), 'C')
	return binary.BigEndian.AppendUint32(k, group)
}

func chunkKey(term []byte, group uint32, slot int) []byte {
	return append(chunkPrefix(term, group), byte(slot))
}

// appendPostings decodes a chunk (uvarint first, uvarint deltas) onto out.
func appendPostings(out []uint32, chunk []byte) ([]uint32, error) {
	var cur uint64
	for i := 0; len(chunk) > 0; i++ {
		v, n := binary.Uvarint(chunk)
		if n <= 0 {
			return out, fmt.Errorf("%w: malformed posting chunk", ledger.ErrCorrupt)
		}
		chunk = chunk[n:]
		if i == 0 {
			cur = v
		} else {
			cur += v
		}
		if cur > math.MaxUint32 {
			return out, errTooLarge
		}
		out = append(out, uint32(cur))
	}
	return out, nil
}

// appendBig decodes a big block onto out.
func appendBig(out []uint32, b []byte) ([]uint32, error) {
	for len(b) > 0 {
		n := int(b[0])
		if 1+n > len(b) {
			return out, fmt.Errorf("%w: malformed posting block", ledger.ErrCorrupt)
		}
		var err error
		if out, err = appendPostings(out, b[1:1+n]); err != nil {
			return out, err
		}
		b = b[1+n:]
	}
	return out, nil
}

var errTooLarge = errors.New("query: the log has more than 2^32 entries")

// termState is what the indexer keeps in memory about a term's list.
type termState struct {
	group uint32
	slot  int    // the current chunk's slot; chunksPerGroup when the group is full
	chunk []byte // the current chunk: append-only, so values handed out stay valid
	last  uint64
}

// loadTerm finds where a term's list stands, through the sequencer's view.
func loadTerm(v ledger.View, term []byte) (*termState, error) {
	exists := func(key []byte) (bool, error) {
		_, err := v.Get(key)
		if errors.Is(err, ledger.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	// The number of big blocks (0..G-1 exist): exponential, then binary
	// search.
	lo, hi := uint32(0), uint32(1) // blocks below lo exist, hi does not
	ok, err := exists(bigKey(term, 0))
	if err != nil {
		return nil, err
	}
	if ok {
		lo = 1
		for {
			ok, err := exists(bigKey(term, hi))
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if hi >= 1<<30 {
				return nil, fmt.Errorf("%w: posting list of %q is too long", ledger.ErrCorrupt, term)
			}
			lo, hi = hi+1, hi*2
		}
		for lo < hi {
			m := lo + (hi-lo)/2
			ok, err := exists(bigKey(term, m))
			if err != nil {
				return nil, err
			}
			if ok {
				lo = m + 1
			} else {
				hi = m
			}
		}
	}
	st := &termState{group: lo}
	// The number of chunks in the group: binary search over slots.
	a, b := 0, chunksPerGroup // chunks 0..a-1 exist, b.. do not
	for a < b {
		m := (a + b) / 2
		ok, err := exists(chunkKey(term, lo, m))
		if err != nil {
			return nil, err
		}
		if ok {
			a = m + 1
		} else {
			b = m
		}
	}
	if a == 0 {
		return st, nil
	}
	c, err := v.Get(chunkKey(term, lo, a-1))
	if err != nil {
		return nil, err
	}
	ps, err := appendPostings(nil, c)
	if err != nil || len(ps) == 0 {
		return nil, fmt.Errorf("%w: chunk %d/%d of %q", ledger.ErrCorrupt, lo, a-1, term)
	}
	st.slot = a - 1
	st.chunk = append(make([]byte, 0, maxChunk), c...)
	st.last = uint64(ps[len(ps)-1])
	return st, nil
}

// add appends index to the term's list and returns the keys to write.
func (st *termState) add(v ledger.View, term []byte, index uint64, kvs []ledger.KV) ([]ledger.KV, error) {
	var enc [binary.MaxVarintLen64]byte
	var n int
	if len(st.chunk) > 0 {
		if index <= st.last {
			return kvs, fmt.Errorf("%w: posting %d after %d in %q", ledger.ErrCorrupt, index, st.last, term)
		}
		n = binary.PutUvarint(enc[:], index-st.last)
		if len(st.chunk)+n > maxChunk {
			st.slot++
			st.chunk = nil
		}
	}
	if st.slot == chunksPerGroup { // the group is full: write its big block
		big := make([]byte, 0, chunksPerGroup*(maxChunk+1))
		for s := range chunksPerGroup {
			c, err := v.Get(chunkKey(term, st.group, s))
			if err != nil {
				return kvs, fmt.Errorf("sealing %q group %d: %w", term, st.group, err)
			}
			big = append(big, byte(len(c)))
			big = append(big, c...)
		}
		kvs = append(kvs, ledger.KV{Key: bigKey(term, st.group), Value: big})
		st.group++
		st.slot = 0
		st.chunk = nil
	}
	if len(st.chunk) == 0 {
		st.chunk = make([]byte, 0, maxChunk)
		n = binary.PutUvarint(enc[:], index)
	}
	st.chunk = append(st.chunk, enc[:n]...)
	st.last = index
	return append(kvs, ledger.KV{Key: chunkKey(term, st.group, st.slot), Value: st.chunk}), nil
}

// Store is what the query engine reads: the log's committed index keys.
// *ledger.Log implements it.
type Store interface {
	// IndexGet returns the value of an index key, or an error wrapping
	// ledger.ErrNotFound.
	IndexGet(key []byte) ([]byte, error)
	// IndexScan calls f with every index key starting with prefix, in
	// key order, until f returns false or an error.
	IndexScan(prefix []byte, f func(key, value []byte) (bool, error)) error
}

// readTerm returns a term's postings below size, ascending. The caller
// has read size from a published tree head before calling, so every
// posting below it is committed.
func readTerm(s Store, term []byte, size uint64, out []uint32) ([]uint32, error) {
	start := len(out)
	groups := uint32(0)
	pfx := append(termPrefix(term), 'B')
	err := s.IndexScan(pfx, func(k, v []byte) (bool, error) {
		if len(k) != len(pfx)+4 || binary.BigEndian.Uint32(k[len(pfx):]) != groups {
			return false, fmt.Errorf("%w: posting blocks of %q are not contiguous", ledger.ErrCorrupt, term)
		}
		groups++
		var err error
		out, err = appendBig(out, v)
		if err != nil {
			return false, err
		}
		// Stop early once past size.
		return len(out) == start || uint64(out[len(out)-1]) < size, nil
	})
	if err != nil {
		return out, err
	}
	if len(out) == start || uint64(out[len(out)-1]) < size {
		err = s.IndexScan(chunkPrefix(term, groups), func(_, v []byte) (bool, error) {
			var err error
			out, err = appendPostings(out, v)
			return err == nil && uint64(out[len(out)-1]) < size, err
		})
		if err != nil {
			return out, err
		}
	}
	// Cut at size.
	end := len(out)
	for end > start && uint64(out[end-1]) >= size {
		end--
	}
	return out[:end], nil
}
