// SPDX-License-Identifier: Apache-2.0

package query

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// Limits of the engine.
const (
	// DefaultPageSize is the page size when none is asked for.
	DefaultPageSize = 50
	// MaxPageSize is the largest page.
	MaxPageSize = 1000
)

// Log is what the engine reads: the log itself. *ledger.Log implements it.
type Log interface {
	Store
	Head() ledger.Head
	CheckpointAt(ctx context.Context, size uint64) ([]byte, error)
	Entry(ctx context.Context, index uint64) (ledger.Entry, error)
	Entries(ctx context.Context, start, end uint64, f func(ledger.Entry) error) error
	Origin() string
}

// Engine answers queries from the indexes [Indexer] keeps.
type Engine struct {
	log Log
	res Resolver

	mu      sync.Mutex
	supSize uint64
	sup     map[uint32]uint32 // superseded index → the index that amends it
}

// NewEngine returns an engine over l; res resolves record ids given
// without their publisher.
func NewEngine(l Log, res Resolver) *Engine {
	return &Engine{log: l, res: res}
}

// Resolver returns the engine's resolver.
func (e *Engine) Resolver() Resolver { return e.res }

// Snapshot is the tree an answer reflects.
type Snapshot struct {
	Size       uint64
	Checkpoint []byte
}

// Head returns the latest published tree.
func (e *Engine) Head() (Snapshot, error) {
	h := e.log.Head()
	if h.Size > math.MaxUint32 {
		return Snapshot{}, errTooLarge
	}
	return Snapshot{Size: h.Size, Checkpoint: h.Checkpoint}, nil
}

func (e *Engine) at(ctx context.Context, size uint64) (Snapshot, error) {
	cp, err := e.log.CheckpointAt(ctx, size)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Size: size, Checkpoint: cp}, nil
}

func (e *Engine) list(t string, size uint64) ([]uint32, error) {
	return readTerm(e.log, []byte(t), size, nil)
}

// union merges sorted lists.
func union(lists [][]uint32) []uint32 {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]uint32, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersect intersects sorted lists, smallest first.
func intersect(lists [][]uint32) []uint32 {
	if len(lists) == 0 {
		return nil
	}
	sort.Slice(lists, func(i, j int) bool { return len(lists[i]) < len(lists[j]) })
	out := slices.Clone(lists[0])
	for _, l := range lists[1:] {
		if len(out) == 0 {
			break
		}
		k := 0
		if len(l) > 16*len(out) { // gallop
			lo := 0
			for _, v := range out {
				i, found := slices.BinarySearch(l[lo:], v)
				lo += i
				if found {
					out[k] = v
					k++
				}
			}
		} else {
			i := 0
			for _, v := range out {
				for i < len(l) && l[i] < v {
					i++
				}
				if i < len(l) && l[i] == v {
					out[k] = v
					k++
				}
			}
		}
		out = out[:k]
	}
	return out
}

// members is a membership test over a sorted list.
type members struct {
	bits []uint64
	list []uint32
}

func newMembers(l []uint32, size uint64) members {
	if uint64(len(l)) > size/64 && size < 1<<28 {
		bits := make([]uint64, (size+63)/64)
		for _, v := range l {
			bits[v/64] |= 1 << (v % 64)
		}
		return members{bits: bits}
	}
	return members{list: l}
}

func (m members) has(v uint32) bool {
	if m.bits != nil {
		return int(v/64) < len(m.bits) && m.bits[v/64]&(1<<(v%64)) != 0
	}
	_, ok := slices.BinarySearch(m.list, v)
	return ok
}

// allRecords returns every record below size.
func (e *Engine) allRecords(size uint64) ([]uint32, error) {
	var lists [][]uint32
	for _, k := range []record.Kind{record.KindDecision, record.KindRequest, record.KindDisbursement} {
		l, err := e.list(term(fieldKind, string([]byte{byte(k)})), size)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return union(lists), nil
}

// Match returns the records below snap.Size that match f, ascending.
func (e *Engine) Match(ctx context.Context, snap Snapshot, f *Filter) ([]uint32, error) {
	size := snap.Size
	var r []uint32
	var err error
	if len(f.Terms) == 0 {
		if r, err = e.allRecords(size); err != nil {
			return nil, err
		}
	} else {
		lists := make([][]uint32, 0, len(f.Terms))
		for _, c := range f.Terms {
			var alts [][]uint32
			for _, t := range c {
				l, err := e.list(t, size)
				if err != nil {
					return nil, err
				}
				alts = append(alts, l)
			}
			lists = append(lists, union(alts))
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		r = intersect(lists)
		// Records not fully indexed are checked one by one.
		over, err := e.list(term(fieldOverflow, ""), size)
		if err != nil {
			return nil, err
		}
		var extra []uint32
		for _, i := range over {
			if _, found := slices.BinarySearch(r, i); found {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rec, _, err := e.record(ctx, uint64(i))
			if err != nil {
				return nil, err
			}
			if rec != nil && f.matchTerms(ptr(Describe(rec, uint64(i), 0, false))) {
				extra = append(extra, i)
			}
		}
		if len(extra) > 0 {
			r = union([][]uint32{r, extra})
		}
	}
	if f.IndexFrom != nil || f.IndexTo != nil {
		lo, hi := uint64(0), uint64(math.MaxUint64)
		if f.IndexFrom != nil {
			lo = *f.IndexFrom
		}
		if f.IndexTo != nil {
			hi = *f.IndexTo
		}
		r = slices.DeleteFunc(r, func(i uint32) bool { return uint64(i) < lo || uint64(i) >= hi })
	}
	if f.needsFacts() && len(r) > 0 {
		keep := make([]uint32, 0, len(r))
		err := e.facts(ctx, r, func(x *Fact) {
			if f.matchFact(x) {
				keep = append(keep, uint32(x.Index))
			}
		})
		if err != nil {
			return nil, err
		}
		r = keep
	}
	if f.Current && len(r) > 0 {
		sup, err := e.superseded(ctx, size)
		if err != nil {
			return nil, err
		}
		r = slices.DeleteFunc(r, func(i uint32) bool { _, ok := sup[i]; return ok })
	}
	return r, nil
}

func ptr[T any](v T) *T { return &v }

// record reads and decodes the record at index; nil if the entry holds
// none or its payload is withheld.
func (e *Engine) record(ctx context.Context, index uint64) (*akashiv1.Record, ledger.Entry, error) {
	en, err := e.log.Entry(ctx, index)
	if err != nil {
		return nil, en, err
	}
	return decodeRecord(en.Payload), en, nil
}

func decodeRecord(payload []byte) *akashiv1.Record {
	if payload == nil {
		return nil
	}
	ss, err := record.DecodeSignedStatement(payload)
	if err != nil {
		return nil
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		return nil
	}
	return st.GetRecord()
}

// facts calls f with the fact rows of the records idx (ascending), in
// order.
func (e *Engine) facts(ctx context.Context, idx []uint32, f func(*Fact)) error {
	if len(idx) == 0 {
		return nil
	}
	var blocks []uint32
	for _, i := range idx {
		b := i / factsPerBlock
		if len(blocks) == 0 || blocks[len(blocks)-1] != b {
			blocks = append(blocks, b)
		}
	}
	pos := 0
	visit := func(block uint32, v []byte) error {
		return decodeFacts(v, block, func(x *Fact) bool {
			for pos < len(idx) && uint64(idx[pos]) < x.Index {
				pos++
			}
			if pos < len(idx) && uint64(idx[pos]) == x.Index {
				f(x)
				pos++
			}
			return pos < len(idx) && uint64(idx[pos])/factsPerBlock == uint64(block)
		}, nil)
	}
	if len(blocks) > 64 && len(blocks)*4 > int(blocks[len(blocks)-1]-blocks[0]) {
		// Dense: one scan.
		last := blocks[len(blocks)-1]
		n := 0
		return e.log.IndexScan([]byte{prefixQuery, tagFact}, func(k, v []byte) (bool, error) {
			if len(k) != 6 {
				return false, fmt.Errorf("%w: fact key %q", ledger.ErrCorrupt, k)
			}
			b := binary.BigEndian.Uint32(k[2:])
			if b < blocks[0] {
				return true, nil
			}
			if n++; n%64 == 0 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			if err := visit(b, v); err != nil {
				return false, err
			}
			return b < last && pos < len(idx), nil
		})
	}
	for _, b := range blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := e.log.IndexGet(factKey(b))
		if err != nil {
			return fmt.Errorf("fact block %d: %w", b, err)
		}
		if err := visit(b, v); err != nil {
			return err
		}
	}
	return nil
}

// superseded returns the records below size that a record below size
// amends, mapped to the one that amends them (the latest).
func (e *Engine) superseded(ctx context.Context, size uint64) (map[uint32]uint32, error) {
	e.mu.Lock()
	if e.sup != nil && e.supSize == size {
		s := e.sup
		e.mu.Unlock()
		return s, nil
	}
	e.mu.Unlock()
	var lists [][]uint32
	for _, t := range []akashiv1.Tag{akashiv1.Tag_TAG_UPDATE, akashiv1.Tag_TAG_AMENDMENT, akashiv1.Tag_TAG_CORRECTION, akashiv1.Tag_TAG_WITHDRAWAL} {
		l, err := e.list(term(fieldTag, string([]byte{byte(t)})), size)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	sup := map[uint32]uint32{}
	err := e.facts(ctx, union(lists), func(x *Fact) {
		if x.HasAmends && x.Amends < size {
			sup[uint32(x.Amends)] = uint32(x.Index)
		}
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if size >= e.supSize {
		e.sup, e.supSize = sup, size
	}
	e.mu.Unlock()
	return sup, nil
}

// Sort is a result order.
type Sort struct {
	Field byte // 'i' index, 'e' effective date, 'c' recorded date, 'a' amount
	Desc  bool
}

// ParseSort parses a sort parameter: index, effective_date,
// recorded_date or amount, "-" first to reverse. "" is "-index".
func ParseSort(s string, f *Filter) (Sort, error) {
	if s == "" {
		return Sort{Field: 'i', Desc: true}, nil
	}
	var o Sort
	name, desc := strings.CutPrefix(s, "-")
	o.Desc = desc
	switch name {
	case "index":
		o.Field = 'i'
	case "effective_date":
		o.Field = fieldEff
	case "recorded_date":
		o.Field = fieldRec
	case "amount":
		o.Field = 'a'
		if f.Currency == "" {
			return o, bad("currency", "", "an ISO 4217 currency code with sort=amount, such as JPY")
		}
	default:
		return o, bad("sort", s, "index, effective_date, recorded_date or amount, with - first to reverse")
	}
	return o, nil
}

// cursor is a page token's content.
type cursor struct {
	size  uint64
	sort  Sort
	phase byte // 0 in the sorted groups, 1 in the records without a sort key
	key   int64
	index uint64
	hash  uint64
}

const cursorVersion = "q1"

func (c cursor) encode() string {
	b := []byte(cursorVersion)
	b = binary.BigEndian.AppendUint64(b, c.size)
	desc := byte(0)
	if c.sort.Desc {
		desc = 1
	}
	b = append(b, c.sort.Field, desc, c.phase)
	b = binary.BigEndian.AppendUint64(b, uint64(c.key))
	b = binary.BigEndian.AppendUint64(b, c.index)
	b = binary.BigEndian.AppendUint64(b, c.hash)
	return base64.RawURLEncoding.EncodeToString(b)
}

const cursorLen = 2 + 8 + 3 + 8 + 8 + 8

// decodeCursor parses a page token. It checks only the token's form.
func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || string(b[:2]) != cursorVersion || b[11] > 1 || b[12] > 1 {
		return cursor{}, bad("page_token", s, "the next_page_token of a previous page")
	}
	c := cursor{size: binary.BigEndian.Uint64(b[2:]), sort: Sort{Field: b[10], Desc: b[11] == 1}, phase: b[12]}
	c.key = int64(binary.BigEndian.Uint64(b[13:]))
	c.index = binary.BigEndian.Uint64(b[21:])
	c.hash = binary.BigEndian.Uint64(b[29:])
	switch c.sort.Field {
	case 'i', fieldEff, fieldRec, 'a':
	default:
		return cursor{}, bad("page_token", s, "the next_page_token of a previous page")
	}
	return c, nil
}

// Page is a page of a search.
type Page struct {
	Snapshot
	// Rows are the log indexes of the page's records, in order.
	Rows []uint64
	// Total is the number of matching records.
	Total uint64
	// Next is the token of the next page, empty on the last.
	Next string
}

// CheckPageSize returns the page size to use for n.
func CheckPageSize(param string, n int32, def, maxSize int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0 || int(n) > maxSize:
		return 0, bad(param, fmt.Sprint(n), fmt.Sprintf("1 to %d", maxSize))
	}
	return int(n), nil
}

// Search returns a page of the records matching f in the order o. token
// is the previous page's Next, or "".
func (e *Engine) Search(ctx context.Context, f *Filter, o Sort, pageSize int, token string) (*Page, error) {
	snap, err := e.Head()
	if err != nil {
		return nil, err
	}
	hash := f.hash(fmt.Sprintf("%c%v", o.Field, o.Desc))
	var cur *cursor
	if token != "" {
		c, err := decodeCursor(token)
		if err != nil {
			return nil, err
		}
		if c.hash != hash || c.sort != o || c.size > snap.Size {
			return nil, bad("page_token", token, "the next_page_token of a previous page of the same query")
		}
		if snap, err = e.at(ctx, c.size); err != nil {
			return nil, err
		}
		cur = &c
	}
	r, err := e.Match(ctx, snap, f)
	if err != nil {
		return nil, err
	}
	p := &Page{Snapshot: snap, Total: uint64(len(r))}
	type row struct {
		phase byte
		key   int64
		index uint32
	}
	var rows []row
	// after reports whether a row comes after the cursor.
	after := func(rw row) bool {
		if cur == nil {
			return true
		}
		if rw.phase != cur.phase {
			return rw.phase > cur.phase
		}
		a, b := [2]int64{rw.key, int64(rw.index)}, [2]int64{cur.key, int64(cur.index)}
		if o.Desc {
			a, b = b, a
		}
		return a[0] > b[0] || a[0] == b[0] && a[1] > b[1]
	}
	full := func() bool { return len(rows) > pageSize }
	emit := func(rw row) {
		if !full() && after(rw) {
			rows = append(rows, rw)
		}
	}
	switch o.Field {
	case 'i':
		if o.Desc {
			for i := len(r) - 1; i >= 0 && !full(); i-- {
				emit(row{index: r[i]})
			}
		} else {
			start := 0
			if cur != nil {
				start, _ = slices.BinarySearch(r, uint32(min(cur.index, math.MaxUint32)))
			}
			for _, i := range r[start:] {
				if full() {
					break
				}
				emit(row{index: i})
			}
		}
	default:
		if err := e.ordered(ctx, snap, f, o, r, cur, func(phase byte, key int64, index uint32) bool {
			emit(row{phase, key, index})
			return !full()
		}); err != nil {
			return nil, err
		}
	}
	if len(rows) > pageSize {
		last := rows[pageSize-1]
		rows = rows[:pageSize]
		p.Next = cursor{size: snap.Size, sort: o, phase: last.phase, key: last.key, index: uint64(last.index), hash: hash}.encode()
	}
	for _, rw := range rows {
		p.Rows = append(p.Rows, uint64(rw.index))
	}
	return p, nil
}

// ordered calls emit with the records of r in the order o (by date or
// amount), starting at the cursor's group, until emit returns false.
func (e *Engine) ordered(ctx context.Context, snap Snapshot, f *Filter, o Sort, r []uint32, cur *cursor, emit func(phase byte, key int64, index uint32) bool) error {
	m := newMembers(r, snap.Size)
	seen := 0
	// groups: the keys in order, each with its terms.
	type group struct {
		key   int64
		term  string
		exact bool
	}
	var groups []group
	switch o.Field {
	case fieldEff, fieldRec:
		b, err := e.log.IndexGet(statsKey)
		if err != nil && !isNotFound(err) {
			return err
		}
		var s stats
		if err == nil {
			if s, err = decodeStats(b); err != nil {
				return err
			}
		}
		lo, hi, has := s.minEff, s.maxEff, s.hasEff
		from, to := f.EffFrom, f.EffTo
		if o.Field == fieldRec {
			lo, hi, has = s.minRec, s.maxRec, s.hasRec
			from, to = f.RecFrom, f.RecTo
		}
		if from != nil {
			lo = max(lo, *from)
		}
		if to != nil {
			hi = min(hi, *to)
		}
		if has {
			for d := lo; d <= hi; d++ {
				groups = append(groups, group{key: int64(d), term: term(o.Field, DayDate(d).String()), exact: true})
			}
		}
	case 'a':
		add := func(digits int, lead int64) {
			for inexact := byte(0); inexact <= 1; inexact++ {
				if digits <= 2 && inexact == 1 {
					continue
				}
				key := lead
				for range max(0, digits-2) {
					key *= 10
				}
				groups = append(groups, group{key: key, term: term(fieldAmount, f.Currency+string([]byte{byte(digits), byte(lead), inexact})), exact: inexact == 0})
			}
		}
		add(0, 0)
		for l := int64(1); l <= 9; l++ {
			add(1, l)
		}
		for d := 2; d <= 19; d++ {
			for l := int64(10); l <= 99; l++ {
				add(d, l)
			}
		}
		if f.AmountMin != nil || f.AmountMax != nil {
			groups = slices.DeleteFunc(groups, func(g group) bool {
				next := g.key // the bucket spans [key, key·1.1) roughly; keep it unless surely outside
				if f.AmountMax != nil && next > *f.AmountMax {
					return true
				}
				return false
			})
		}
	}
	if o.Desc {
		slices.Reverse(groups)
	}
	if cur == nil || cur.phase == 0 {
		for _, g := range groups {
			if cur != nil {
				// Skip groups before the cursor's.
				if g.exact && (!o.Desc && g.key < cur.key || o.Desc && g.key > cur.key) {
					continue
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			l, err := e.list(g.term, snap.Size)
			if err != nil {
				return err
			}
			var in []uint32
			for _, i := range l {
				if m.has(i) {
					in = append(in, i)
				}
			}
			seen += len(in)
			if len(in) == 0 {
				continue
			}
			keys := make(map[uint32]int64, len(in))
			if !g.exact {
				if err := e.facts(ctx, in, func(x *Fact) { keys[uint32(x.Index)] = x.Amount }); err != nil {
					return err
				}
				slices.SortFunc(in, func(a, b uint32) int {
					if keys[a] != keys[b] {
						if keys[a] < keys[b] {
							return -1
						}
						return 1
					}
					return int(int64(a) - int64(b))
				})
			}
			if o.Desc {
				slices.Reverse(in)
			}
			for _, i := range in {
				k := g.key
				if !g.exact {
					k = keys[i]
				}
				if !emit(0, k, i) {
					return nil
				}
			}
			if seen == len(r) {
				return nil
			}
		}
	}
	// The records without a sort key, in index order.
	var rest []uint32
	err := e.facts(ctx, r, func(x *Fact) {
		switch {
		case o.Field == fieldEff && !x.HasEff,
			o.Field == 'a' && (!x.HasAmount || x.Currency != f.Currency):
			rest = append(rest, uint32(x.Index))
		}
	})
	if err != nil {
		return err
	}
	if o.Desc {
		slices.Reverse(rest)
	}
	for _, i := range rest {
		if !emit(1, 0, i) {
			return nil
		}
	}
	return nil
}

// Hit is a record of an answer.
type Hit struct {
	Entry   ledger.Entry
	Record  *akashiv1.Record // nil if withheld
	Current bool
}

// Hits reads the records of rows.
func (e *Engine) Hits(ctx context.Context, snap Snapshot, rows []uint64) ([]Hit, error) {
	sup, err := e.superseded(ctx, snap.Size)
	if err != nil {
		return nil, err
	}
	out := make([]Hit, 0, len(rows))
	for _, i := range rows {
		rec, en, err := e.record(ctx, i)
		if err != nil {
			return nil, err
		}
		_, s := sup[uint32(i)]
		out = append(out, Hit{Entry: en, Record: rec, Current: !s})
	}
	return out, nil
}

// ErrNotFound reports a record or process that is not in the log.
var ErrNotFound = errors.New("not found")
