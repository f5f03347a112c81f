// SPDX-License-Identifier: Apache-2.0

package query

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// MaxTermsPerRecord bounds the posting lists one record is added to. See
// the package comment.
const MaxTermsPerRecord = 40

// maxCachedTerms bounds the terms whose list state the indexer keeps in
// memory; others are read back through the sequencer's view.
const maxCachedTerms = 1 << 17

func isNotFound(err error) bool { return errors.Is(err, ledger.ErrNotFound) }

// Described is what the index knows of a record: its terms and its fact
// row.
type Described struct {
	Attrs []string // attribute terms, field byte first
	Text  []string // text tokens
	Fact  Fact
}

func term(field byte, value string) string { return string(field) + value }

// EffectiveDate returns the date a record takes effect: effective_date,
// or a disbursement's value_date, a decision's decision_date, a request's
// period start; false if none is set.
func EffectiveDate(r *akashiv1.Record) (record.Date, bool) {
	for _, s := range []string{r.GetEffectiveDate(), r.GetDisbursement().GetValueDate(), r.GetDecision().GetDecisionDate(), r.GetRequest().GetPeriod().GetStartDate()} {
		if s != "" {
			if d, err := record.ParseDate(s); err == nil {
				return d, true
			}
		}
	}
	return record.Date{}, false
}

// RecordedDate returns the date in Japan of a record's recorded_at.
func RecordedDate(r *akashiv1.Record) (record.Date, bool) {
	t, err := time.Parse(time.RFC3339, r.GetRecordedAt())
	if err != nil {
		return record.Date{}, false
	}
	return record.DateInJapan(t), true
}

// Areas returns the areas a record concerns.
func Areas(r *akashiv1.Record) []string {
	var out []string
	out = append(out, r.GetDecision().GetAreas()...)
	for _, a := range r.GetRequest().GetAddressees() {
		out = append(out, a.GetClass().GetAreas()...)
	}
	if a := r.GetDisbursement().GetPayeeArea(); a != "" {
		out = append(out, a)
	}
	return out
}

// Refs returns the records a record cites, as "publisher/id".
func Refs(r *akashiv1.Record) []string {
	pub := r.GetPublisher().GetId()
	var out []string
	add := func(x *akashiv1.RecordRef) {
		if x == nil || x.GetId() == "" {
			return
		}
		p := x.GetPublisher()
		if p == "" {
			p = pub
		}
		out = append(out, p+"/"+x.GetId())
	}
	add(r.GetRequest().GetBasisDecision())
	add(r.GetDisbursement().GetRelatedRequest())
	for _, rel := range r.GetRelated() {
		add(rel.GetRecord())
	}
	return out
}

// PayeeID returns a disbursement's payee: its org-id or personal id.
func PayeeID(r *akashiv1.Record) string {
	p := r.GetDisbursement().GetPayee()
	if o := p.GetOrganization(); o != nil {
		return o.GetId()
	}
	return p.GetIndividual().GetId()
}

// TextOf returns the searchable text of a record: titles and
// descriptions, a disbursement's programme title and payee name.
func TextOf(r *akashiv1.Record) string {
	var parts []string
	switch {
	case r.GetDecision() != nil:
		parts = append(parts, r.GetDecision().GetTitle(), r.GetDecision().GetDescription())
	case r.GetRequest() != nil:
		parts = append(parts, r.GetRequest().GetTitle(), r.GetRequest().GetDescription())
	case r.GetDisbursement() != nil:
		parts = append(parts, r.GetDisbursement().GetProgramme().GetTitle(), r.GetDisbursement().GetPayee().GetOrganization().GetName())
	}
	return strings.Join(parts, "\n")
}

func prefectureOf(code string) string {
	if len(code) == 6 {
		return code[:2]
	}
	return ""
}

// amountBucket returns the amount term value of an amount.
func amountBucket(currency string, amount int64) string {
	if amount < 0 {
		amount = 0
	}
	digits, lead, inexact := 0, amount, byte(0)
	for v := amount; v > 0; v /= 10 {
		digits++
	}
	if digits > 2 {
		p := int64(1)
		for range digits - 2 {
			p *= 10
		}
		lead = amount / p
		if lead*p != amount {
			inexact = 1
		}
	}
	return currency + string([]byte{byte(digits), byte(lead), inexact})
}

// Describe returns a record's terms and fact row. amends is the log index
// of the record it amends, if hasAmends.
func Describe(r *akashiv1.Record, index uint64, amends uint64, hasAmends bool) Described {
	kind, _ := record.KindOf(r)
	d := Described{Fact: Fact{Index: index, Kind: kind, Tag: r.GetTag(), Amends: amends, HasAmends: hasAmends, Publisher: r.GetPublisher().GetId()}}
	f := &d.Fact
	seen := map[string]bool{}
	add := func(field byte, v string) {
		if v == "" && field != fieldOverflow {
			return
		}
		t := term(field, v)
		if !seen[t] {
			seen[t] = true
			d.Attrs = append(d.Attrs, t)
		}
	}
	add(fieldKind, string([]byte{byte(kind)}))
	add(fieldTag, string([]byte{byte(r.GetTag())}))
	add(fieldPublisher, f.Publisher)
	add(fieldJur, r.GetJurisdiction())
	add(fieldJurPref, prefectureOf(r.GetJurisdiction()))
	if rd, ok := RecordedDate(r); ok {
		f.RecDay = DayNumber(rd)
		add(fieldRec, rd.String())
	}
	if ed, ok := EffectiveDate(r); ok {
		f.EffDay, f.HasEff = DayNumber(ed), true
		add(fieldEff, ed.String())
	}
	if db := r.GetDisbursement(); db != nil {
		f.TT = db.GetTransactionType()
		f.Programme = db.GetProgramme().GetCode()
		f.Payee = PayeeID(r)
		f.Area = db.GetPayeeArea()
		f.Amount, f.Currency, f.HasAmount = db.GetAmount().GetMinorUnits(), db.GetAmount().GetCurrency(), true
		add(fieldProgramme, f.Programme)
		add(fieldPayee, f.Payee)
		add(fieldTT, string([]byte{byte(f.TT)}))
		add(fieldAmount, amountBucket(f.Currency, f.Amount))
	}
	for _, ref := range Refs(r) {
		add(fieldRef, ref)
	}
	for _, lb := range r.GetLegalBasis() {
		add(fieldLaw, lb.GetLawId())
	}
	areas := Areas(r)
	for _, a := range areas {
		add(fieldArea, a)
	}
	for _, a := range areas {
		add(fieldAreaPref, prefectureOf(a))
	}
	d.Text = Tokens(TextOf(r))
	return d
}

// capped returns the terms to index for d, at most MaxTermsPerRecord,
// and whether some were left out.
func (d *Described) capped() ([]string, bool) {
	all := make([]string, 0, len(d.Attrs)+len(d.Text))
	all = append(all, d.Attrs...)
	for _, t := range d.Text {
		all = append(all, term(fieldText, t))
	}
	if len(all) <= MaxTermsPerRecord {
		return all, false
	}
	return append(all[:MaxTermsPerRecord-1], term(fieldOverflow, "")), true
}

// stats is the range of days seen.
type stats struct {
	hasEff, hasRec bool
	minEff, maxEff int32
	minRec, maxRec int32
	loaded         bool
}

var statsKey = []byte{prefixQuery, tagStats}

func (s stats) encode() []byte {
	var flags byte
	if s.hasEff {
		flags |= 1
	}
	if s.hasRec {
		flags |= 2
	}
	b := []byte{flags}
	for _, v := range []int32{s.minEff, s.maxEff, s.minRec, s.maxRec} {
		b = binary.AppendVarint(b, int64(v))
	}
	return b
}

func decodeStats(b []byte) (stats, error) {
	if len(b) < 1 {
		return stats{}, fmt.Errorf("%w: stats", ledger.ErrCorrupt)
	}
	s := stats{hasEff: b[0]&1 != 0, hasRec: b[0]&2 != 0, loaded: true}
	b = b[1:]
	for _, p := range []*int32{&s.minEff, &s.maxEff, &s.minRec, &s.maxRec} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return stats{}, fmt.Errorf("%w: stats", ledger.ErrCorrupt)
		}
		*p, b = int32(v), b[n:]
	}
	return s, nil
}

// Indexer computes the index keys of records as the ledger's sequencer
// hook sees them, in log order. It keeps the state of the lists it
// appends to in memory, and reads the rest through the hook's view. It is
// not safe for concurrent use: the sequencer calls it from one goroutine.
type Indexer struct {
	terms map[string]*termState
	facts factWriter
	stats stats
	next  uint64
}

// NewIndexer returns an Indexer for a log whose index keys are read
// through the views it is given.
func NewIndexer() *Indexer { return &Indexer{terms: map[string]*termState{}} }

// reset forgets what the indexer keeps in memory.
func (x *Indexer) reset() {
	clear(x.terms)
	x.facts = factWriter{}
	x.stats = stats{}
}

// Observe tells the indexer that the sequencer is at index (for an entry
// that is not a record). Every entry must be either observed or indexed,
// so that the indexer notices when a failed batch made the sequencer go
// back, and forgets what it kept of the lost entries.
func (x *Indexer) Observe(index uint64) {
	if index < x.next {
		x.reset()
	}
	x.next = index + 1
}

// Index returns the index keys of the record at index, to be written in
// the entry's transaction. amends is the log index of the record it
// amends, if hasAmends.
func (x *Indexer) Index(v ledger.View, index uint64, r *akashiv1.Record, amends uint64, hasAmends bool) ([]ledger.KV, error) {
	x.Observe(index)
	kvs, err := x.index(v, index, r, amends, hasAmends)
	if err != nil {
		x.reset()
		x.next = 0
	}
	return kvs, err
}

func (x *Indexer) index(v ledger.View, index uint64, r *akashiv1.Record, amends uint64, hasAmends bool) ([]ledger.KV, error) {
	d := Describe(r, index, amends, hasAmends)
	terms, overflow := d.capped()
	d.Fact.Overflow = overflow
	kvs := make([]ledger.KV, 0, len(terms)+3)
	if len(x.terms) > maxCachedTerms {
		for k := range x.terms {
			delete(x.terms, k)
			if len(x.terms) < maxCachedTerms/2 {
				break
			}
		}
	}
	for _, t := range terms {
		st := x.terms[t]
		if st == nil {
			var err error
			if st, err = loadTerm(v, []byte(t)); err != nil {
				return nil, err
			}
			x.terms[t] = st
		}
		var err error
		if kvs, err = st.add(v, []byte(t), index, kvs); err != nil {
			return nil, err
		}
	}
	kv, err := x.facts.add(v, &d.Fact)
	if err != nil {
		return nil, err
	}
	kvs = append(kvs, kv)
	if !x.stats.loaded {
		b, err := v.Get(statsKey)
		switch {
		case err == nil:
			if x.stats, err = decodeStats(b); err != nil {
				return nil, err
			}
		case isNotFound(err):
			x.stats = stats{loaded: true}
		default:
			return nil, err
		}
	}
	s := x.stats
	f := d.Fact
	if f.HasEff && (!s.hasEff || f.EffDay < s.minEff || f.EffDay > s.maxEff) {
		if !s.hasEff {
			s.minEff, s.maxEff = f.EffDay, f.EffDay
		}
		s.hasEff, s.minEff, s.maxEff = true, min(s.minEff, f.EffDay), max(s.maxEff, f.EffDay)
	}
	if !s.hasRec || f.RecDay < s.minRec || f.RecDay > s.maxRec {
		if !s.hasRec {
			s.minRec, s.maxRec = f.RecDay, f.RecDay
		}
		s.hasRec, s.minRec, s.maxRec = true, min(s.minRec, f.RecDay), max(s.maxRec, f.RecDay)
	}
	if s != x.stats {
		x.stats = s
		kvs = append(kvs, ledger.KV{Key: statsKey, Value: s.encode()})
	}
	return kvs, nil
}
