// SPDX-License-Identifier: Apache-2.0

package query

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// ErrInvalid reports a bad query parameter; the error's message names it.
var ErrInvalid = errors.New("invalid query parameter")

// ParamError is a bad query parameter.
type ParamError struct {
	Param string // the parameter, e.g. "effective_from"
	Got   string
	Want  string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: got %s, want %s", e.Param, e.Got, e.Want)
}

func (e *ParamError) Unwrap() error { return ErrInvalid }

func bad(param, got, want string) error {
	if len(got) > 64 {
		got = got[:64] + "…"
	}
	return &ParamError{Param: param, Got: strconv.Quote(got), Want: want}
}

// Params are a query's filters as given, strings as in a URL.
type Params struct {
	Kind, Publisher, Jurisdiction, Area, Programme, Payee, LegalBasis, Tag, Decision, Request, TransactionType []string
	EffectiveFrom, EffectiveTo, RecordedFrom, RecordedTo                                                       string
	AmountMin, AmountMax                                                                                       *int64
	Currency                                                                                                   string
	Q                                                                                                          string
	IndexFrom, IndexTo                                                                                         *uint64
	Current                                                                                                    bool
}

// Resolver finds the publishers of a record id, for references given
// without one.
type Resolver interface {
	// Publishers returns the publishers that published a record with id.
	Publishers(id string) ([]string, error)
}

// Filter is a parsed, checked query. Its zero value matches every record.
type Filter struct {
	// Terms holds the constraints on terms: a record matches when, for
	// every constraint, it has at least one of its terms.
	Terms [][]string
	// Ranges on facts.
	EffFrom, EffTo, RecFrom, RecTo *int32
	AmountMin, AmountMax           *int64
	Currency                       string
	IndexFrom, IndexTo             *uint64
	Current                        bool
	// The text terms, for checking records one by one.
	canonical string
}

// split returns the values of a repeated parameter, commas separating
// values too.
func split(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

const maxValues = 50

// Parse checks p and returns its filter.
func Parse(p Params, res Resolver) (*Filter, error) {
	f := &Filter{Current: p.Current, Currency: p.Currency}
	list := func(param string, vs []string, conv func(string) ([]string, error)) error {
		vs = split(vs)
		if len(vs) == 0 {
			return nil
		}
		if len(vs) > maxValues {
			return bad(param, fmt.Sprintf("%d values", len(vs)), fmt.Sprintf("at most %d", maxValues))
		}
		var c []string
		for _, v := range vs {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return bad(param, v, "valid UTF-8 text")
			}
			ts, err := conv(v)
			if err != nil {
				return err
			}
			c = append(c, ts...)
		}
		slices.Sort(c)
		f.Terms = append(f.Terms, slices.Compact(c))
		return nil
	}
	one := func(field byte) func(string) ([]string, error) {
		return func(v string) ([]string, error) { return []string{term(field, v)}, nil }
	}
	code := func(param string, field, pref byte) func(string) ([]string, error) {
		return func(v string) ([]string, error) {
			if err := record.ValidateLocalGovernmentCode(v); err != nil {
				return nil, bad(param, v, "a 6-digit local government code with its check digit, such as 130001")
			}
			if v[2:5] == "000" { // a prefecture: all of it
				return []string{term(pref, v[:2])}, nil
			}
			return []string{term(field, v)}, nil
		}
	}
	enum := func(param string, field byte, names map[string]int) func(string) ([]string, error) {
		return func(v string) ([]string, error) {
			n, ok := names[strings.ToLower(v)]
			if !ok {
				keys := make([]string, 0, len(names))
				for k := range names {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				return nil, bad(param, v, "one of "+strings.Join(keys, ", "))
			}
			return []string{term(field, string([]byte{byte(n)}))}, nil
		}
	}
	ref := func(param string) func(string) ([]string, error) {
		return func(v string) ([]string, error) {
			if pub, id, ok := strings.Cut(v, "/"); ok {
				if pub == "" || id == "" {
					return nil, bad(param, v, `a record id, or "publisher/id"`)
				}
				return []string{term(fieldRef, v)}, nil
			}
			if res == nil {
				return nil, bad(param, v, `"publisher/id"`)
			}
			pubs, err := res.Publishers(v)
			if err != nil {
				return nil, err
			}
			if len(pubs) == 0 {
				return nil, bad(param, v, "the id of a record in the log")
			}
			var out []string
			for _, p := range pubs {
				out = append(out, term(fieldRef, p+"/"+v))
			}
			return out, nil
		}
	}
	errs := []error{
		list("kind", p.Kind, enum("kind", fieldKind, map[string]int{"decision": int(record.KindDecision), "request": int(record.KindRequest), "disbursement": int(record.KindDisbursement)})),
		list("publisher", p.Publisher, one(fieldPublisher)),
		list("jurisdiction", p.Jurisdiction, code("jurisdiction", fieldJur, fieldJurPref)),
		list("area", p.Area, code("area", fieldArea, fieldAreaPref)),
		list("programme", p.Programme, one(fieldProgramme)),
		list("payee", p.Payee, one(fieldPayee)),
		list("legal_basis", p.LegalBasis, one(fieldLaw)),
		list("tag", p.Tag, enum("tag", fieldTag, map[string]int{"new": 1, "update": 2, "amendment": 3, "correction": 4, "withdrawal": 5})),
		list("decision", p.Decision, ref("decision")),
		list("request", p.Request, ref("request")),
		list("transaction_type", p.TransactionType, enum("transaction_type", fieldTT, map[string]int{"commitment": 1, "disbursement": 2, "refund": 3, "clawback": 4})),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, firstErr(errs)
	}
	day := func(param, s string) (*int32, error) {
		if s == "" {
			return nil, nil
		}
		d, err := record.ParseDate(s)
		if err != nil {
			return nil, bad(param, s, "a date YYYY-MM-DD")
		}
		n := DayNumber(d)
		return &n, nil
	}
	var err error
	for _, x := range []struct {
		param string
		s     string
		p     **int32
	}{{"effective_from", p.EffectiveFrom, &f.EffFrom}, {"effective_to", p.EffectiveTo, &f.EffTo}, {"recorded_from", p.RecordedFrom, &f.RecFrom}, {"recorded_to", p.RecordedTo, &f.RecTo}} {
		if *x.p, err = day(x.param, x.s); err != nil {
			return nil, err
		}
	}
	if f.EffFrom != nil && f.EffTo != nil && *f.EffTo < *f.EffFrom {
		return nil, bad("effective_to", p.EffectiveTo, "a date on or after effective_from")
	}
	if f.RecFrom != nil && f.RecTo != nil && *f.RecTo < *f.RecFrom {
		return nil, bad("recorded_to", p.RecordedTo, "a date on or after recorded_from")
	}
	f.AmountMin, f.AmountMax = p.AmountMin, p.AmountMax
	if (f.AmountMin != nil || f.AmountMax != nil) && f.Currency == "" {
		return nil, bad("currency", "", "an ISO 4217 currency code with amount_min or amount_max, such as JPY")
	}
	if f.Currency != "" {
		if _, err := record.CurrencyExponent(f.Currency); err != nil {
			return nil, bad("currency", f.Currency, "an ISO 4217 currency code such as JPY")
		}
	}
	if f.AmountMin != nil && *f.AmountMin < 0 {
		return nil, bad("amount_min", strconv.FormatInt(*f.AmountMin, 10), ">= 0")
	}
	if f.AmountMin != nil && f.AmountMax != nil && *f.AmountMax < *f.AmountMin {
		return nil, bad("amount_max", strconv.FormatInt(*f.AmountMax, 10), ">= amount_min")
	}
	f.IndexFrom, f.IndexTo = p.IndexFrom, p.IndexTo
	if f.IndexFrom != nil && f.IndexTo != nil && *f.IndexTo < *f.IndexFrom {
		return nil, bad("index_to", strconv.FormatUint(*f.IndexTo, 10), ">= index_from")
	}
	if q := strings.TrimSpace(p.Q); q != "" {
		if !utf8.ValidString(q) || len(q) > 500 {
			return nil, bad("q", q, "at most 500 bytes of UTF-8 text")
		}
		toks := Tokens(q)
		if len(toks) == 0 {
			return nil, bad("q", q, "text with letters or digits")
		}
		if len(toks) > 32 {
			return nil, bad("q", q, "at most 32 words or character pairs")
		}
		for _, t := range toks {
			if r, n := utf8.DecodeRuneInString(t); n == len(t) && isCJK(r) {
				return nil, bad("q", q, "Japanese terms of at least two characters")
			}
			f.Terms = append(f.Terms, []string{term(fieldText, t)})
		}
	}
	f.canonical = canonical(p)
	return f, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// canonical returns a string that identifies a query's filters, for
// checking that a page token goes with its query.
func canonical(p Params) string {
	var b strings.Builder
	for _, vs := range [][]string{p.Kind, p.Publisher, p.Jurisdiction, p.Area, p.Programme, p.Payee, p.LegalBasis, p.Tag, p.Decision, p.Request, p.TransactionType} {
		s := split(vs)
		slices.Sort(s)
		fmt.Fprintf(&b, "%q;", s)
	}
	fmt.Fprintf(&b, "%q;%q;%q;%q;%q;%q;%v", p.EffectiveFrom, p.EffectiveTo, p.RecordedFrom, p.RecordedTo, p.Currency, strings.TrimSpace(p.Q), p.Current)
	for _, v := range []*int64{p.AmountMin, p.AmountMax} {
		if v != nil {
			fmt.Fprintf(&b, ";%d", *v)
		} else {
			b.WriteString(";-")
		}
	}
	for _, v := range []*uint64{p.IndexFrom, p.IndexTo} {
		if v != nil {
			fmt.Fprintf(&b, ";%d", *v)
		} else {
			b.WriteString(";-")
		}
	}
	return b.String()
}

func (f *Filter) hash(extra string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(f.canonical))
	h.Write([]byte{0})
	h.Write([]byte(extra))
	return h.Sum64()
}

// matchFact checks the fact-based conditions.
func (f *Filter) matchFact(x *Fact) bool {
	if f.EffFrom != nil && (!x.HasEff || x.EffDay < *f.EffFrom) {
		return false
	}
	if f.EffTo != nil && (!x.HasEff || x.EffDay > *f.EffTo) {
		return false
	}
	if f.RecFrom != nil && (!x.HasRec || x.RecDay < *f.RecFrom) {
		return false
	}
	if f.RecTo != nil && (!x.HasRec || x.RecDay > *f.RecTo) {
		return false
	}
	if f.Currency != "" && (!x.HasAmount || x.Currency != f.Currency) {
		return false
	}
	if f.AmountMin != nil && (!x.HasAmount || x.Amount < *f.AmountMin) {
		return false
	}
	if f.AmountMax != nil && (!x.HasAmount || x.Amount > *f.AmountMax) {
		return false
	}
	return true
}

// needsFacts reports whether the filter has conditions on facts.
func (f *Filter) needsFacts() bool {
	return f.EffFrom != nil || f.EffTo != nil || f.RecFrom != nil || f.RecTo != nil || f.Currency != "" || f.AmountMin != nil || f.AmountMax != nil
}

// matchTerms checks the term constraints against a record's full
// description.
func (f *Filter) matchTerms(d *Described) bool {
	have := map[string]bool{}
	for _, t := range d.Attrs {
		have[t] = true
	}
	for _, t := range d.Text {
		have[term(fieldText, t)] = true
	}
	for _, c := range f.Terms {
		if !slices.ContainsFunc(c, func(t string) bool { return have[t] }) {
			return false
		}
	}
	return true
}

// Match reports whether a record matches the filter's term and fact
// conditions (not Current, which depends on later records).
func (f *Filter) Match(r *akashiv1.Record, index uint64) bool {
	d := Describe(r, index, 0, false)
	if f.IndexFrom != nil && index < *f.IndexFrom || f.IndexTo != nil && index >= *f.IndexTo {
		return false
	}
	return f.matchTerms(&d) && f.matchFact(&d.Fact)
}
