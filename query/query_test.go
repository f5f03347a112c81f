// SPDX-License-Identifier: Apache-2.0

package query

import (
	"fmt"
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

// memView is a ledger.View and a Store over a map.
type memView map[string][]byte

func (m memView) Get(k []byte) ([]byte, error) {
	if v, ok := m[string(k)]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("%w: %q", ledger.ErrNotFound, k)
}

func (m memView) IndexGet(k []byte) ([]byte, error) { return m.Get(k) }

func (m memView) IndexScan(prefix []byte, f func(k, v []byte) (bool, error)) error {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		more, err := f([]byte(k), m[k])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// TestPostingsRoundTrip appends long lists through the three tiers,
// forgetting the in-memory state now and then (as after a failed batch),
// and reads them back at every size.
func TestPostingsRoundTrip(t *testing.T) {
	v := memView{}
	terms := []string{"kdense", "wsparse", "ymid"}
	want := map[string][]uint32{}
	states := map[string]*termState{}
	for i := uint64(0); i < 40000; i++ {
		for j, tm := range terms {
			if j == 1 && i%997 != 0 || j == 2 && i%7 != 0 {
				continue
			}
			if i%5003 == 0 {
				clear(states)
			}
			st := states[tm]
			if st == nil {
				var err error
				if st, err = loadTerm(v, []byte(tm)); err != nil {
					t.Fatal(err)
				}
				states[tm] = st
			}
			kvs, err := st.add(v, []byte(tm), i*3, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range kvs {
				if len(kv.Value) > maxChunk && kv.Key[len(kv.Key)-5] != 'B' {
					t.Fatalf("chunk of %d bytes", len(kv.Value))
				}
				v[string(kv.Key)] = kv.Value
			}
			want[tm] = append(want[tm], uint32(i*3))
		}
	}
	for _, tm := range terms {
		for _, size := range []uint64{0, 1, 3000, 60001, 1 << 40} {
			got, err := readTerm(v, []byte(tm), size, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.DeleteFunc(slices.Clone(want[tm]), func(x uint32) bool { return uint64(x) >= size })
			if !slices.Equal(got, w) {
				t.Fatalf("readTerm(%s, %d): %d postings, want %d", tm, size, len(got), len(w))
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
