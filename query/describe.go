// SPDX-License-Identifier: Apache-2.0

package query

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// MaxTermsPerRecord bounds the posting lists one record is added to. A
// record with more terms (a very long text) is marked with the overflow
// term '!' and checked one by one by the queries that could match it.
const MaxTermsPerRecord = 1024

func isNotFound(err error) bool { return errors.Is(err, ledger.ErrNotFound) }

// Described is what the index knows of a record: its terms and its fact
// row.
type Described struct {
	Attrs []string // attribute terms, field byte first
	Text  []string // the distinct tokens of its text (see TextOf)
	Fact  Fact

	// What the index writes of the text: the tokens indexed as text terms
	// (those of a disbursement's programme title are indexed once per
	// title, see titleTerm), and the programme title.
	indexText []string
	title     string
}

func term(field byte, value string) string { return string(field) + value }

// enumTerm is the term of a one-byte enumeration value.
func enumTerm(field byte, v int32) string { return string([]byte{field, byte(v)}) }

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

// bucketRange returns the amounts of a bucket: [lo, hi], and whether
// every amount in it is lo (an exact bucket).
func bucketRange(digits, lead int, inexact bool) (lo, hi int64, exact bool) {
	if digits <= 2 {
		return int64(lead), int64(lead), true
	}
	p := int64(1)
	for range digits - 2 {
		p *= 10
	}
	lo = int64(lead) * p
	if !inexact {
		return lo, lo, true
	}
	return lo + 1, lo + p - 1, false
}

// titleTerm returns the term of a programme title: every disbursement of a
// programme repeats its title, so its tokens are indexed once, under the
// title (see the package comment), and each disbursement has this one
// term instead of a dozen.
func titleTerm(title string) string {
	h := sha256.Sum256([]byte(title))
	return term(fieldTitle, hex.EncodeToString(h[:12]))
}

// titleCache remembers the tokens and term of programme titles.
type titleCache struct {
	mu sync.Mutex
	m  map[string]titleInfo
}

type titleInfo struct {
	term   string
	tokens []string // distinct, sorted
}

const maxCachedTitles = 4096

func (c *titleCache) get(title string) titleInfo {
	if c == nil {
		return newTitleInfo(title)
	}
	c.mu.Lock()
	ti, ok := c.m[title]
	c.mu.Unlock()
	if ok {
		return ti
	}
	ti = newTitleInfo(title)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedTitles {
		c.m = map[string]titleInfo{}
	}
	c.m[strings.Clone(title)] = ti
	c.mu.Unlock()
	return ti
}

func newTitleInfo(title string) titleInfo {
	return titleInfo{term: titleTerm(title), tokens: sortedUnique(appendTokens(nil, title))}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// hasNUL reports whether a term holds a NUL byte, which separates a term
// from the rest of its keys.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// Describe returns a record's terms and fact row. amends is the log index
// of the record it amends, if hasAmends.
func Describe(r *akashiv1.Record, index uint64, amends uint64, hasAmends bool) Described {
	return describe(r, index, amends, hasAmends, nil)
}

func describe(r *akashiv1.Record, index uint64, amends uint64, hasAmends bool, titles *titleCache) Described {
	kind, _ := record.KindOf(r)
	d := Described{Fact: Fact{Index: index, Kind: kind, Tag: r.GetTag(), Amends: amends, HasAmends: hasAmends, Publisher: r.GetPublisher().GetId()}}
	f := &d.Fact
	d.Attrs = make([]string, 0, 20)
	add := func(field byte, v string) {
		if v != "" {
			d.Attrs = append(d.Attrs, term(field, v))
		}
	}
	d.Attrs = append(d.Attrs, enumTerm(fieldKind, int32(kind)), enumTerm(fieldTag, int32(r.GetTag())))
	add(fieldPublisher, f.Publisher)
	add(fieldJur, r.GetJurisdiction())
	add(fieldJurPref, prefectureOf(r.GetJurisdiction()))
	if rd, ok := RecordedDate(r); ok {
		f.RecDay, f.HasRec = DayNumber(rd), true
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
		d.Attrs = append(d.Attrs, enumTerm(fieldTT, int32(f.TT)))
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
	switch db := r.GetDisbursement(); {
	case db != nil:
		d.indexText = sortedUnique(appendTokens(nil, db.GetPayee().GetOrganization().GetName()))
		d.Text = d.indexText
		if t := db.GetProgramme().GetTitle(); t != "" {
			ti := titles.get(t)
			d.title = t
			d.Attrs = append(d.Attrs, ti.term)
			if !isSubset(ti.tokens, d.indexText) {
				d.Text = sortedUnique(append(slices.Clone(d.indexText), ti.tokens...))
			}
		}
	default:
		d.indexText = sortedUnique(appendTokens(nil, TextOf(r)))
		d.Text = d.indexText
	}
	d.Attrs = sortedUnique(d.Attrs)
	return d
}

// isSubset reports whether every element of a is in b; both are sorted.
func isSubset(a, b []string) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
	}
	return true
}

// indexTerms returns the terms to index for d, at most MaxTermsPerRecord,
// and whether some were left out. Terms holding NUL (which no valid
// record has) are left out too.
func (d *Described) indexTerms() ([]string, bool) {
	all := make([]string, 0, len(d.Attrs)+len(d.indexText))
	over := false
	for _, t := range d.Attrs {
		if hasNUL(t[1:]) && !fixedLength(t[0]) {
			over = true
			continue
		}
		all = append(all, t)
	}
	for _, t := range d.indexText {
		all = append(all, term(fieldText, t))
	}
	if len(all) > MaxTermsPerRecord {
		all, over = all[:MaxTermsPerRecord-1], true
	}
	if over {
		all = append(all, term(fieldOverflow, ""))
	}
	return all, over
}
