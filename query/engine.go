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
	Size() uint64
	CheckpointAt(ctx context.Context, size uint64) ([]byte, error)
	Entry(ctx context.Context, index uint64) (ledger.Entry, error)
	Entries(ctx context.Context, start, end uint64, f func(ledger.Entry) error) error
	Origin() string
}

// Engine answers queries from the indexes a [Follower] keeps.
type Engine struct {
	log Log
	res Resolver
	fol *Follower

	mu      sync.Mutex
	supSize uint64
	sup     map[uint32]uint32 // superseded index → the index that amends it
}

// NewEngine returns an engine over l; res resolves record ids given
// without their publisher. f, if not nil, is the follower that keeps the
// index, which exports of index ranges beyond it wait for.
func NewEngine(l Log, res Resolver, f *Follower) *Engine {
	return &Engine{log: l, res: res, fol: f}
}

// Resolver returns the engine's resolver.
func (e *Engine) Resolver() Resolver { return e.res }

// Snapshot is the tree an answer reflects.
type Snapshot struct {
	Size       uint64
	Checkpoint []byte
}

// Head returns the tree that answers reflect now: the latest published
// tree the index covers.
func (e *Engine) Head(ctx context.Context) (Snapshot, error) {
	w, err := readWatermark(e.log)
	if err != nil {
		return Snapshot{}, err
	}
	return e.at(ctx, w.answer)
}

func (e *Engine) at(ctx context.Context, size uint64) (Snapshot, error) {
	if size > math.MaxUint32 {
		return Snapshot{}, errTooLarge
	}
	cp, err := e.log.CheckpointAt(ctx, size)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Size: size, Checkpoint: cp}, nil
}

// lists reads posting lists for one query, each once.
type lists struct {
	e    *Engine
	size uint64
	m    map[string]plist
}

func (e *Engine) lists(size uint64) *lists {
	return &lists{e: e, size: size, m: map[string]plist{}}
}

func (ls *lists) get(t string) (plist, error) {
	if p, ok := ls.m[t]; ok {
		return p, nil
	}
	p, err := readTerm(ls.e.log, t, ls.size)
	if err == nil {
		ls.m[t] = p
	}
	return p, err
}

// set returns the records with any of terms; a text term stands for the
// records whose indexed text or programme title holds the token.
func (ls *lists) set(terms []string) (*set, error) {
	var ps []plist
	for _, t := range terms {
		ts := []string{t}
		if t[0] == fieldText {
			titles, err := titlesWith(ls.e.log, t[1:])
			if err != nil {
				return nil, err
			}
			ts = append(ts, titles...)
		}
		for _, t := range ts {
			p, err := ls.get(t)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
	}
	return unionOf(ps, ls.size)
}

// allRecords returns every record below size.
func (ls *lists) allRecords() (*set, error) {
	return ls.set([]string{enumTerm(fieldKind, int32(record.KindDecision)), enumTerm(fieldKind, int32(record.KindRequest)), enumTerm(fieldKind, int32(record.KindDisbursement))})
}

const dateTermLen = 1 + 10 // field, YYYY-MM-DD

// dayRange returns the records with a date term of field in [from, to].
func (e *Engine) dayRange(ctx context.Context, field byte, from, to *int32, size uint64) (*set, error) {
	start := ""
	if from != nil {
		start = term(field, DayDate(*from).String())
	}
	end := ""
	if to != nil {
		end = term(field, DayDate(*to).String())
	}
	var ps []plist
	err := scanTerms(ctx, e.log, string(field), dateTermLen, start, false, size, func(t string, p plist) (bool, error) {
		if end != "" && t > end {
			return false, nil
		}
		ps = append(ps, p)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return unionOf(ps, size)
}

const amountTermLen = 1 + 3 + 3 // field, currency, digits, lead, inexact

// parseBucket returns the amounts of an amount term: [lo, hi], and
// whether every amount in it is lo.
func parseBucket(t string) (lo, hi int64, exact bool) {
	digits, lead, inexact := int(t[4]), int(t[5]), t[6] != 0
	if digits == 0 { // amounts of 0 or less: check them one by one
		return math.MinInt64, 0, false
	}
	return bucketRange(digits, lead, inexact)
}

// amountRange returns the records with an amount in currency within
// [lo, hi] (nil for no bound).
func (e *Engine) amountRange(ctx context.Context, currency string, lo, hi *int64, size uint64) (*set, error) {
	start := ""
	if lo != nil && *lo > 0 {
		start = term(fieldAmount, amountBucket(currency, *lo))
	}
	var full, partial []plist
	err := scanTerms(ctx, e.log, term(fieldAmount, currency), amountTermLen, start, false, size, func(t string, p plist) (bool, error) {
		blo, bhi, _ := parseBucket(t)
		switch {
		case hi != nil && blo > *hi:
			return false, nil
		case lo != nil && bhi < *lo:
		case (lo == nil || blo >= *lo) && (hi == nil || bhi <= *hi):
			full = append(full, p)
		default:
			partial = append(partial, p)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	r, err := unionOf(full, size)
	if err != nil || len(partial) == 0 {
		return r, err
	}
	cand, err := unionOf(partial, size)
	if err != nil {
		return nil, err
	}
	var keep []uint32
	err = e.facts(ctx, cand, factCurrency, func(x *Fact) {
		if x.HasAmount && x.Currency == currency && (lo == nil || x.Amount >= *lo) && (hi == nil || x.Amount <= *hi) {
			keep = append(keep, uint32(x.Index))
		}
	})
	if err != nil {
		return nil, err
	}
	return r.or(listSet(keep, size)), nil
}

// Match returns the records below snap.Size that match f.
func (e *Engine) Match(ctx context.Context, snap Snapshot, f *Filter) (*set, error) {
	size := snap.Size
	ls := e.lists(size)
	var cons []*set
	for _, c := range f.Terms {
		s, err := ls.set(c)
		if err != nil {
			return nil, err
		}
		cons = append(cons, s)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if f.EffFrom != nil || f.EffTo != nil {
		s, err := e.dayRange(ctx, fieldEff, f.EffFrom, f.EffTo, size)
		if err != nil {
			return nil, err
		}
		cons = append(cons, s)
	}
	if f.RecFrom != nil || f.RecTo != nil {
		s, err := e.dayRange(ctx, fieldRec, f.RecFrom, f.RecTo, size)
		if err != nil {
			return nil, err
		}
		cons = append(cons, s)
	}
	if f.Currency != "" {
		s, err := e.amountRange(ctx, f.Currency, f.AmountMin, f.AmountMax, size)
		if err != nil {
			return nil, err
		}
		cons = append(cons, s)
	}
	var r *set
	if len(cons) == 0 {
		var err error
		if r, err = ls.allRecords(); err != nil {
			return nil, err
		}
	} else {
		r = intersect(cons, size)
		// Records not fully indexed are checked one by one.
		over, err := ls.set([]string{term(fieldOverflow, "")})
		if err != nil {
			return nil, err
		}
		var extra []uint32
		var failed error
		over.ascend(0, func(i uint32) bool {
			if r.has(i) {
				return true
			}
			if failed = ctx.Err(); failed != nil {
				return false
			}
			rec, _, err := e.record(ctx, uint64(i))
			if err != nil {
				failed = err
				return false
			}
			if rec != nil && f.Match(rec, uint64(i)) {
				extra = append(extra, i)
			}
			return true
		})
		if failed != nil {
			return nil, failed
		}
		if len(extra) > 0 {
			r = r.or(listSet(extra, size))
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
		r = r.restrict(lo, hi)
	}
	if f.Current && r.len() > 0 {
		sup, err := e.superseded(ctx, size)
		if err != nil {
			return nil, err
		}
		r = r.filter(func(i uint32) bool { _, ok := sup[i]; return !ok })
	}
	return r, nil
}

// record reads and decodes the record at index; nil if the entry holds
// none or its payload is withheld.
func (e *Engine) record(ctx context.Context, index uint64) (*akashiv1.Record, ledger.Entry, error) {
	en, err := e.log.Entry(ctx, index)
	if err != nil {
		return nil, en, err
	}
	return decodeRecord(en.Payload), en, nil
}

// facts calls f with the fact rows of the records of s, in index order,
// with the string fields of fields (the others "").
func (e *Engine) facts(ctx context.Context, s *set, fields factStrings, f func(*Fact)) error {
	lo, ok := s.first()
	if !ok {
		return nil
	}
	hi, _ := s.last()
	first, last := lo/factsPerBlock, hi/factsPerBlock
	visit := func(block uint32, v []byte) error {
		return decodeFacts(v, block, s.holds, fields, func(x *Fact) bool {
			f(x)
			return true
		}, nil)
	}
	if n := s.len(); n > 64 && n >= 2*int(last-first+1) {
		// Dense: one scan.
		n := 0
		return e.log.IndexIterate(ctx, ledger.IndexRange{Prefix: []byte{prefixQuery, tagFact}, Start: factKey(first)}, func(k, v []byte) (bool, error) {
			if len(k) != 6 {
				return false, fmt.Errorf("%w: fact key %q", ledger.ErrCorrupt, k)
			}
			b := binary.BigEndian.Uint32(k[2:])
			if b > last {
				return false, nil
			}
			if n++; n%64 == 0 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			return true, visit(b, v)
		})
	}
	var err error
	prev := uint32(math.MaxUint32)
	s.ascend(0, func(i uint32) bool {
		b := i / factsPerBlock
		if b == prev {
			return true
		}
		prev = b
		if err = ctx.Err(); err != nil {
			return false
		}
		var v []byte
		if v, err = e.log.IndexGet(factKey(b)); err != nil {
			err = fmt.Errorf("fact block %d: %w", b, err)
			return false
		}
		err = visit(b, v)
		return err == nil
	})
	return err
}

// factsParallel calls f with the fact rows of the records of s, in no
// particular order, on up to workers goroutines, with the string fields of
// fields; w numbers the caller's goroutine.
func (e *Engine) factsParallel(ctx context.Context, s *set, workers int, fields factStrings, f func(w int, x *Fact)) error {
	lo, ok := s.first()
	if !ok {
		return nil
	}
	hi, _ := s.last()
	first, last := lo/factsPerBlock, hi/factsPerBlock
	span := last - first + 1
	if workers <= 1 || span < 64 || s.len() < 2*int(span) {
		return e.facts(ctx, s, fields, func(x *Fact) { f(0, x) })
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		b0, b1 := first+uint32(uint64(span)*uint64(w)/uint64(workers)), first+uint32(uint64(span)*uint64(w+1)/uint64(workers))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = e.log.IndexIterate(ctx, ledger.IndexRange{Prefix: []byte{prefixQuery, tagFact}, Start: factKey(b0)}, func(k, v []byte) (bool, error) {
				if len(k) != 6 {
					return false, fmt.Errorf("%w: fact key %q", ledger.ErrCorrupt, k)
				}
				b := binary.BigEndian.Uint32(k[2:])
				if b >= b1 {
					return false, nil
				}
				return true, decodeFacts(v, b, s.holds, fields, func(x *Fact) bool {
					f(w, x)
					return true
				}, nil)
			})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
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
	var terms []string
	for _, t := range []akashiv1.Tag{akashiv1.Tag_TAG_UPDATE, akashiv1.Tag_TAG_AMENDMENT, akashiv1.Tag_TAG_CORRECTION, akashiv1.Tag_TAG_WITHDRAWAL} {
		terms = append(terms, enumTerm(fieldTag, int32(t)))
	}
	amending, err := e.lists(size).set(terms)
	if err != nil {
		return nil, err
	}
	sup := map[uint32]uint32{}
	err = e.facts(ctx, amending, factNoStrings, func(x *Fact) {
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
	hash := f.hash(fmt.Sprintf("%c%v", o.Field, o.Desc))
	var cur *cursor
	var snap Snapshot
	var err error
	if token != "" {
		c, err := decodeCursor(token)
		if err != nil {
			return nil, err
		}
		w, err := readWatermark(e.log)
		if err != nil {
			return nil, err
		}
		if c.hash != hash || c.sort != o || c.size > w.answer {
			return nil, bad("page_token", token, "the next_page_token of a previous page of the same query")
		}
		if snap, err = e.at(ctx, c.size); err != nil {
			return nil, err
		}
		cur = &c
	} else if snap, err = e.Head(ctx); err != nil {
		return nil, err
	}
	r, err := e.Match(ctx, snap, f)
	if err != nil {
		return nil, err
	}
	p := &Page{Snapshot: snap, Total: uint64(r.len())}
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
	// emit adds a row; it reports whether more are wanted.
	emit := func(rw row) bool {
		if after(rw) {
			rows = append(rows, rw)
		}
		return len(rows) <= pageSize
	}
	switch o.Field {
	case 'i':
		if o.Desc {
			from := uint32(math.MaxUint32)
			if cur != nil {
				if cur.index == 0 {
					break
				}
				from = uint32(min(cur.index-1, math.MaxUint32))
			}
			r.descend(from, func(i uint32) bool { return emit(row{index: i}) })
		} else {
			from := uint32(0)
			if cur != nil {
				if cur.index >= math.MaxUint32 {
					break
				}
				from = uint32(cur.index + 1)
			}
			r.ascend(from, func(i uint32) bool { return emit(row{index: i}) })
		}
	default:
		if err := e.ordered(ctx, snap, f, o, r, cur, emit); err != nil {
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

// row is a row of a page: its phase (0 with a sort key, 1 without), key
// and index.
type row struct {
	phase byte
	key   int64
	index uint32
}

// ordered calls emit with the records of r in the order o (by date or
// amount), starting at the cursor's group, until emit returns false.
func (e *Engine) ordered(ctx context.Context, snap Snapshot, f *Filter, o Sort, r *set, cur *cursor, emit func(row) bool) error {
	size := snap.Size
	// The groups of records with the same sort key (a day, an amount
	// bucket) are the terms of a field, in term order.
	prefix, termLen := string(o.Field), dateTermLen
	groupOf := func(key int64) string { return term(o.Field, DayDate(int32(key)).String()) }
	if o.Field == 'a' {
		prefix, termLen = term(fieldAmount, f.Currency), amountTermLen
		groupOf = func(key int64) string { return term(fieldAmount, amountBucket(f.Currency, key)) }
	}
	start := ""
	switch {
	case cur != nil:
		start = groupOf(cur.key)
	case o.Field == fieldEff && !o.Desc && f.EffFrom != nil:
		start = groupOf(int64(*f.EffFrom))
	case o.Field == fieldEff && o.Desc && f.EffTo != nil:
		start = groupOf(int64(*f.EffTo))
	case o.Field == fieldRec && !o.Desc && f.RecFrom != nil:
		start = groupOf(int64(*f.RecFrom))
	case o.Field == fieldRec && o.Desc && f.RecTo != nil:
		start = groupOf(int64(*f.RecTo))
	case o.Field == 'a' && !o.Desc && f.AmountMin != nil && *f.AmountMin > 0:
		start = groupOf(*f.AmountMin)
	case o.Field == 'a' && o.Desc && f.AmountMax != nil && *f.AmountMax > 0:
		start = groupOf(*f.AmountMax)
	}
	if blocks(r, maxFactSortBlocks+1) <= maxFactSortBlocks {
		return e.orderedByFacts(ctx, f, o, r, emit)
	}
	seen, done := 0, false
	rb := r.asBits()
	if cur == nil || cur.phase == 0 {
		var in []uint32
		err := scanTerms(ctx, e.log, prefix, termLen, start, o.Desc, size, func(t string, p plist) (bool, error) {
			var key int64
			exact := true
			if o.Field == 'a' {
				key, _, exact = parseBucket(t)
			} else {
				d, err := record.ParseDate(t[1:])
				if err != nil {
					return false, fmt.Errorf("%w: date term %q", ledger.ErrCorrupt, t)
				}
				key = int64(DayNumber(d))
			}
			var err error
			if in, err = p.members(in[:0], rb, size); err != nil {
				return false, err
			}
			seen += len(in)
			if len(in) == 0 {
				return true, nil
			}
			keys := map[uint32]int64{}
			if !exact {
				err := e.facts(ctx, listSet(in, size), factNoStrings, func(x *Fact) { keys[uint32(x.Index)] = x.Amount })
				if err != nil {
					return false, err
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
				k := key
				if !exact {
					k = keys[i]
				}
				if !emit(row{0, k, i}) {
					done = true
					return false, nil
				}
			}
			return start != "" || seen < r.len(), nil
		})
		if err != nil || done || start == "" && seen == r.len() {
			return err
		}
	}
	// The records without a sort key, in index order.
	var keyed []plist
	err := scanTerms(ctx, e.log, prefix, termLen, "", false, size, func(_ string, p plist) (bool, error) {
		keyed = append(keyed, p)
		return true, nil
	})
	if err != nil {
		return err
	}
	k, err := unionOf(keyed, size)
	if err != nil {
		return err
	}
	rest := r.minus(k)
	next := func(i uint32) bool { return emit(row{1, 0, i}) }
	if o.Desc {
		rest.descend(math.MaxUint32, next)
	} else {
		rest.ascend(0, next)
	}
	return nil
}

// maxFactSortBlocks is the most fact blocks a result may span to be
// sorted from its fact rows rather than by walking the sort field's
// terms.
var maxFactSortBlocks = 128

// blocks returns the number of fact blocks the records of r are in, up to
// limit.
func blocks(r *set, limit int) int {
	n := 0
	prev := uint32(math.MaxUint32)
	r.ascend(0, func(i uint32) bool {
		if b := i / factsPerBlock; b != prev {
			prev = b
			n++
		}
		return n < limit
	})
	return n
}

// orderedByFacts is ordered for a few records: it sorts them by their
// fact rows, which hold the same keys as the sort field's terms.
func (e *Engine) orderedByFacts(ctx context.Context, f *Filter, o Sort, r *set, emit func(row) bool) error {
	var keyed, rest []row
	err := e.facts(ctx, r, factCurrency, func(x *Fact) {
		rw := row{index: uint32(x.Index)}
		ok := false
		switch o.Field {
		case fieldEff:
			rw.key, ok = int64(x.EffDay), x.HasEff
		case fieldRec:
			rw.key, ok = int64(x.RecDay), x.HasRec
		case 'a':
			rw.key, ok = x.Amount, x.HasAmount && x.Currency == f.Currency
		}
		if ok {
			keyed = append(keyed, rw)
		} else {
			rw.phase = 1
			rest = append(rest, rw)
		}
	})
	if err != nil {
		return err
	}
	slices.SortFunc(keyed, func(a, b row) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return int(int64(a.index) - int64(b.index))
	})
	if o.Desc {
		slices.Reverse(keyed)
		slices.Reverse(rest)
	}
	for _, rw := range append(keyed, rest...) {
		if !emit(rw) {
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
	add := func(en ledger.Entry) {
		_, s := sup[uint32(en.Index)]
		out = append(out, Hit{Entry: en, Record: decodeRecord(en.Payload), Current: !s})
	}
	if len(rows) == 0 {
		return out, nil
	}
	// Read the rows in runs of nearby indexes, each with one read
	// transaction that parses each entry bundle once.
	sorted := slices.Clone(rows)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	byIndex := make(map[uint64]ledger.Entry, len(rows))
	want := func(i uint64) bool { _, ok := slices.BinarySearch(sorted, i); return ok }
	for start := 0; start < len(sorted); {
		end := start + 1
		for end < len(sorted) && sorted[end]-sorted[end-1] <= hitGap {
			end++
		}
		lo, hi := sorted[start], sorted[end-1]
		if hi >= snap.Size {
			return nil, fmt.Errorf("%w: row %d of a tree of size %d", ledger.ErrOutOfRange, hi, snap.Size)
		}
		if end-start < minHitRun {
			for _, i := range sorted[start:end] {
				en, err := e.log.Entry(ctx, i)
				if err != nil {
					return nil, err
				}
				byIndex[i] = en
			}
		} else {
			err := e.log.Entries(ctx, lo, hi+1, func(en ledger.Entry) error {
				if want(en.Index) {
					byIndex[en.Index] = en
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		start = end
	}
	for _, i := range rows {
		add(byIndex[i])
	}
	return out, nil
}

// Rows of a page are read together, in one pass over their entries,
// when there are at least minHitRun of them with gaps of at most hitGap.
const (
	hitGap    = 8
	minHitRun = 16
)

// ErrNotFound reports a record or process that is not in the log.
var ErrNotFound = errors.New("not found")
