// SPDX-License-Identifier: Apache-2.0

package query

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/akashi-ledger/akashi/ledger"
)

// Posting lists.
//
// A term's posting list is the ascending list of the log indexes of the
// records that have the term. The [Follower] appends to it once per chunk
// of the log it indexes, whatever the number of the chunk's records that
// have the term, and keeps it in a few keys, so that appending rewrites
// little and reading a long list reads a few large values:
//
//	'q' 't' term 0x00 'S' first:4   a sealed segment: the postings from first on
//	'q' 't' term 0x00 'T'           the head: the directory of the sealed
//	                                segments and the tail, the postings after them
//
// A tail is a run: uvarint first posting, then uvarint deltas. A segment
// is a run after the byte 'r', or a bitmap after the byte 'b': uvarint
// base (a multiple of 64), then bytes whose bit j of byte k says whether
// base+8k+j is a posting, padded to a multiple of 8 bytes; whichever is
// smaller, so that the long lists of common terms (every disbursement,
// every record of Tokyo) cost a bit per log index, and read as fast as
// memory copies. A head is
//
//	uvarint n | n × (uvarint first, uvarint length) | uvarint last+1 | tail run
//
// where the pairs describe the sealed segments in order, last is the
// term's last posting (0 for none) and the tail run may be empty. A chunk
// appends its postings to the tail and rewrites the head; a tail of
// [tailMax] bytes or more is sealed as a segment. Segments are merged
// like the runs of a log-structured merge tree: the level of a segment of
// n bytes is ⌊log₈(n/tailMax)⌋, and when the trailing segments of the
// last one's level or lower number [mergeFan], they are merged into one
// (unless that would pass [maxSegment] bytes). So a list of n bytes has
// O(log n) segments, and each posting is rewritten O(log n) times.
// Sparse terms, the vast majority, live in their head alone.
//
// A reader takes a term's keys in one read transaction, which sees a
// whole merge or none of it, and cuts the list at the tree size it
// answers for.

const (
	// tailMax is the size from which a tail is sealed.
	tailMax = 192
	// mergeFan is the number of segments of a level merged at once.
	mergeFan = 8
	// maxSegment bounds a merged segment (and so does an eighth of the
	// store's transaction limit), so that a merge always fits in an index
	// transaction.
	maxSegment = 256 << 10
)

func termPrefix(term string) []byte {
	k := make([]byte, 0, 2+len(term)+1+5)
	k = append(k, prefixQuery, tagTerm)
	k = append(k, term...)
	return append(k, 0)
}

func segKey(term string, first uint32) []byte {
	return binary.BigEndian.AppendUint32(append(termPrefix(term), 'S'), first)
}

func headKey(term string) []byte { return append(termPrefix(term), 'T') }

// appendRun appends ps (ascending) to run, a run whose last posting is
// last (if has).
func appendRun(run []byte, last uint32, has bool, ps []uint32) []byte {
	for _, p := range ps {
		if has {
			run = binary.AppendUvarint(run, uint64(p-last))
		} else {
			run = binary.AppendUvarint(run, uint64(p))
			has = true
		}
		last = p
	}
	return run
}

var errTooLarge = errors.New("query: the log has more than 2^32 entries")

// appendPostings decodes a run onto out.
func appendPostings(out []uint32, run []byte) ([]uint32, error) {
	var cur uint64
	for i := 0; len(run) > 0; i++ {
		v, n := binary.Uvarint(run)
		if n <= 0 {
			return out, fmt.Errorf("%w: malformed posting run", ledger.ErrCorrupt)
		}
		run = run[n:]
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

// Segment formats.
const (
	segRun    = 'r'
	segBitmap = 'b'
)

// encodeSegment encodes postings (ascending, at least one) as a segment.
func encodeSegment(ps []uint32) []byte {
	runBytes := 0
	prev := uint32(0)
	for i, p := range ps {
		d := p - prev
		if i == 0 {
			d = p
		}
		runBytes += uvarintLen(uint64(d))
		prev = p
	}
	base := ps[0] &^ 63
	words := int((ps[len(ps)-1]-base)/64) + 1
	if words*8+uvarintLen(uint64(base)) < runBytes {
		b := make([]byte, 0, 1+5+words*8)
		b = append(b, segBitmap)
		b = binary.AppendUvarint(b, uint64(base))
		n := len(b)
		b = b[:n+words*8]
		for _, p := range ps {
			o := p - base
			b[n+int(o>>3)] |= 1 << (o & 7)
		}
		return b
	}
	b := make([]byte, 0, 1+runBytes)
	return appendRun(append(b, segRun), 0, false, ps)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// segment is a segment as read: a run or a bitmap without its format
// byte.
type segment struct {
	data   []byte
	bitmap bool
}

func parseSegment(v []byte) (segment, error) {
	if len(v) < 2 || v[0] != segRun && v[0] != segBitmap {
		return segment{}, fmt.Errorf("%w: malformed posting segment", ledger.ErrCorrupt)
	}
	return segment{data: v[1:], bitmap: v[0] == segBitmap}, nil
}

// bitmapBase splits a bitmap segment into its base and bytes.
func bitmapBase(b []byte) (uint64, []byte, error) {
	base, n := binary.Uvarint(b)
	if n <= 0 || base%64 != 0 || base > math.MaxUint32 || (len(b)-n)%8 != 0 {
		return 0, nil, fmt.Errorf("%w: malformed posting bitmap", ledger.ErrCorrupt)
	}
	return base, b[n:], nil
}

// decode appends the segment's postings below size to out.
func (sg segment) decode(out []uint32, size uint64) ([]uint32, error) {
	if !sg.bitmap {
		start := len(out)
		out, err := appendPostings(out, sg.data)
		if err != nil {
			return out, err
		}
		end := len(out)
		for end > start && uint64(out[end-1]) >= size {
			end--
		}
		return out[:end], nil
	}
	base, b, err := bitmapBase(sg.data)
	if err != nil {
		return out, err
	}
	for k := 0; k < len(b); k += 8 {
		w := binary.LittleEndian.Uint64(b[k:])
		for w != 0 {
			v := base + uint64(k)*8 + uint64(bits.TrailingZeros64(w))
			if v >= size {
				return out, nil
			}
			out = append(out, uint32(v))
			w &= w - 1
		}
	}
	return out, nil
}

// fill sets the bits of the segment's postings below size.
func (sg segment) fill(dst []uint64, size uint64) error {
	if !sg.bitmap {
		var cur uint64
		r := sg.data
		for i := 0; len(r) > 0; i++ {
			v, n := binary.Uvarint(r)
			if n <= 0 {
				return fmt.Errorf("%w: malformed posting run", ledger.ErrCorrupt)
			}
			r = r[n:]
			if i == 0 {
				cur = v
			} else {
				cur += v
			}
			if cur >= size {
				return nil
			}
			dst[cur>>6] |= 1 << (cur & 63)
		}
		return nil
	}
	base, b, err := bitmapBase(sg.data)
	if err != nil {
		return err
	}
	wi := int(base / 64)
	for k := 0; k < len(b); k, wi = k+8, wi+1 {
		w := binary.LittleEndian.Uint64(b[k:])
		if end := uint64(wi+1) * 64; end > size {
			if uint64(wi)*64 >= size {
				return nil
			}
			w &= 1<<(size%64) - 1
			dst[wi] |= w
			return nil
		}
		dst[wi] |= w
	}
	return nil
}

// segInfo describes a sealed segment.
type segInfo struct {
	first uint32
	n     int // bytes
}

// termState is a term's head, as the follower keeps it.
type termState struct {
	segs []segInfo
	last uint32
	has  bool
	tail []byte
}

func (st *termState) encodeHead() []byte {
	b := make([]byte, 0, 4+len(st.segs)*6+5+len(st.tail))
	b = binary.AppendUvarint(b, uint64(len(st.segs)))
	for _, s := range st.segs {
		b = binary.AppendUvarint(b, uint64(s.first))
		b = binary.AppendUvarint(b, uint64(s.n))
	}
	last := uint64(0)
	if st.has {
		last = uint64(st.last) + 1
	}
	b = binary.AppendUvarint(b, last)
	return append(b, st.tail...)
}

// parseHead splits a head into its segments, its last posting and its
// tail; it keeps segs nil when skipSegs.
func parseHead(b []byte, skipSegs bool) (*termState, error) {
	bad := fmt.Errorf("%w: malformed posting head", ledger.ErrCorrupt)
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	st := &termState{}
	if !skipSegs {
		st.segs = make([]segInfo, 0, n)
	}
	for range n {
		first, k1 := binary.Uvarint(b)
		if k1 <= 0 || first > math.MaxUint32 {
			return nil, bad
		}
		size, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 || size > math.MaxInt32 {
			return nil, bad
		}
		b = b[k1+k2:]
		if !skipSegs {
			st.segs = append(st.segs, segInfo{first: uint32(first), n: int(size)})
		}
	}
	last, k := binary.Uvarint(b)
	if k <= 0 || last > math.MaxUint32+1 {
		return nil, bad
	}
	if last > 0 {
		st.last, st.has = uint32(last-1), true
	}
	st.tail = b[k:]
	return st, nil
}

// level returns the merge level of a segment of n bytes.
func level(n int) int {
	l := 0
	for n >= tailMax*mergeFan {
		n /= mergeFan
		l++
	}
	return l
}

// add appends ps (ascending, after the term's last posting) to the term,
// staging its writes in ws.
func (st *termState) add(term string, ps []uint32, ws *writeSet) error {
	if len(ps) == 0 {
		return nil
	}
	if st.has && ps[0] <= st.last {
		return fmt.Errorf("%w: posting %d after %d in %q", ledger.ErrCorrupt, ps[0], st.last, term)
	}
	tail := appendRun(slices.Clip(st.tail), st.last, st.has && len(st.tail) > 0, ps)
	st.last, st.has = ps[len(ps)-1], true
	if len(tail) >= tailMax {
		all, err := appendPostings(make([]uint32, 0, len(tail)), tail)
		if err != nil {
			return err
		}
		seg := encodeSegment(all)
		ws.set(segKey(term, all[0]), seg)
		st.segs = append(st.segs, segInfo{first: all[0], n: len(seg)})
		tail = nil
	}
	st.tail = tail
	ws.set(headKey(term), st.encodeHead())
	return nil
}

// mergeRun returns the position of the first of the trailing segments to
// merge, or -1 if none are due; a merge makes a segment of at most
// maxSeg bytes.
func (st *termState) mergeRun(maxSeg int) int {
	k := len(st.segs)
	if k < mergeFan {
		return -1
	}
	l := level(st.segs[k-1].n)
	i, total := k, 0
	for i > 0 && level(st.segs[i-1].n) <= l && total+st.segs[i-1].n <= maxSeg {
		i--
		total += st.segs[i].n
	}
	if k-i < mergeFan {
		return -1
	}
	return i
}

// mergeCost returns what merging the segments from i on adds to a
// transaction: keys written and bytes.
func (st *termState) mergeCost(term string, i int) (int, int64) {
	n := 0
	for _, s := range st.segs[i:] {
		n += s.n
	}
	keys := len(st.segs) - i + 1
	return keys, int64(n + keys*(len(term)+24) + len(st.segs)*8 + len(st.tail))
}

// merge merges the segments from i on, staging the writes in ws.
func (st *termState) merge(term string, i int, ws *writeSet) error {
	run := st.segs[i:]
	var ps []uint32
	for _, s := range run {
		v, err := ws.get(segKey(term, s.first))
		if err != nil {
			return fmt.Errorf("merging postings of %q: %w", term, err)
		}
		n := len(ps)
		sg, err := parseSegment(v)
		if err != nil {
			return err
		}
		if ps, err = sg.decode(ps, math.MaxUint64); err != nil {
			return err
		}
		if len(ps) == n || ps[n] != s.first || n > 0 && ps[n] <= ps[n-1] {
			return fmt.Errorf("%w: segment %d of %q", ledger.ErrCorrupt, s.first, term)
		}
	}
	enc := encodeSegment(ps)
	ws.set(segKey(term, run[0].first), enc)
	for _, s := range run[1:] {
		ws.del(segKey(term, s.first))
	}
	st.segs = append(st.segs[:i:i], segInfo{first: run[0].first, n: len(enc)})
	ws.set(headKey(term), st.encodeHead())
	return nil
}

// writeSet stages the writes of an index transaction.
type writeSet struct {
	store Store
	m     map[string]staged
	bytes int64
}

type staged struct {
	value []byte
	del   bool
}

// writeOverhead is what Badger adds to each write of a transaction, about.
const writeOverhead = 24

func newWriteSet(s Store) *writeSet { return &writeSet{store: s, m: map[string]staged{}} }

func (w *writeSet) cost(k string, s staged) int64 {
	return int64(len(k) + len(s.value) + writeOverhead)
}

func (w *writeSet) put(k []byte, s staged) {
	ks := string(k)
	if old, ok := w.m[ks]; ok {
		w.bytes -= w.cost(ks, old)
	}
	w.m[ks] = s
	w.bytes += w.cost(ks, s)
}

func (w *writeSet) set(k, v []byte) { w.put(k, staged{value: v}) }
func (w *writeSet) del(k []byte)    { w.put(k, staged{del: true}) }

// get reads a key as the transaction would: staged, or committed.
func (w *writeSet) get(k []byte) ([]byte, error) {
	if s, ok := w.m[string(k)]; ok {
		if s.del {
			return nil, fmt.Errorf("%w: index key %q", ledger.ErrNotFound, k)
		}
		return s.value, nil
	}
	return w.store.IndexGet(k)
}

func (w *writeSet) count() int { return len(w.m) }

func (w *writeSet) apply(txn ledger.IndexTxn) error {
	for k, s := range w.m {
		var err error
		if s.del {
			err = txn.Delete([]byte(k))
		} else {
			err = txn.Set([]byte(k), s.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Store is what the query engine reads: the log's committed index keys.
// *ledger.Log implements it.
type Store interface {
	// IndexGet returns the value of an index key, or an error wrapping
	// ledger.ErrNotFound.
	IndexGet(key []byte) ([]byte, error)
	// IndexScan calls f with every index key starting with prefix, in
	// key order, until f returns false or an error, in one read
	// transaction.
	IndexScan(prefix []byte, f func(key, value []byte) (bool, error)) error
	// IndexIterate calls f with the index keys of r, in key order or
	// reverse, until f returns false or an error, in one read
	// transaction.
	IndexIterate(ctx context.Context, r ledger.IndexRange, f func(key, value []byte) (bool, error)) error
}

// plist is a term's posting list as read: its segments and tail, in
// order. They hold the values read, which stay valid.
type plist struct {
	segs  []segment
	bytes int
}

func (p *plist) add(sg segment) {
	if len(sg.data) > 0 {
		p.segs = append(p.segs, sg)
		p.bytes += len(sg.data)
	}
}

// count returns an upper bound of the postings.
func (p plist) count() int {
	n := 0
	for _, sg := range p.segs {
		if sg.bitmap {
			n += (len(sg.data) - 1) * 8
		} else {
			n += len(sg.data)
		}
	}
	return n
}

// decode appends the postings below size to out.
func (p plist) decode(out []uint32, size uint64) ([]uint32, error) {
	for _, sg := range p.segs {
		var err error
		if out, err = sg.decode(out, size); err != nil {
			return out, err
		}
	}
	return out, nil
}

// members appends the postings below size that are in m, a bitmap set,
// to out.
func (p plist) members(out []uint32, m *set, size uint64) ([]uint32, error) {
	for _, sg := range p.segs {
		if !sg.bitmap {
			n := len(out)
			var err error
			if out, err = sg.decode(out, size); err != nil {
				return out, err
			}
			k := n
			for _, v := range out[n:] {
				if m.bits[v>>6]&(1<<(v&63)) != 0 {
					out[k] = v
					k++
				}
			}
			out = out[:k]
			continue
		}
		base, b, err := bitmapBase(sg.data)
		if err != nil {
			return out, err
		}
		wi := int(base / 64)
		for k := 0; k < len(b) && wi < len(m.bits); k, wi = k+8, wi+1 {
			w := binary.LittleEndian.Uint64(b[k:]) & m.bits[wi]
			for w != 0 {
				v := uint64(wi)*64 + uint64(bits.TrailingZeros64(w))
				if v >= size {
					return out, nil
				}
				out = append(out, uint32(v))
				w &= w - 1
			}
		}
	}
	return out, nil
}

// fill sets the bits of the postings below size.
func (p plist) fill(bits []uint64, size uint64) error {
	for _, sg := range p.segs {
		if err := sg.fill(bits, size); err != nil {
			return err
		}
	}
	return nil
}

// readTerm reads a term's postings list. The caller cuts it at the size
// it answers for.
func readTerm(s Store, term string, size uint64) (plist, error) {
	var p plist
	pfx := termPrefix(term)
	err := s.IndexScan(pfx, func(k, v []byte) (bool, error) {
		more, err := p.addKey(k[len(pfx):], v, size)
		return more, err
	})
	return p, err
}

// addKey adds the postings of a key of the term, given its suffix (after
// the term's NUL): a segment or the head. It reports whether later keys
// may hold postings below size.
func (p *plist) addKey(suffix, v []byte, size uint64) (bool, error) {
	switch {
	case len(suffix) == 5 && suffix[0] == 'S':
		if uint64(binary.BigEndian.Uint32(suffix[1:])) >= size {
			return false, nil
		}
		sg, err := parseSegment(v)
		if err != nil {
			return false, err
		}
		p.add(sg)
	case len(suffix) == 1 && suffix[0] == 'T':
		h, err := parseHead(v, true)
		if err != nil {
			return false, err
		}
		p.add(segment{data: h.tail})
	default:
		return false, fmt.Errorf("%w: posting key suffix %q", ledger.ErrCorrupt, suffix)
	}
	return true, nil
}

// scanTerms calls f with the terms of a field whose terms all have
// termLen bytes and start with prefix (the field byte and more), and
// their postings, in term order or reverse, from the term start on
// (inclusive; all terms when empty), until f returns false.
func scanTerms(ctx context.Context, s Store, prefix string, termLen int, start string, reverse bool, size uint64, f func(term string, p plist) (bool, error)) error {
	r := ledger.IndexRange{Prefix: append([]byte{prefixQuery, tagTerm}, prefix...), Reverse: reverse}
	if start != "" {
		r.Start = append([]byte{prefixQuery, tagTerm}, start...)
		if reverse {
			r.Start = append(r.Start, 0, 0xff)
		}
	}
	var cur []byte // the current term
	type kv struct{ suffix, v []byte }
	var keys []kv
	flush := func() (bool, error) {
		if cur == nil {
			return true, nil
		}
		if reverse {
			slices.Reverse(keys)
		}
		var p plist
		for _, x := range keys {
			more, err := p.addKey(x.suffix, x.v, size)
			if err != nil {
				return false, err
			}
			if !more {
				break
			}
		}
		keys = keys[:0]
		return f(string(cur), p)
	}
	stopped := false
	err := s.IndexIterate(ctx, r, func(k, v []byte) (bool, error) {
		if len(k) < 2+termLen+2 || k[2+termLen] != 0 {
			return false, fmt.Errorf("%w: index key %q in a field of %d-byte terms", ledger.ErrCorrupt, k, termLen)
		}
		t := k[2 : 2+termLen]
		if cur != nil && !bytes.Equal(t, cur) {
			more, err := flush()
			if err != nil || !more {
				stopped = true
				return false, err
			}
		}
		cur = t
		keys = append(keys, kv{k[2+termLen+1:], v})
		return true, nil
	})
	if err != nil || stopped {
		return err
	}
	_, err = flush()
	return err
}
