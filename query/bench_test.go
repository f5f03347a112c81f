// SPDX-License-Identifier: Apache-2.0

package query_test

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/query"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/server/demo"
)

var benchRecords = flag.Int("query.records", 200000, "records in the benchmark log")

// benchHook is the query part of the server's hook, driven directly: it
// decodes each payload as the server does and, when index is set, indexes
// it. (The server's registry and signature checks are left out, so the
// dataset needs no registry; that makes the index's share of the append
// path look larger than through the server.)
type benchHook struct {
	index bool
	x     *query.Indexer
	ids   map[string]uint64
}

func (h *benchHook) Sequence(v ledger.View, index uint64, payload []byte, _ any) ([]ledger.KV, error) {
	ss, err := record.DecodeSignedStatement(payload)
	if err != nil {
		return nil, err
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		return nil, err
	}
	r := st.GetRecord()
	key := r.GetPublisher().GetId() + "/" + r.GetId()
	amends, has := h.ids[r.GetPublisher().GetId()+"/"+r.GetAmends()]
	h.ids[key] = index
	if !h.index {
		return nil, nil
	}
	return h.x.Index(v, index, r, amends, has && r.GetTag() != akashiv1.Tag_TAG_NEW)
}

// dataset returns n payloads: the demo dataset, repeated with fresh ids
// until n records (unsigned: the bench hook checks no signatures).
func dataset(b *testing.B, n int) [][]byte {
	ds, err := demo.Generate(demo.Options{Origin: "bench/log", Seed: 1, Disbursements: min(demo.MaxDisbursements, n)})
	if err != nil {
		b.Fatal(err)
	}
	var recs []*akashiv1.Record
	for _, ss := range ds.Records {
		st, _ := record.DecodeStatement(ss.GetStatement())
		recs = append(recs, st.GetRecord())
	}
	var out [][]byte
	for round := 0; len(out) < n; round++ {
		for _, r := range recs {
			if len(out) == n {
				break
			}
			r = proto.CloneOf(r)
			if round > 0 {
				sfx := fmt.Sprintf("-r%d", round)
				r.Id += sfx
				r.ProcessId += sfx
				if r.Amends != "" {
					r.Amends += sfx
				}
			}
			st, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&akashiv1.Statement{Sequence: 1, Body: &akashiv1.Statement_Record{Record: r}})
			p, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&akashiv1.SignedStatement{Statement: st, KeyId: "0000000000000000", Signature: make([]byte, 64)})
			out = append(out, p)
		}
	}
	return out
}

func openBench(b *testing.B, h ledger.Hook) *ledger.Log {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "bench/log")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	l, err := ledger.Open(context.Background(), b.TempDir(), ledger.Options{Origin: "bench/log", Signer: s, Verifier: v, Hook: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func fill(b *testing.B, l *ledger.Log, payloads [][]byte) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan []byte, 1024)
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if _, err := l.Append(context.Background(), p); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for _, p := range payloads {
		next <- p
	}
	close(next)
	wg.Wait()
	return time.Since(start)
}

type noDir struct{}

func (noDir) Publishers(string) ([]string, error) { return nil, nil }

// BenchmarkQuery builds a log of -query.records records once and
// measures, in one run: appends per second with and without the query
// index (the same 256 concurrent appenders), indexed filter queries
// (p50/p99), an aggregation over every disbursement, and a CSV export.
//
//	go test -run '^$' -bench BenchmarkQuery -benchtime 1x -query.records 1000000 ./query/
func BenchmarkQuery(b *testing.B) {
	payloads := dataset(b, *benchRecords)
	n := min(len(payloads), 100000)
	plainLog := openBench(b, &benchHook{ids: map[string]uint64{}})
	plain := fill(b, plainLog, payloads[:n])
	plainLog.Close()
	l := openBench(b, &benchHook{index: true, x: query.NewIndexer(), ids: map[string]uint64{}})
	defer l.Close()
	indexed := fill(b, l, payloads[:n])
	fill(b, l, payloads[n:])

	e := query.NewEngine(l, noDir{})
	ctx := context.Background()
	queries := []query.Params{
		{Kind: []string{"disbursement"}, Publisher: []string{"JP-JCN-8000020130001"}},
		{Area: []string{"131041"}, Kind: []string{"disbursement"}},
		{Q: "協力金"},
		{Q: "さくら食堂", Area: []string{"130001"}},
		{Programme: []string{"OSK-2020-KYUGYO-SHIENKIN-1"}},
		{Kind: []string{"disbursement"}, EffectiveFrom: "2020-05-20", EffectiveTo: "2020-05-31"},
		{Tag: []string{"correction"}},
		{TransactionType: []string{"refund", "clawback"}},
	}
	sorts := []string{"", "index", "-effective_date", "-amount"}
	var lat []time.Duration
	for b.Loop() {
		for _, p := range queries {
			p.Currency = "JPY"
			for _, s := range sorts {
				f, err := query.Parse(p, noDir{})
				if err != nil {
					b.Fatal(err)
				}
				o, _ := query.ParseSort(s, f)
				t0 := time.Now()
				pg, err := e.Search(ctx, f, o, 50, "")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Hits(ctx, pg.Snapshot, pg.Rows); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "query-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "query-p99-ms")

	f, _ := query.Parse(query.Params{}, noDir{})
	t0 := time.Now()
	a, err := e.Aggregate(ctx, f, []string{"area", "month"}, false, 10000)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "aggregate-all-ms")
	b.ReportMetric(float64(a.Totals[0].Count), "disbursements")

	t0 = time.Now()
	var rows int
	if err := e.Export(ctx, f, "csv", countWriter{&rows}, func(query.Snapshot) error { return nil }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(l.Size())/time.Since(t0).Seconds(), "csv-records/s")
	b.ReportMetric(float64(n)/plain.Seconds(), "appends/s-plain")
	b.ReportMetric(float64(n)/indexed.Seconds(), "appends/s-indexed")
	b.ReportMetric(plain.Seconds()/indexed.Seconds(), "indexed/plain")
}

type countWriter struct{ n *int }

func (w countWriter) Write(p []byte) (int, error) { *w.n += len(p); return len(p), nil }
