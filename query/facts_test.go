// SPDX-License-Identifier: Apache-2.0

package query

import (
	"fmt"
	"testing"

	"github.com/akashi-ledger/akashi/ledger"
)

// TestDecodeFactsWanted writes a block of fact rows that share interned
// strings and decodes it whole and with filters on rows and string fields:
// a wanted row whose strings were first written by a row left out, or
// by a field left out, must read them right.
func TestDecodeFactsWanted(t *testing.T) {
	var w factWriter
	var want []Fact
	get := func([]byte) ([]byte, error) { return nil, ledger.ErrNotFound }
	var block []byte
	for i := range 12 {
		f := Fact{
			Index: uint64(i), HasRec: true, RecDay: int32(18000 + i),
			HasAmount: i%3 != 0, Amount: int64(1000 * i), Currency: []string{"JPY", "USD"}[i%2],
			Publisher: fmt.Sprintf("JP-JCN-%d", i%3), Payee: fmt.Sprintf("payee-%d", i%5),
			Programme: "P", Area: fmt.Sprintf("1310%d", i%4),
		}
		if !f.HasAmount {
			f.Currency, f.Amount = "", 0
		}
		kv, err := w.add(get, &f)
		if err != nil {
			t.Fatal(err)
		}
		block = kv.Value
		want = append(want, f)
	}
	for _, tc := range []struct {
		name string
		keep func(uint64) bool
	}{
		{"all", nil},
		{"odd", func(i uint64) bool { return i%2 == 1 }},
		{"last", func(i uint64) bool { return i == 11 }},
		{"none", func(uint64) bool { return false }},
	} {
		for _, fields := range []factStrings{factAllStrings, factNoStrings, factCurrency | factArea, factPayee, factPublisher | factProgramme} {
			t.Run(fmt.Sprintf("%s/fields=%05b", tc.name, fields), func(t *testing.T) {
				var got []Fact
				err := decodeFacts(block, 0, tc.keep, fields, func(f *Fact) bool { got = append(got, *f); return true }, nil)
				if err != nil {
					t.Fatal(err)
				}
				var exp []Fact
				for _, f := range want {
					if tc.keep != nil && !tc.keep(f.Index) {
						continue
					}
					for bit, p := range map[factStrings]*string{factCurrency: &f.Currency, factPublisher: &f.Publisher, factPayee: &f.Payee, factProgramme: &f.Programme, factArea: &f.Area} {
						if fields&bit == 0 {
							*p = ""
						}
					}
					exp = append(exp, f)
				}
				if len(got) != len(exp) {
					t.Fatalf("decoded %d rows, want %d", len(got), len(exp))
				}
				for i := range exp {
					if got[i] != exp[i] {
						t.Errorf("row %d = %+v, want %+v", exp[i].Index, got[i], exp[i])
					}
				}
			})
		}
	}
}

// BenchmarkDecodeFacts decodes a block of 256 disbursement rows, each
// with its own payee, with every string and with what a sum by area needs.
func BenchmarkDecodeFacts(b *testing.B) {
	var w factWriter
	get := func([]byte) ([]byte, error) { return nil, ledger.ErrNotFound }
	var block []byte
	for i := range factsPerBlock {
		kv, err := w.add(get, &Fact{
			Index: uint64(i), HasRec: true, RecDay: 18400, HasEff: true, EffDay: int32(18400 + i%40),
			HasAmount: true, Amount: 500000, Currency: "JPY", Publisher: "JP-JCN-8000020130001",
			Payee: fmt.Sprintf("JP-JCN-89999%08d", i), Programme: "TKY-2020-KYORYOKUKIN-1", Area: fmt.Sprintf("1310%02d", i%23),
		})
		if err != nil {
			b.Fatal(err)
		}
		block = kv.Value
	}
	for _, bc := range []struct {
		name   string
		fields factStrings
	}{{"all", factAllStrings}, {"area", factCurrency | factArea}} {
		b.Run(bc.name, func(b *testing.B) {
			var sum int64
			for b.Loop() {
				err := decodeFacts(block, 0, nil, bc.fields, func(f *Fact) bool { sum += f.Amount; return true }, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/factsPerBlock, "ns/row")
		})
	}
}
