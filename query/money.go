// SPDX-License-Identifier: Apache-2.0

package query

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Money.
//
// Sums count current versions only: a disbursement that a later record
// amends (a correction, say) is replaced by it, and a withdrawn one counts
// nothing. Refunds and clawbacks are subtracted: Net = Disbursed −
// Refunded − ClawedBack. Commitments are reported apart and are not in
// Net. Amounts are in the currency's minor units, per currency.

// Total sums money in one currency.
type Total struct {
	Currency                                        string
	Disbursed, Refunded, ClawedBack, Net, Committed int64
	Count                                           uint64
}

func (t *Total) add(x *Fact) {
	switch x.TT {
	case akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT:
		t.Disbursed += x.Amount
	case akashiv1.TransactionType_TRANSACTION_TYPE_REFUND:
		t.Refunded += x.Amount
	case akashiv1.TransactionType_TRANSACTION_TYPE_CLAWBACK:
		t.ClawedBack += x.Amount
	case akashiv1.TransactionType_TRANSACTION_TYPE_COMMITMENT:
		t.Committed += x.Amount
	}
	t.Net = t.Disbursed - t.Refunded - t.ClawedBack
	t.Count++
}

// merge adds o's sums to t's.
func (t *Total) merge(o *Total) {
	t.Disbursed += o.Disbursed
	t.Refunded += o.Refunded
	t.ClawedBack += o.ClawedBack
	t.Committed += o.Committed
	t.Net = t.Disbursed - t.Refunded - t.ClawedBack
	t.Count += o.Count
}

// counts reports whether a fact row counts in sums: a current
// disbursement record that is not a withdrawal.
func counts(x *Fact, sup map[uint32]uint32) bool {
	if x.Kind != record.KindDisbursement || !x.HasAmount || x.Tag == akashiv1.Tag_TAG_WITHDRAWAL {
		return false
	}
	_, s := sup[uint32(x.Index)]
	return !s
}

// Group is one group of an aggregation, in one currency.
type Group struct {
	Key   []string
	Total Total
}

// Aggregation is the result of Aggregate.
type Aggregation struct {
	Snapshot
	GroupBy     []string
	Groups      []Group
	TotalGroups int
	Truncated   bool
	Totals      []Total
}

// Dimensions of Aggregate.
var dimensions = []string{"publisher", "payee", "programme", "area", "month", "quarter", "fiscal_year"}

// Limits of Aggregate.
const (
	DefaultGroups = 1000
	MaxGroups     = 10000
)

// CheckGroupBy checks an aggregation's dimensions.
func CheckGroupBy(vs []string) ([]string, error) {
	dims := split(vs)
	if len(dims) > 4 {
		return nil, bad("group_by", strings.Join(dims, ","), "at most 4 of "+strings.Join(dimensions, ", "))
	}
	for i, d := range dims {
		if !slices.Contains(dimensions, d) {
			return nil, bad("group_by", d, "one of "+strings.Join(dimensions, ", "))
		}
		if slices.Contains(dims[:i], d) {
			return nil, bad("group_by", d, "each dimension once")
		}
	}
	return dims, nil
}

// dimStrings is the string field of a fact row each dimension reads (none
// for the periods, which come from the effective day).
var dimStrings = map[string]factStrings{"publisher": factPublisher, "payee": factPayee, "programme": factProgramme, "area": factArea}

// dimValue returns a fact row's value of a dimension; days caches the
// month, quarter and fiscal year of effective days.
func dimValue(dim string, x *Fact, days map[int32]*[3]string) string {
	switch dim {
	case "publisher":
		return x.Publisher
	case "payee":
		return x.Payee
	case "programme":
		return x.Programme
	case "area":
		return x.Area
	}
	if !x.HasEff {
		return ""
	}
	ds := days[x.EffDay]
	if ds == nil {
		d := DayDate(x.EffDay)
		ds = &[3]string{fmt.Sprintf("%04d-%02d", d.Year, int(d.Month)), fmt.Sprintf("%04d-Q%d", d.Year, d.Quarter()), fmt.Sprintf("FY%04d", d.FiscalYear())}
		days[x.EffDay] = ds
	}
	switch dim {
	case "month":
		return ds[0]
	case "quarter":
		return ds[1]
	case "fiscal_year":
		return ds[2]
	}
	return ""
}

// groupKey is a group of an aggregation: up to four dimension values and
// a currency.
type groupKey struct {
	key      [4]string
	currency string
}

// Aggregate sums the current disbursements matching f, grouped by dims
// (see CheckGroupBy) and currency. byNet orders groups by net amount,
// largest first, instead of by key.
func (e *Engine) Aggregate(ctx context.Context, f *Filter, dims []string, byNet bool, limit int) (*Aggregation, error) {
	snap, err := e.Head(ctx)
	if err != nil {
		return nil, err
	}
	ff := *f
	ff.Terms = append(slices.Clone(f.Terms), []string{enumTerm(fieldKind, int32(record.KindDisbursement))})
	r, err := e.Match(ctx, snap, &ff)
	if err != nil {
		return nil, err
	}
	sup, err := e.superseded(ctx, snap.Size)
	if err != nil {
		return nil, err
	}
	workers := runtime.GOMAXPROCS(0)
	type acc struct {
		groups map[groupKey]*Total
		days   map[int32]*[3]string
	}
	accs := make([]acc, workers)
	for i := range accs {
		accs[i] = acc{groups: map[groupKey]*Total{}, days: map[int32]*[3]string{}}
	}
	fields := factCurrency
	for _, d := range dims {
		fields |= dimStrings[d]
	}
	err = e.factsParallel(ctx, r, workers, fields, func(w int, x *Fact) {
		if !counts(x, sup) {
			return
		}
		a := &accs[w]
		var k groupKey
		for i, d := range dims {
			k.key[i] = dimValue(d, x, a.days)
		}
		k.currency = x.Currency
		t := a.groups[k]
		if t == nil {
			t = &Total{Currency: x.Currency}
			a.groups[k] = t
		}
		t.add(x)
	})
	if err != nil {
		return nil, err
	}
	groups := accs[0].groups
	for _, a := range accs[1:] {
		for k, t := range a.groups {
			if g := groups[k]; g != nil {
				g.merge(t)
			} else {
				groups[k] = t
			}
		}
	}
	totals := map[string]*Total{}
	a := &Aggregation{Snapshot: snap, GroupBy: dims, TotalGroups: len(groups)}
	for k, t := range groups {
		a.Groups = append(a.Groups, Group{Key: slices.Clone(k.key[:len(dims)]), Total: *t})
		if tt := totals[k.currency]; tt != nil {
			tt.merge(t)
		} else {
			c := *t
			totals[k.currency] = &c
		}
	}
	slices.SortFunc(a.Groups, func(x, y Group) int {
		if byNet && x.Total.Net != y.Total.Net {
			if x.Total.Net > y.Total.Net {
				return -1
			}
			return 1
		}
		if c := slices.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return strings.Compare(x.Total.Currency, y.Total.Currency)
	})
	if len(a.Groups) > limit {
		a.Groups, a.Truncated = a.Groups[:limit], true
	}
	a.Totals = sortedTotals(totals)
	return a, nil
}

func sortedTotals(m map[string]*Total) []Total {
	out := make([]Total, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// totalsOf sums the current disbursements among r.
func (e *Engine) totalsOf(ctx context.Context, size uint64, r *set) ([]Total, error) {
	sup, err := e.superseded(ctx, size)
	if err != nil {
		return nil, err
	}
	totals := map[string]*Total{}
	err = e.facts(ctx, r, factCurrency, func(x *Fact) {
		if !counts(x, sup) {
			return
		}
		t := totals[x.Currency]
		if t == nil {
			t = &Total{Currency: x.Currency}
			totals[x.Currency] = t
		}
		t.add(x)
	})
	return sortedTotals(totals), err
}

// Followed is a request and the money paid under it.
type Followed struct {
	Request Hit
	Refs    []string // "publisher/id" of the request's versions
	Totals  []Total
}

// FollowResult follows a decision to its requests and money.
type FollowResult struct {
	Snapshot
	Decision Hit
	Requests []Followed
	Totals   []Total
}

// Directory is what the engine needs of the server's record index.
type Directory interface {
	Resolver
	// Record returns the log index and process of a record.
	Record(publisher, id string) (index uint64, process string, ok bool, err error)
	// Versions returns the log indexes of a process's records, ascending.
	Versions(publisher, process string) ([]uint64, error)
	// ProcessPublishers returns the publishers that have a process with id.
	ProcessPublishers(process string) ([]string, error)
}

func (e *Engine) dir() (Directory, error) {
	d, ok := e.res.(Directory)
	if !ok {
		return nil, fmt.Errorf("query: the engine has no record directory")
	}
	return d, nil
}

// resolve finds the publisher of a record id.
func (e *Engine) resolve(param, id, publisher string) (string, error) {
	if publisher != "" {
		return publisher, nil
	}
	pubs, err := e.res.Publishers(id)
	if err != nil {
		return "", err
	}
	switch len(pubs) {
	case 0:
		return "", fmt.Errorf("%w: no record has id %q", ErrNotFound, id)
	case 1:
		return pubs[0], nil
	}
	return "", bad("publisher", "", fmt.Sprintf("one of %q, which all published a record %q", pubs, id))
}

// versionRefs returns the "publisher/id" of every version of the process
// of record (publisher, id), and the index of its latest version.
func (e *Engine) versionRefs(ctx context.Context, snap Snapshot, publisher, id string) ([]string, uint64, error) {
	d, err := e.dir()
	if err != nil {
		return nil, 0, err
	}
	idx, process, ok, err := d.Record(publisher, id)
	if err != nil {
		return nil, 0, err
	}
	if !ok || idx >= snap.Size {
		return nil, 0, fmt.Errorf("%w: %s published no record %q", ErrNotFound, publisher, id)
	}
	vs, err := d.Versions(publisher, process)
	if err != nil {
		return nil, 0, err
	}
	var refs []string
	latest := idx
	for _, v := range vs {
		if v >= snap.Size {
			continue
		}
		rec, _, err := e.record(ctx, v)
		if err != nil {
			return nil, 0, err
		}
		latest = v
		if rec != nil {
			refs = append(refs, publisher+"/"+rec.GetId())
		}
	}
	return refs, latest, nil
}

// citing returns the records below size that cite any of refs.
func (e *Engine) citing(size uint64, refs []string, kind record.Kind) (*set, error) {
	ls := e.lists(size)
	var terms []string
	for _, r := range refs {
		terms = append(terms, term(fieldRef, r))
	}
	cites, err := ls.set(terms)
	if err != nil {
		return nil, err
	}
	k, err := ls.set([]string{enumTerm(fieldKind, int32(kind))})
	if err != nil {
		return nil, err
	}
	return intersect([]*set{cites, k}, size), nil
}

// FollowDecision follows the money from a decision.
func (e *Engine) FollowDecision(ctx context.Context, id, publisher string) (*FollowResult, error) {
	snap, err := e.Head(ctx)
	if err != nil {
		return nil, err
	}
	if publisher, err = e.resolve("id", id, publisher); err != nil {
		return nil, err
	}
	refs, latest, err := e.versionRefs(ctx, snap, publisher, id)
	if err != nil {
		return nil, err
	}
	res := &FollowResult{Snapshot: snap}
	hs, err := e.Hits(ctx, snap, []uint64{latest})
	if err != nil {
		return nil, err
	}
	res.Decision = hs[0]
	if res.Decision.Record != nil {
		if k, _ := record.KindOf(res.Decision.Record); k != record.KindDecision {
			return nil, bad("id", id, "the id of a decision")
		}
	}
	reqs, err := e.citing(snap.Size, refs, record.KindRequest)
	if err != nil {
		return nil, err
	}
	// One entry per request process: its latest version.
	type proc struct{ pub, process string }
	done := map[proc]bool{}
	all := listSet(nil, snap.Size)
	for _, ri := range reqs.slice() {
		rec, _, err := e.record(ctx, uint64(ri))
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		p := proc{rec.GetPublisher().GetId(), rec.GetProcessId()}
		if done[p] {
			continue
		}
		done[p] = true
		vrefs, latest, err := e.versionRefs(ctx, snap, p.pub, rec.GetId())
		if err != nil {
			return nil, err
		}
		ds, err := e.citing(snap.Size, vrefs, record.KindDisbursement)
		if err != nil {
			return nil, err
		}
		all = all.or(ds)
		tot, err := e.totalsOf(ctx, snap.Size, ds)
		if err != nil {
			return nil, err
		}
		hs, err := e.Hits(ctx, snap, []uint64{latest})
		if err != nil {
			return nil, err
		}
		res.Requests = append(res.Requests, Followed{Request: hs[0], Refs: vrefs, Totals: tot})
	}
	if res.Totals, err = e.totalsOf(ctx, snap.Size, all); err != nil {
		return nil, err
	}
	return res, nil
}

// PayeeResult is what was paid to a payee.
type PayeeResult struct {
	*Page
	Totals []Total
}

// FollowPayee returns the disbursements to a payee, newest first, and
// their totals.
func (e *Engine) FollowPayee(ctx context.Context, payee string, pageSize int, token string) (*PayeeResult, error) {
	if payee == "" {
		return nil, bad("payee", "", "an org-id or a personal payee id")
	}
	f, err := Parse(Params{Payee: []string{payee}, Kind: []string{"disbursement"}}, e.res)
	if err != nil {
		return nil, err
	}
	p, err := e.Search(ctx, f, Sort{Field: 'i', Desc: true}, pageSize, token)
	if err != nil {
		return nil, err
	}
	r, err := e.Match(ctx, p.Snapshot, f)
	if err != nil {
		return nil, err
	}
	tot, err := e.totalsOf(ctx, p.Size, r)
	if err != nil {
		return nil, err
	}
	return &PayeeResult{Page: p, Totals: tot}, nil
}
