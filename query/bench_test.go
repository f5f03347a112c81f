// SPDX-License-Identifier: Apache-2.0

package query_test

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
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

// benchHook stands for the server's hook: it decodes each payload as the
// server does when it replays the log, and writes where each record is
// (as the server's record index does), which the follower reads to
// resolve amendments. (The server's registry and signature checks are
// left out, so the dataset needs no registry; that makes the index's
// share of the append path look larger than through the server: see
// server.BenchmarkAppendWithQueryIndex for the real thing.)
type benchHook struct{}

func (benchHook) Sequence(_ ledger.View, index uint64, payload []byte, _ any) ([]ledger.KV, error) {
	ss, err := record.DecodeSignedStatement(payload)
	if err != nil {
		return nil, err
	}
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		return nil, err
	}
	r := st.GetRecord()
	return []ledger.KV{{Key: benchRecordKey(r.GetPublisher().GetId(), r.GetId()), Value: binary.BigEndian.AppendUint64(nil, index)}}, nil
}

func benchRecordKey(publisher, id string) []byte { return []byte("R" + publisher + "/" + id) }

// benchDir is the record index of a bench log.
type benchDir struct{ l *ledger.Log }

func (d benchDir) Record(publisher, id string) (uint64, string, bool, error) {
	b, err := d.l.IndexGet(benchRecordKey(publisher, id))
	if errors.Is(err, ledger.ErrNotFound) {
		return 0, "", false, nil
	}
	if err != nil || len(b) != 8 {
		return 0, "", false, fmt.Errorf("record index: %q, %v", b, err)
	}
	return binary.BigEndian.Uint64(b), "", true, nil
}

func (benchDir) Publishers(string) ([]string, error) { return nil, nil }

// dataset returns n payloads: the demo dataset, repeated with fresh ids
// until n records (unsigned: the bench hook checks no signatures).
func dataset(b testing.TB, n int) [][]byte {
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

// openTestLog opens a log with a small store, whose transactions hold
// about 470 KB.
func openTestLog(t *testing.T, h ledger.Hook) *ledger.Log {
	skey, vkey, _ := note.GenerateKey(mrand.NewChaCha8([32]byte{}), "bench/log")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	l, err := ledger.Open(t.Context(), t.TempDir(), ledger.Options{Origin: "bench/log", Signer: s, Verifier: v, Hook: h, MemTableSize: 3 << 20, MaxPayloadSize: 64 << 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func openBench(b *testing.B, h ledger.Hook, dir string) *ledger.Log {
	// The same key every time, so that -query.dir can be reused.
	skey, vkey, _ := note.GenerateKey(mrand.NewChaCha8([32]byte{}), "bench/log")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	if dir == "" {
		dir = b.TempDir()
	}
	l, err := ledger.Open(context.Background(), dir, ledger.Options{Origin: "bench/log", Signer: s, Verifier: v, Hook: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func fill(b testing.TB, l *ledger.Log, payloads [][]byte) time.Duration {
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

var (
	benchPasses  = flag.Int("query.passes", 3, "passes over the queries of BenchmarkQuery")
	benchDirFlag = flag.String("query.dir", "", "keep BenchmarkQuery's log in this folder, and reuse it when it holds one (then appends are not measured)")
	benchVerbose = flag.Bool("query.v", false, "log each query's latencies")
)

// BenchmarkQuery builds a log of -query.records records once and
// measures, in one run: appends per second of the first 100,000 records
// with and without the query index's follower running (the same 256
// concurrent appenders, on fresh logs, through a hook that stands for the
// server's, without its signature and registry checks), how long the
// follower takes to catch up after the last append, indexed filter
// queries (p50/p99 over -query.passes passes of 8 filters × 4 sorts, each
// with its page of hits), an aggregation over every disbursement, and a
// CSV export of the whole log.
//
//	go test -run '^$' -bench BenchmarkQuery -benchtime 1x ./query/ -query.records 1000000
func BenchmarkQuery(b *testing.B) {
	ctx := context.Background()
	l := openBench(b, benchHook{}, *benchDirFlag)
	dir := benchDir{l}
	defer l.Close()
	reuse := l.Size() >= uint64(*benchRecords)
	var plain, indexed time.Duration
	n := 0
	var fo *query.Follower
	follow := func() {
		var err error
		if fo, err = query.StartFollower(ctx, l, query.FollowerOptions{Records: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
			b.Fatal(err)
		}
	}
	if reuse {
		follow()
	} else {
		if l.Size() > 0 {
			b.Fatalf("-query.dir %s holds a log of %d records, fewer than -query.records", *benchDirFlag, l.Size())
		}
		payloads := dataset(b, *benchRecords)
		n = min(len(payloads), 100000)
		plainLog := openBench(b, benchHook{}, "")
		plain = fill(b, plainLog, payloads[:n])
		plainLog.Close()
		defer func() {
			b.ReportMetric(float64(n)/plain.Seconds(), "appends/s-plain")
			b.ReportMetric(float64(n)/indexed.Seconds(), "appends/s-indexed")
			b.ReportMetric(plain.Seconds()/indexed.Seconds(), "indexed/plain")
		}()
		follow()
		indexed = fill(b, l, payloads[:n])
		fill(b, l, payloads[n:])
	}
	defer fo.Close()
	t0 := time.Now()
	if err := fo.Wait(ctx, l.Size()); err != nil {
		b.Fatal(err)
	}
	catchUp := time.Since(t0)

	e := query.NewEngine(l, dir, fo)
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
		for range *benchPasses {
			for _, p := range queries {
				p.Currency = "JPY"
				for _, s := range sorts {
					f, err := query.Parse(p, dir)
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
					if *benchVerbose {
						fmt.Fprintf(os.Stderr, "%8.2f ms  %7d hits  %-16q %s\n", float64(time.Since(t0).Microseconds())/1000, pg.Total, s, describeParams(p))
					}
				}
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "query-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "query-p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "query-max-ms")

	f, _ := query.Parse(query.Params{}, dir)
	t0 = time.Now()
	a, err := e.Aggregate(ctx, f, []string{"area", "month"}, false, 10000)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "aggregate-all-ms")
	b.ReportMetric(float64(a.Totals[0].Count), "disbursements")

	t0 = time.Now()
	var bytes int
	var size uint64
	if err := e.Export(ctx, f, "csv", countWriter{&bytes}, func(s query.Snapshot) error { size = s.Size; return nil }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(size)/time.Since(t0).Seconds(), "csv-records/s")
	b.ReportMetric(float64(n)/plain.Seconds(), "appends/s-plain")
	b.ReportMetric(float64(n)/indexed.Seconds(), "appends/s-indexed")
	b.ReportMetric(plain.Seconds()/indexed.Seconds(), "indexed/plain")
	b.ReportMetric(float64(catchUp.Milliseconds()), "index-catch-up-ms")
}

// describeParams lists the parameters that are set.
func describeParams(p query.Params) string {
	var out []string
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.IsZero() {
			x := f.Interface()
			if f.Kind() == reflect.Pointer {
				x = f.Elem().Interface()
			}
			out = append(out, fmt.Sprintf("%s=%v", v.Type().Field(i).Name, x))
		}
	}
	return strings.Join(out, " ")
}

type countWriter struct{ n *int }

func (w countWriter) Write(p []byte) (int, error) { *w.n += len(p); return len(p), nil }
