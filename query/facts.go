// SPDX-License-Identifier: Apache-2.0

package query

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// Facts.
//
// Each record has a fact row: what aggregations, sorting and range
// filters need, without decoding the record. Rows are kept in blocks of
// the records of 256 consecutive log indexes, appended to as records
// arrive:
//
//	'q' 'f' block:4 → rows of the records with index>>8 == block
//
// A row is
//
//	uvarint(index - block<<8) | kind:1 | tag:1 | transaction type:1 | flags:1
//	| varint recorded day | [varint effective day] | [varint amount | str currency]
//	| [uvarint amended index] | str publisher | str payee | str programme | str area
//
// where days count from 1970-01-01, the bracketed fields are present when
// flags say so (1 effective day, 2 amount, 4 amends, 8 overflow, 16 the
// recorded day is valid), and str
// is a string interned in its block: uvarint 0 is "", 1 is a new string
// (uvarint length, bytes), k ≥ 2 the (k-2)th new string of the block.

const factsPerBlock = 256

func factKey(block uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixQuery, tagFact}, block)
}

// Fact is a record's fact row.
type Fact struct {
	Index     uint64
	Kind      record.Kind
	Tag       akashiv1.Tag
	TT        akashiv1.TransactionType
	RecDay    int32
	HasRec    bool
	EffDay    int32
	HasEff    bool
	Amount    int64
	Currency  string
	HasAmount bool
	Amends    uint64 // the log index of the record this one amends
	HasAmends bool
	Overflow  bool // not every term of the record is indexed
	Publisher string
	Payee     string
	Programme string
	Area      string // a disbursement's payee area
}

const (
	flagEff = 1 << iota
	flagAmount
	flagAmends
	flagOverflow
	flagRec
)

// DayNumber returns the days from 1970-01-01 to d.
func DayNumber(d record.Date) int32 {
	return int32(d.Time(time.UTC).Unix() / 86400)
}

// DayDate returns the date n days after 1970-01-01.
func DayDate(n int32) record.Date {
	return record.DateOf(time.Unix(int64(n)*86400, 0).UTC())
}

// factWriter appends rows to the current block; its buffer only grows, so
// the values it hands out stay valid.
type factWriter struct {
	block   uint32
	loaded  bool
	buf     []byte
	strings map[string]int
	nstr    int
	last    uint64
}

func (w *factWriter) str(s string) {
	if s == "" {
		w.buf = binary.AppendUvarint(w.buf, 0)
		return
	}
	if k, ok := w.strings[s]; ok {
		w.buf = binary.AppendUvarint(w.buf, uint64(k+2))
		return
	}
	w.strings[s] = w.nstr
	w.nstr++
	w.buf = binary.AppendUvarint(w.buf, 1)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// add appends f's row and returns the block's key and value; get reads
// the block as stored when the writer has not seen it yet.
func (w *factWriter) add(get func([]byte) ([]byte, error), f *Fact) (ledger.KV, error) {
	block := uint32(f.Index / factsPerBlock)
	if !w.loaded || block != w.block {
		*w = factWriter{block: block, loaded: true, strings: map[string]int{}}
		b, err := get(factKey(block))
		switch {
		case err == nil:
			w.buf = append(make([]byte, 0, len(b)+512), b...)
			err := decodeFacts(b, block, nil, factNoStrings, func(f *Fact) bool { w.last = f.Index; return true }, func(s string) {
				w.strings[s] = w.nstr
				w.nstr++
			})
			if err != nil {
				return ledger.KV{}, err
			}
		case !isNotFound(err):
			return ledger.KV{}, err
		}
	}
	if len(w.buf) > 0 && f.Index <= w.last {
		return ledger.KV{}, fmt.Errorf("%w: fact row %d after %d", ledger.ErrCorrupt, f.Index, w.last)
	}
	flags := byte(0)
	if f.HasEff {
		flags |= flagEff
	}
	if f.HasAmount {
		flags |= flagAmount
	}
	if f.HasAmends {
		flags |= flagAmends
	}
	if f.Overflow {
		flags |= flagOverflow
	}
	if f.HasRec {
		flags |= flagRec
	}
	w.buf = binary.AppendUvarint(w.buf, f.Index-uint64(block)*factsPerBlock)
	w.buf = append(w.buf, byte(f.Kind), byte(f.Tag), byte(f.TT), flags)
	w.buf = binary.AppendVarint(w.buf, int64(f.RecDay))
	if f.HasEff {
		w.buf = binary.AppendVarint(w.buf, int64(f.EffDay))
	}
	if f.HasAmount {
		w.buf = binary.AppendVarint(w.buf, f.Amount)
		w.str(f.Currency)
	}
	if f.HasAmends {
		w.buf = binary.AppendUvarint(w.buf, f.Amends)
	}
	w.str(f.Publisher)
	w.str(f.Payee)
	w.str(f.Programme)
	w.str(f.Area)
	w.last = f.Index
	return ledger.KV{Key: factKey(block), Value: w.buf}, nil
}

// factScratch is decodeFacts' table of a block's interned strings, reused
// from block to block.
type factScratch struct {
	at   []uint64
	strs []string
}

var factScratchPool = sync.Pool{New: func() any { return &factScratch{at: make([]uint64, 0, 512), strs: make([]string, 0, 512)} }}

func (sc *factScratch) release() {
	clear(sc.strs)
	sc.at, sc.strs = sc.at[:0], sc.strs[:0]
	factScratchPool.Put(sc)
}

// factStrings selects the string fields of a fact row that decodeFacts
// copies out of the block; the others read as "". A sum by area needs
// neither payees nor programmes, and a payee is a new string in nearly
// every row.
type factStrings uint8

// The bits of publisher, payee, programme and area follow one another in
// the order the row holds them: decodeFacts shifts factPublisher by the
// field's place.
const (
	factCurrency factStrings = 1 << iota
	factPublisher
	factPayee
	factProgramme
	factArea
	factNoStrings  factStrings = 0
	factAllStrings             = factCurrency | factPublisher | factPayee | factProgramme | factArea
)

// decodeFacts calls f with each row of a block for which want (if set)
// holds, until f returns false, with the strings of fields (the others
// ""); newString, if set, sees each new interned string. The strings of
// the rows not wanted, and of the fields not asked for, are not copied out
// of b: an aggregate over one publisher skips most of the rows it reads.
func decodeFacts(b []byte, block uint32, want func(index uint64) bool, fields factStrings, f func(*Fact) bool, newString func(string)) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: fact block %d: %s", ledger.ErrCorrupt, block, what)
	}
	// The block's interned strings, as where they are in the block
	// (start<<32 | end), copied out ("" until then: "" is never
	// interned) when a wanted row needs them.
	all := b
	sc := factScratchPool.Get().(*factScratch)
	defer sc.release()
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	// str reads a string; use is false when the row or the field is not
	// wanted, and the string is then only skipped (its place noted if new).
	str := func(use bool) (string, bool) {
		k, ok := uv()
		switch {
		case !ok:
			return "", false
		case k == 0:
			return "", true
		case k == 1:
			n, ok := uv()
			if !ok || n > uint64(len(b)) {
				return "", false
			}
			start := uint64(len(all) - len(b))
			sc.at = append(sc.at, start<<32|(start+n))
			sc.strs = append(sc.strs, "")
			b = b[n:]
			if newString != nil {
				sc.strs[len(sc.strs)-1] = string(all[start : start+n])
				newString(sc.strs[len(sc.strs)-1])
			}
			if !use {
				return "", true
			}
			k = uint64(len(sc.strs)) + 1
		}
		if k-2 >= uint64(len(sc.strs)) {
			return "", false
		}
		if !use {
			return "", true
		}
		i := k - 2
		if sc.strs[i] == "" {
			sc.strs[i] = string(all[sc.at[i]>>32 : sc.at[i]&(1<<32-1)])
		}
		return sc.strs[i], true
	}
	var fact Fact
	for len(b) > 0 {
		fact = Fact{}
		off, ok := uv()
		if !ok || off >= factsPerBlock || len(b) < 4 {
			return bad("row header")
		}
		fact.Index = uint64(block)*factsPerBlock + off
		keep := want == nil || want(fact.Index)
		fact.Kind, fact.Tag, fact.TT = record.Kind(b[0]), akashiv1.Tag(b[1]), akashiv1.TransactionType(b[2])
		flags := b[3]
		b = b[4:]
		d, ok := sv()
		if !ok {
			return bad("recorded day")
		}
		fact.RecDay, fact.HasRec = int32(d), flags&flagRec != 0
		if flags&flagEff != 0 {
			if d, ok = sv(); !ok {
				return bad("effective day")
			}
			fact.EffDay, fact.HasEff = int32(d), true
		}
		if flags&flagAmount != 0 {
			if fact.Amount, ok = sv(); !ok {
				return bad("amount")
			}
			if fact.Currency, ok = str(keep && fields&factCurrency != 0); !ok {
				return bad("currency")
			}
			fact.HasAmount = true
		}
		if flags&flagAmends != 0 {
			if fact.Amends, ok = uv(); !ok {
				return bad("amends")
			}
			fact.HasAmends = true
		}
		fact.Overflow = flags&flagOverflow != 0
		for i, p := range []*string{&fact.Publisher, &fact.Payee, &fact.Programme, &fact.Area} {
			if *p, ok = str(keep && fields&(factPublisher<<i) != 0); !ok {
				return bad("string")
			}
		}
		if keep && !f(&fact) {
			return nil
		}
	}
	return nil
}
