// SPDX-License-Identifier: Apache-2.0

package query

import (
	"math"
	"math/bits"
	"slices"
)

// set is a set of log indexes below size: a sorted list when sparse, a
// bitmap when dense (more than one index in 32), so that unions and
// intersections of long posting lists cost a pass over words.
type set struct {
	size uint64
	list []uint32 // when bits is nil
	bits []uint64
	n    int
}

func dense(n int, size uint64) bool { return uint64(n)*32 > size }

func words(size uint64) int { return int((size + 63) / 64) }

func listSet(l []uint32, size uint64) *set { return &set{size: size, list: l, n: len(l)} }

func bitSet(b []uint64, size uint64) *set {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return &set{size: size, bits: b, n: n}
}

// unionOf returns the postings of ps below size.
func unionOf(ps []plist, size uint64) (*set, error) {
	total := 0
	for _, p := range ps {
		total += p.count()
	}
	if dense(total, size) {
		b := make([]uint64, words(size))
		for _, p := range ps {
			if err := p.fill(b, size); err != nil {
				return nil, err
			}
		}
		return bitSet(b, size), nil
	}
	var l []uint32
	for _, p := range ps {
		var err error
		if l, err = p.decode(l, size); err != nil {
			return nil, err
		}
	}
	if len(ps) > 1 {
		slices.Sort(l)
		l = slices.Compact(l)
	}
	return listSet(l, size), nil
}

func (s *set) len() int { return s.n }

// holds reports whether the log index i is in s.
func (s *set) holds(i uint64) bool { return i < s.size && s.has(uint32(i)) }

func (s *set) has(v uint32) bool {
	if s.bits != nil {
		return uint64(v) < s.size && s.bits[v>>6]&(1<<(v&63)) != 0
	}
	_, ok := slices.BinarySearch(s.list, v)
	return ok
}

// and returns the intersection of s and o.
func (s *set) and(o *set) *set {
	if s.bits != nil && o.bits != nil {
		b := make([]uint64, len(s.bits))
		for i := range b {
			b[i] = s.bits[i] & o.bits[i]
		}
		return bitSet(b, s.size)
	}
	a, b := s, o
	if a.bits != nil {
		a, b = b, a
	}
	out := make([]uint32, 0, min(a.n, b.n))
	if b.bits == nil && len(b.list) < 16*len(a.list) {
		j := 0
		for _, v := range a.list {
			for j < len(b.list) && b.list[j] < v {
				j++
			}
			if j < len(b.list) && b.list[j] == v {
				out = append(out, v)
			}
		}
	} else {
		for _, v := range a.list {
			if b.has(v) {
				out = append(out, v)
			}
		}
	}
	return listSet(out, s.size)
}

// intersect returns the intersection of sets, smallest first.
func intersect(sets []*set, size uint64) *set {
	if len(sets) == 0 {
		return listSet(nil, size)
	}
	slices.SortFunc(sets, func(a, b *set) int { return a.n - b.n })
	r := sets[0]
	for _, o := range sets[1:] {
		if r.n == 0 {
			break
		}
		r = r.and(o)
	}
	return r
}

// or returns the union of s and o.
func (s *set) or(o *set) *set {
	if s.n == 0 {
		return o
	}
	if o.n == 0 {
		return s
	}
	if s.bits != nil || o.bits != nil || dense(s.n+o.n, s.size) {
		b := make([]uint64, words(s.size))
		for _, x := range []*set{s, o} {
			if x.bits != nil {
				for i, w := range x.bits {
					b[i] |= w
				}
			} else {
				for _, v := range x.list {
					b[v>>6] |= 1 << (v & 63)
				}
			}
		}
		return bitSet(b, s.size)
	}
	l := append(slices.Clone(s.list), o.list...)
	slices.Sort(l)
	return listSet(slices.Compact(l), s.size)
}

// filter returns the members for which keep is true.
func (s *set) filter(keep func(uint32) bool) *set {
	if s.bits != nil {
		b := slices.Clone(s.bits)
		s.ascend(0, func(v uint32) bool {
			if !keep(v) {
				b[v>>6] &^= 1 << (v & 63)
			}
			return true
		})
		return bitSet(b, s.size)
	}
	out := make([]uint32, 0, len(s.list))
	for _, v := range s.list {
		if keep(v) {
			out = append(out, v)
		}
	}
	return listSet(out, s.size)
}

// minus returns the members of s not in o.
func (s *set) minus(o *set) *set {
	if s.bits != nil && o.bits != nil {
		b := make([]uint64, len(s.bits))
		for i := range b {
			b[i] = s.bits[i] &^ o.bits[i]
		}
		return bitSet(b, s.size)
	}
	return s.filter(func(v uint32) bool { return !o.has(v) })
}

// restrict returns the members in [lo, hi).
func (s *set) restrict(lo, hi uint64) *set {
	hi = min(hi, s.size)
	if lo >= hi {
		return listSet(nil, s.size)
	}
	if s.bits == nil {
		i, _ := slices.BinarySearch(s.list, uint32(lo))
		j, _ := slices.BinarySearch(s.list, uint32(min(hi, math.MaxUint32)))
		if uint64(hi) > math.MaxUint32 {
			j = len(s.list)
		}
		return listSet(s.list[i:j], s.size)
	}
	return s.filter(func(v uint32) bool { return uint64(v) >= lo && uint64(v) < hi })
}

// ascend calls f with the members from from on, ascending, until f
// returns false.
func (s *set) ascend(from uint32, f func(uint32) bool) {
	if s.bits == nil {
		i, _ := slices.BinarySearch(s.list, from)
		for _, v := range s.list[i:] {
			if !f(v) {
				return
			}
		}
		return
	}
	wi := int(from >> 6)
	if wi >= len(s.bits) {
		return
	}
	w := s.bits[wi] &^ (1<<(from&63) - 1)
	for {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			if !f(uint32(wi<<6 + t)) {
				return
			}
			w &= w - 1
		}
		wi++
		if wi >= len(s.bits) {
			return
		}
		w = s.bits[wi]
	}
}

// descend calls f with the members up to from, descending, until f
// returns false.
func (s *set) descend(from uint32, f func(uint32) bool) {
	if s.bits == nil {
		i, found := slices.BinarySearch(s.list, from)
		if found {
			i++
		}
		for k := i - 1; k >= 0; k-- {
			if !f(s.list[k]) {
				return
			}
		}
		return
	}
	if len(s.bits) == 0 {
		return
	}
	wi := int(from >> 6)
	var w uint64
	if wi >= len(s.bits) {
		wi = len(s.bits) - 1
		w = s.bits[wi]
	} else {
		w = s.bits[wi]
		if b := from & 63; b < 63 {
			w &= 1<<(b+1) - 1
		}
	}
	for {
		for w != 0 {
			t := 63 - bits.LeadingZeros64(w)
			if !f(uint32(wi<<6 + t)) {
				return
			}
			w &^= 1 << t
		}
		wi--
		if wi < 0 {
			return
		}
		w = s.bits[wi]
	}
}

// asBits returns s as a bitmap.
func (s *set) asBits() *set {
	if s.bits != nil {
		return s
	}
	b := make([]uint64, words(s.size))
	for _, v := range s.list {
		b[v>>6] |= 1 << (v & 63)
	}
	return &set{size: s.size, bits: b, n: s.n}
}

// slice returns the members, ascending.
func (s *set) slice() []uint32 {
	if s.bits == nil {
		return s.list
	}
	out := make([]uint32, 0, s.n)
	s.ascend(0, func(v uint32) bool { out = append(out, v); return true })
	return out
}

// first and last return the smallest and largest members; false if
// empty.
func (s *set) first() (uint32, bool) {
	var out uint32
	ok := false
	s.ascend(0, func(v uint32) bool { out, ok = v, true; return false })
	return out, ok
}

func (s *set) last() (uint32, bool) {
	var out uint32
	ok := false
	s.descend(math.MaxUint32, func(v uint32) bool { out, ok = v, true; return false })
	return out, ok
}
