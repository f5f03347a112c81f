// SPDX-License-Identifier: Apache-2.0

package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/akashi-ledger/akashi/ledger"
)

func TestTokens(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"協力金", []string{"協力", "力金"}},
		{"東京都感染拡大防止協力金", []string{"東京", "京都", "都感", "感染", "染拡", "拡大", "大防", "防止", "止協", "協力", "力金"}},
		{"Restaurants, including IZAKAYA", []string{"restaurants", "including", "izakaya"}},
		{"ＡＢＣ２０２０年", []string{"abc2020", "年"}},
		{"ｶﾀｶﾅ", []string{"カタ", "タカ", "カナ"}},
		{"株式会社さくら食堂", []string{"株式", "式会", "会社", "社さ", "さく", "くら", "ら食", "食堂"}},
		{"金", []string{"金"}},
		{"COVID-19 対策", []string{"covid", "19", "対策"}},
		{"  ", nil},
	} {
		if got := Tokens(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// memView is a Store over a map.
type memView map[string][]byte

func (m memView) IndexGet(k []byte) ([]byte, error) {
	if v, ok := m[string(k)]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("%w: %q", ledger.ErrNotFound, k)
}

func (m memView) IndexScan(prefix []byte, f func(k, v []byte) (bool, error)) error {
	return m.IndexIterate(context.Background(), ledger.IndexRange{Prefix: prefix}, f)
}

func (m memView) IndexIterate(_ context.Context, r ledger.IndexRange, f func(k, v []byte) (bool, error)) error {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, string(r.Prefix)) && (len(r.Start) == 0 || !r.Reverse && k >= string(r.Start) || r.Reverse && k <= string(r.Start)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if r.Reverse {
		slices.Reverse(keys)
	}
	for _, k := range keys {
		more, err := f([]byte(k), m[k])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (m memView) apply(ws *writeSet) {
	for k, s := range ws.m {
		if s.del {
			delete(m, k)
		} else {
			m[k] = s.value
		}
	}
}

// TestPostingsRoundTrip appends long lists in chunks of every size,
// through tails, sealed segments and merges, forgetting the in-memory
// heads now and then (as after a restart or a failed transaction), and
// reads them back at every size, alone and with scanTerms.
func TestPostingsRoundTrip(t *testing.T) {
	v := memView{}
	terms := []string{"kdens", "wspar", "ymidd"} // 5 bytes each, for scanTerms
	want := map[string][]uint32{}
	states := map[string]*termState{}
	rng := rand.New(rand.NewPCG(1, 2))
	maxSegs := 0
	for i := uint64(0); i < 200000; {
		n := uint64(1 + rng.IntN(600))
		if rng.IntN(50) == 0 {
			n = 5000 + uint64(rng.IntN(20000)) // a catch-up chunk
		}
		ws := newWriteSet(v)
		for j, tm := range terms {
			var ps []uint32
			for k := i; k < i+n; k++ {
				if j == 1 && k%997 != 0 || j == 2 && k%7 != 0 {
					continue
				}
				ps = append(ps, uint32(k*3))
			}
			if len(ps) == 0 {
				continue
			}
			st := states[tm]
			if st == nil {
				b, err := v.IndexGet(headKey(tm))
				switch {
				case err == nil:
					if st, err = parseHead(b, false); err != nil {
						t.Fatal(err)
					}
				case isNotFound(err):
					st = &termState{}
				default:
					t.Fatal(err)
				}
				states[tm] = st
			}
			if err := st.add(tm, ps, ws); err != nil {
				t.Fatal(err)
			}
			for rng.IntN(3) != 0 { // merges are sometimes left for later
				k := st.mergeRun(maxSegment)
				if k < 0 {
					break
				}
				if err := st.merge(tm, k, ws); err != nil {
					t.Fatal(err)
				}
			}
			maxSegs = max(maxSegs, len(st.segs))
			want[tm] = append(want[tm], ps...)
		}
		v.apply(ws)
		if rng.IntN(20) == 0 {
			clear(states)
		}
		i += n
	}
	if maxSegs > 80 {
		t.Errorf("a term had %d segments, want at most 80", maxSegs)
	}
	for _, tm := range terms {
		for _, size := range []uint64{0, 1, 3000, 60001, 299999, 1 << 40} {
			p, err := readTerm(v, tm, size)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.decode(nil, size)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.DeleteFunc(slices.Clone(want[tm]), func(x uint32) bool { return uint64(x) >= size })
			if !slices.Equal(got, w) {
				t.Fatalf("readTerm(%s, %d): %d postings, want %d", tm, size, len(got), len(w))
			}
			s, err := unionOf([]plist{p}, min(size, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			w = slices.DeleteFunc(w, func(x uint32) bool { return uint64(x) >= 1<<20 })
			if got := s.slice(); !slices.Equal(got, w) {
				t.Fatalf("unionOf(readTerm(%s, %d)): %d postings, want %d", tm, size, len(got), len(w))
			}
		}
	}
	for _, reverse := range []bool{false, true} {
		var got []string
		err := scanTerms(t.Context(), v, "", 5, "", reverse, 1<<40, func(tm string, p plist) (bool, error) {
			l, err := p.decode(nil, 1<<40)
			if err != nil || !slices.Equal(l, want[tm]) {
				t.Errorf("scanTerms: %s has %d postings, want %d (%v)", tm, len(l), len(want[tm]), err)
			}
			got = append(got, tm)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		w := slices.Clone(terms)
		if reverse {
			slices.Reverse(w)
		}
		if !slices.Equal(got, w) {
			t.Errorf("scanTerms(reverse %v) = %q, want %q", reverse, got, w)
		}
	}
}

// TestSets checks the set operations against plain slices, for sparse
// and dense sets.
func TestSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const size = 5000
	gen := func(density int) []uint32 {
		var l []uint32
		for i := range uint32(size) {
			if rng.IntN(density) == 0 {
				l = append(l, i)
			}
		}
		return l
	}
	mk := func(l []uint32, asBits bool) *set {
		if !asBits {
			return listSet(slices.Clone(l), size)
		}
		b := make([]uint64, words(size))
		for _, v := range l {
			b[v>>6] |= 1 << (v & 63)
		}
		return bitSet(b, size)
	}
	for _, da := range []int{1, 3, 100, 2000} {
		for _, db := range []int{2, 50} {
			a, b := gen(da), gen(db)
			for _, ab := range []bool{false, true} {
				for _, bb := range []bool{false, true} {
					sa, sb := mk(a, ab), mk(b, bb)
					inB := func(v uint32) bool { _, ok := slices.BinarySearch(b, v); return ok }
					and := slices.DeleteFunc(slices.Clone(a), func(v uint32) bool { return !inB(v) })
					minus := slices.DeleteFunc(slices.Clone(a), inB)
					or := append(slices.Clone(a), b...)
					slices.Sort(or)
					or = slices.Compact(or)
					for name, c := range map[string]struct {
						got  *set
						want []uint32
					}{
						"and":      {sa.and(sb), and},
						"or":       {sa.or(sb), or},
						"minus":    {sa.minus(sb), minus},
						"restrict": {sa.restrict(100, 4000), slices.DeleteFunc(slices.Clone(a), func(v uint32) bool { return v < 100 || v >= 4000 })},
					} {
						if got := c.got.slice(); !slices.Equal(got, c.want) || c.got.len() != len(c.want) {
							t.Errorf("%s(%d/%v, %d/%v): %d members (len %d), want %d", name, da, ab, db, bb, len(got), c.got.len(), len(c.want))
						}
					}
					for _, from := range []uint32{0, 63, 64, 777, size - 1, size + 100} {
						var up, down []uint32
						sa.ascend(from, func(v uint32) bool { up = append(up, v); return true })
						sa.descend(from, func(v uint32) bool { down = append(down, v); return true })
						wantUp := slices.DeleteFunc(slices.Clone(a), func(v uint32) bool { return v < from })
						wantDown := slices.DeleteFunc(slices.Clone(a), func(v uint32) bool { return v > from })
						slices.Reverse(wantDown)
						if !slices.Equal(up, wantUp) || !slices.Equal(down, wantDown) {
							t.Errorf("ascend/descend(%d) of %d/%v: %d and %d members, want %d and %d", from, da, ab, len(up), len(down), len(wantUp), len(wantDown))
						}
					}
				}
			}
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{size: 123456, sort: Sort{Field: fieldEff, Desc: true}, phase: 1, key: -42, index: 99, hash: 7}
	got, err := decodeCursor(c.encode())
	if err != nil || got != c {
		t.Fatalf("decodeCursor(encode(%+v)) = %+v, %v", c, got, err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{size: 5, sort: Sort{Field: 'i'}}.encode())
	f.Add("")
	f.Add("cTEAAAAAAAACc2kBAAAAAAAAAAAAAAAAAAAAAMHAZ7RYWrB6kg")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !strings.Contains(err.Error(), "page_token") {
				t.Fatalf("decodeCursor(%q) = %v, want an error naming page_token", s, err)
			}
			return
		}
		if again, err := decodeCursor(c.encode()); err != nil || again != c {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("disbursement", "130001", "2020-05-01", "協力金 restaurants", "-amount")
	f.Add("x", "1", "2020-02-30", "金", "size")
	f.Fuzz(func(t *testing.T, kind, area, date, q, sort string) {
		p := Params{Kind: []string{kind}, Area: []string{area}, EffectiveFrom: date, Q: q, Currency: "JPY"}
		fl, err := Parse(p, nil)
		if err != nil {
			var pe *ParamError
			if !strings.Contains(err.Error(), ":") || !asParam(err, &pe) {
				t.Fatalf("Parse = %v, want a ParamError", err)
			}
			return
		}
		if _, err := ParseSort(sort, fl); err != nil && !strings.Contains(err.Error(), "sort") {
			t.Fatalf("ParseSort(%q) = %v", sort, err)
		}
	})
}

func asParam(err error, pe **ParamError) bool {
	e, ok := err.(*ParamError)
	*pe = e
	return ok
}

func TestAmountBucketOrder(t *testing.T) {
	amounts := []int64{0, 5, 10, 99, 100, 101, 109, 110, 500000, 500001, 1000000, 9999999}
	for i := 1; i < len(amounts); i++ {
		a, b := amountBucket("JPY", amounts[i-1]), amountBucket("JPY", amounts[i])
		if a > b {
			t.Errorf("bucket(%d) = %q sorts after bucket(%d) = %q", amounts[i-1], a, amounts[i], b)
		}
	}
	if amountBucket("JPY", 500000)[5] != 0 || amountBucket("JPY", 500001)[5] != 1 {
		t.Error("round amounts are not exact buckets")
	}
}
