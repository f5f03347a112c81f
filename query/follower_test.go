// SPDX-License-Identifier: Apache-2.0

package query_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/query"
	"github.com/akashi-ledger/akashi/record"
)

// scanned is a record as a brute-force scan of the log sees it.
type scanned struct {
	index uint64
	rec   *akashiv1.Record
}

func scanLog(t *testing.T, l *ledger.Log, size uint64) []scanned {
	var out []scanned
	err := l.Entries(t.Context(), 0, size, func(e ledger.Entry) error {
		ss, err := record.DecodeSignedStatement(e.Payload)
		if err != nil {
			return err
		}
		st, err := record.DecodeStatement(ss.GetStatement())
		if err != nil {
			return err
		}
		if r := st.GetRecord(); r != nil {
			out = append(out, scanned{e.Index, r})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAgainstScan pages through searches of the engine and compares them
// with Filter.Match over a scan of the log; with sorts, in every order too.
func checkAgainstScan(t *testing.T, e *query.Engine, l *ledger.Log, dir benchDir, size uint64, sorts bool) {
	t.Helper()
	rows := scanLog(t, l, size)
	byID := map[string]uint64{}
	sup := map[uint64]bool{}
	for _, r := range rows {
		if i, ok := byID[r.rec.GetPublisher().GetId()+"/"+r.rec.GetAmends()]; ok && r.rec.GetTag() != akashiv1.Tag_TAG_NEW {
			sup[i] = true
		}
		byID[r.rec.GetPublisher().GetId()+"/"+r.rec.GetId()] = r.index
	}
	i64 := func(v int64) *int64 { return &v }
	for _, p := range []query.Params{
		{},
		{Kind: []string{"disbursement"}, Publisher: []string{"JP-JCN-8000020130001"}},
		{Kind: []string{"decision", "request"}},
		{Area: []string{"130001"}},
		{Area: []string{"131041"}, Kind: []string{"disbursement"}},
		{Programme: []string{"OSK-2020-KYUGYO-SHIENKIN-1"}},
		{Q: "協力金"},
		{Q: "感染拡大 食堂"},
		{Q: "restaurants"},
		{Tag: []string{"correction", "update", "amendment"}},
		{TransactionType: []string{"refund", "clawback"}},
		{EffectiveFrom: "2020-05-20", EffectiveTo: "2020-05-31"},
		{RecordedFrom: "2020-06-01"},
		{Currency: "JPY"},
		{Currency: "JPY", AmountMin: i64(500001), AmountMax: i64(1000000)},
		{Currency: "JPY", AmountMax: i64(499999), Kind: []string{"disbursement"}},
		{Kind: []string{"disbursement"}, Current: true},
	} {
		t.Run(fmt.Sprintf("%d/%+v", size, p), func(t *testing.T) {
			match := func(p query.Params) (*query.Filter, []uint64) {
				f, err := query.Parse(p, dir)
				if err != nil {
					t.Fatal(err)
				}
				var want []uint64
				for _, r := range rows {
					if f.Match(r.rec, r.index) && !(p.Current && sup[r.index]) {
						want = append(want, r.index)
					}
				}
				return f, want
			}
			f, want := match(p)
			var got []uint64
			token := ""
			for {
				pg, err := e.Search(t.Context(), f, query.Sort{Field: 'i'}, 997, token)
				if err != nil {
					t.Fatal(err)
				}
				if pg.Size != size || pg.Total != uint64(len(want)) {
					t.Errorf("Search: tree size %d, %d hits; want %d and %d", pg.Size, pg.Total, size, len(want))
				}
				got = append(got, pg.Rows...)
				if token = pg.Next; token == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				extra := slices.DeleteFunc(slices.Clone(got), func(i uint64) bool { return slices.Contains(want, i) })
				missing := slices.DeleteFunc(slices.Clone(want), func(i uint64) bool { return slices.Contains(got, i) })
				t.Errorf("Search: %d rows, want %d; extra %v, missing %v", len(got), len(want), head(extra), head(missing))
			}
			if !sorts {
				return
			}
			if p.Currency == "" {
				p.Currency = "JPY" // for sorting by amount
				f, want = match(p)
			}
			for _, sortBy := range []string{"effective_date", "-effective_date", "-recorded_date", "amount", "-amount"} {
				checkOrder(t, e, f, sortBy, rows, want)
			}
		})
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 10)] }

// checkOrder pages through a sorted search, with both ways of sorting,
// and compares it with the rows of want sorted by their keys.
func checkOrder(t *testing.T, e *query.Engine, f *query.Filter, sortBy string, rows []scanned, want []uint64) {
	t.Helper()
	key := func(r *akashiv1.Record) string {
		switch strings.TrimPrefix(sortBy, "-") {
		case "effective_date":
			for _, s := range []string{r.GetEffectiveDate(), r.GetDisbursement().GetValueDate(), r.GetDecision().GetDecisionDate(), r.GetRequest().GetPeriod().GetStartDate()} {
				if s != "" {
					return s
				}
			}
		case "recorded_date":
			tm, _ := time.Parse(time.RFC3339, r.GetRecordedAt())
			return tm.In(time.FixedZone("JST", 9*3600)).Format(time.DateOnly)
		case "amount":
			if a := r.GetDisbursement().GetAmount(); a.GetCurrency() == "JPY" {
				return fmt.Sprintf("%020d", a.GetMinorUnits())
			}
		}
		return ""
	}
	byIndex := map[uint64]*akashiv1.Record{}
	for _, r := range rows {
		byIndex[r.index] = r.rec
	}
	var keyed, rest []uint64
	for _, i := range want {
		if key(byIndex[i]) != "" {
			keyed = append(keyed, i)
		} else {
			rest = append(rest, i)
		}
	}
	slices.SortStableFunc(keyed, func(a, b uint64) int { return strings.Compare(key(byIndex[a]), key(byIndex[b])) })
	desc := strings.HasPrefix(sortBy, "-")
	if desc {
		slices.Reverse(keyed)
		slices.Reverse(rest)
		// Within a key, newest first too: reversing the stable sort did it.
	}
	order := append(keyed, rest...)
	for _, blocks := range []int{0, 1 << 20} {
		restore := query.SetFactSortBlocks(blocks)
		o, err := query.ParseSort(sortBy, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		token := ""
		for {
			pg, err := e.Search(t.Context(), f, o, 313, token)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, pg.Rows...)
			if token = pg.Next; token == "" {
				break
			}
		}
		restore()
		if !slices.Equal(got, order) {
			n := 0
			for n < min(len(got), len(order)) && got[n] == order[n] {
				n++
			}
			t.Errorf("sort=%s (fact sorts up to %d blocks): %d rows, want %d; they differ from row %d", sortBy, blocks, len(got), len(order), n)
		}
	}
}

// TestFollowerAgainstScan indexes a log with small chunks and a small
// store (so that chunks are cut to fit its transactions), in two runs of
// the follower with appends in between and after, then from scratch after
// its index is found to be of another format, and compares the answers
// with a scan of the log each time.
func TestFollowerAgainstScan(t *testing.T) {
	payloads := dataset(t, 6000)
	l := openTestLog(t, benchHook{})
	defer l.Close()
	dir := benchDir{l}
	ctx := t.Context()
	opts := query.FollowerOptions{Records: dir, ChunkEntries: 700, Gather: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	follow := func() *query.Follower {
		f, err := query.StartFollower(ctx, l, opts)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	wait := func(f *query.Follower) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := f.Wait(ctx, l.Size()); err != nil {
			t.Fatalf("Wait(%d): %v (the index is at %d)", l.Size(), err, f.Size())
		}
	}
	f := follow()
	fill(t, l, payloads[:3500])
	wait(f)
	checkAgainstScan(t, query.NewEngine(l, dir, f), l, dir, l.Size(), false)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fill(t, l, payloads[3500:])
	f = follow()
	wait(f)
	checkAgainstScan(t, query.NewEngine(l, dir, f), l, dir, l.Size(), false)
	f.Close()

	// An index of another format is rebuilt, in chunks cut to fit the
	// store's transactions.
	err := l.UpdateIndex(ctx, func(txn ledger.IndexTxn) error { return txn.Set([]byte("qw"), []byte{0}) })
	if err != nil {
		t.Fatal(err)
	}
	opts.ChunkEntries = 1 << 20
	f = follow()
	defer f.Close()
	wait(f)
	if query.Shrinks(f) == 0 {
		t.Errorf("a chunk of %d entries fit in a transaction of a %d-key store", l.Size(), l.MaxIndexTxnCount())
	}
	e := query.NewEngine(l, dir, f)
	checkAgainstScan(t, e, l, dir, l.Size(), true)

	// Exports stream in order, and stop when their writer fails or their
	// context ends.
	all, _ := query.Parse(query.Params{}, dir)
	var buf bytes.Buffer
	if err := e.Export(ctx, all, "ndjson", &buf, func(query.Snapshot) error { return nil }); err != nil {
		t.Fatal(err)
	}
	leaves, first, err := query.LeavesFromNDJSON(&buf)
	if err != nil || first != 0 || len(leaves) != int(l.Size()) {
		t.Errorf("NDJSON export: %d entries from %d, %v; want %d from 0", len(leaves), first, err, l.Size())
	}
	errFull := errors.New("disk full")
	if err := e.Export(ctx, all, "csv", &failingWriter{left: 100 << 10, err: errFull}, func(query.Snapshot) error { return nil }); !errors.Is(err, errFull) {
		t.Errorf("export to a failing writer: %v, want %v", err, errFull)
	}
	cctx, cancel := context.WithCancel(ctx)
	if err := e.Export(cctx, all, "csv", &failingWriter{left: 100 << 10, cancel: cancel}, func(query.Snapshot) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("export cancelled midway: %v, want %v", err, context.Canceled)
	}
}

// failingWriter fails, or cancels a context, once it has taken left bytes.
type failingWriter struct {
	left   int
	err    error
	cancel func()
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.left -= len(p); w.left < 0 {
		if w.cancel != nil {
			w.cancel()
			return len(p), nil
		}
		return 0, w.err
	}
	return len(p), nil
}
