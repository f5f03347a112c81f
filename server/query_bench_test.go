// SPDX-License-Identifier: Apache-2.0

package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"

	"github.com/akashi-ledger/akashi"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/server"
	"github.com/akashi-ledger/akashi/server/demo"
	"github.com/akashi-ledger/akashi/server/gateway"
)

var (
	benchDisbursements = flag.Int("server.disbursements", 50000, "demo disbursements appended by BenchmarkAppendWithQueryIndex")
	benchRounds        = flag.Int("server.rounds", 3, "rounds of BenchmarkAppendWithQueryIndex (each appends the dataset without and with the query index)")
	benchStreams       = flag.Int("server.streams", 8, "AppendRecords streams per publisher in BenchmarkAppendWithQueryIndex")
	benchVerbose       = flag.Bool("server.v", false, "print each run of BenchmarkAppendWithQueryIndex")
)

// benchSigner signs one key's chain of statements.
type benchSigner struct {
	key  ed25519.PrivateKey
	org  *akashiv1.Organization
	seq  uint64
	prev []byte
}

func (c *benchSigner) sign(b *testing.B, st *akashiv1.Statement) *akashiv1.SignedStatement {
	c.seq++
	st.Sequence, st.Previous = c.seq, c.prev
	ss, err := record.Sign(c.key, origin, st)
	if err != nil {
		b.Fatal(err)
	}
	h := record.StatementHash(ss.GetStatement())
	c.prev = h[:]
	return ss
}

// appendWorkload is the demo dataset, signed for a bench: the records
// that are not disbursements, in order on one stream, then the
// disbursements on streams of their own keys (all versions of a process
// on the same stream, in order).
type appendWorkload struct {
	gov      ed25519.PrivateKey
	register []*akashiv1.GovernanceAction
	prelude  []*akashiv1.SignedStatement
	streams  [][]*akashiv1.SignedStatement
	records  int
}

func newAppendWorkload(b *testing.B) *appendWorkload {
	ds, err := demo.Generate(demo.Options{Origin: origin, Seed: 1, Disbursements: *benchDisbursements})
	if err != nil {
		b.Fatal(err)
	}
	w := &appendWorkload{}
	_, w.gov, _ = ed25519.GenerateKey(rand.Reader)
	w.register = append(w.register, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RotateGovernanceKey{RotateGovernanceKey: &akashiv1.RotateGovernanceKey{PublicKey: w.gov.Public().(ed25519.PublicKey)}}})
	signers := map[string]*benchSigner{} // by key id: the demo's keys, re-chained
	for _, a := range ds.Agencies {
		pub := a.Key.Public().(ed25519.PublicKey)
		signers[record.KeyID(pub)] = &benchSigner{key: a.Key, org: a.Org}
		w.register = append(w.register, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{Agency: a.Org, PublicKey: pub, Label: a.Label}}})
	}
	streams := map[string][]*benchSigner{} // by publisher
	base := map[string]int{}               // a publisher's first stream in w.streams
	streamOf := map[string]int{}           // publisher/id → its stream among the publisher's
	for _, ss := range ds.Records {
		st, err := record.DecodeStatement(ss.GetStatement())
		if err != nil {
			b.Fatal(err)
		}
		r := st.GetRecord()
		if r.GetDisbursement() == nil {
			w.prelude = append(w.prelude, signers[ss.GetKeyId()].sign(b, st))
			continue
		}
		pub := r.GetPublisher().GetId()
		if streams[pub] == nil {
			base[pub] = len(w.streams)
			org := signers[ss.GetKeyId()].org
			for i := range *benchStreams {
				_, k, _ := ed25519.GenerateKey(rand.Reader)
				streams[pub] = append(streams[pub], &benchSigner{key: k, org: org})
				w.register = append(w.register, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{Agency: org, PublicKey: k.Public().(ed25519.PublicKey), Label: "bench stream " + string(rune('a'+i))}}})
				w.streams = append(w.streams, nil)
			}
		}
		// A process on one stream, and a record on the stream of the
		// records it cites (a refund cites its payment).
		h := fnv.New32a()
		h.Write([]byte(r.GetProcessId()))
		i := int(h.Sum32()) % *benchStreams
		for _, rel := range r.GetRelated() {
			if j, ok := streamOf[pub+"/"+rel.GetRecord().GetId()]; ok {
				i = j
			}
		}
		if j, ok := streamOf[pub+"/"+r.GetAmends()]; ok {
			i = j
		}
		streamOf[pub+"/"+r.GetId()] = i
		w.streams[base[pub]+i] = append(w.streams[base[pub]+i], streams[pub][i].sign(b, st))
		w.records++
	}
	return w
}

// appendResult is what appendRun measures.
type appendResult struct {
	rate    float64       // the disbursements' appends per second
	catchUp time.Duration // how long the index took to cover the log after the last append
	export  float64       // records per second of a CSV export of the log over REST
}

// appendRun appends the workload to a fresh server, with or without the
// query index's follower; with it, it then exports the log as CSV
// through the REST gateway.
func appendRun(b *testing.B, w *appendWorkload, indexed bool) appendResult {
	ctx := context.Background()
	skey, vkey, _ := note.GenerateKey(rand.Reader, origin)
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := ledger.Open(ctx, b.TempDir(), ledger.Options{Origin: origin, Signer: signer, Verifier: verifier, Hook: server.Hook(origin), Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	unary, streamI := server.Interceptors(logger, server.NewMetrics(prometheus.NewRegistry()))
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(streamI))
	srv := server.New(l, server.Options{VerifierKey: vkey, Logger: logger, RateLimit: 1e9, RateBurst: 1e9})
	defer srv.Close() // after gs.Stop, deferred later
	akashiv1.RegisterLedgerServiceServer(gs, srv)
	akashiv1.RegisterRegistryServiceServer(gs, srv.Registry())
	var qs *server.QueryServer
	if indexed {
		if qs, err = server.NewQuery(ctx, l, logger); err != nil {
			b.Fatal(err)
		}
		defer qs.Close()
		akashiv1.RegisterQueryServiceServer(gs, qs)
	}
	conn, stop := server.ServeLoopback(b, gs)
	defer stop()
	reg := akashiv1.NewRegistryServiceClient(conn)
	gov := &benchSigner{key: w.gov}
	for _, a := range w.register {
		if _, err := reg.ApplyGovernance(ctx, &akashiv1.ApplyGovernanceRequest{Statement: gov.sign(b, &akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: a}})}); err != nil {
			b.Fatal(err)
		}
	}
	client := akashiv1.NewLedgerServiceClient(conn)
	send := func(sts []*akashiv1.SignedStatement) {
		stream, err := client.AppendRecords(ctx)
		if err != nil {
			b.Error(err)
			return
		}
		go func() {
			for _, st := range sts {
				stream.Send(&akashiv1.AppendRecordsRequest{Statement: st})
			}
			stream.CloseSend()
		}()
		for range sts {
			resp, err := stream.Recv()
			if err != nil {
				b.Error(err)
				return
			}
			if resp.GetErrorCode() != 0 {
				b.Errorf("record %d refused: %s", resp.GetPosition(), resp.GetErrorMessage())
				return
			}
		}
	}
	send(w.prelude)
	start := time.Now()
	var wg sync.WaitGroup
	for _, sts := range w.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(sts)
		}()
	}
	wg.Wait()
	res := appendResult{rate: float64(w.records) / time.Since(start).Seconds()}
	if !indexed {
		return res
	}
	t0 := time.Now()
	if err := qs.WaitIndexed(ctx, l.Size()); err != nil {
		b.Fatal(err)
	}
	res.catchUp = time.Since(t0)
	h, err := gateway.New(ctx, gateway.Options{Conn: conn, Log: l, OpenAPI: akashi.OpenAPI, Logger: logger, ReadLimit: 1e6, ReadBurst: 1e6})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	t0 = time.Now()
	resp, err := http.Get(hs.URL + "/v1/export?format=csv")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(byteCounter{new(int64)}, resp.Body)
	if err != nil || resp.StatusCode != 200 || n == 0 {
		b.Fatalf("export: %d, %v", resp.StatusCode, err)
	}
	res.export = float64(l.Size()) / time.Since(t0).Seconds()
	return res
}

// byteCounter counts the bytes written to it.
type byteCounter struct{ n *int64 }

func (c byteCounter) Write(p []byte) (int, error) { *c.n += int64(len(p)); return len(p), nil }

// BenchmarkAppendWithQueryIndex measures what the journalists' index
// costs the append path: the demo dataset's disbursements (re-signed on
// -server.streams keys per publisher, each key streaming its records
// with AppendRecords over loopback, as agencies do) are appended to the
// real server (strict decoding, validation, signature checks, the
// registry and record index in the sequencer's hook, durable commits),
// -server.rounds times without and with the follower that keeps the
// query index, alternating, each time on a fresh log. It reports the
// median appends per second of each, their ratio, how long the follower
// took to cover the log after the last append, and how fast the log then
// exports as CSV through the REST gateway.
//
//	go test -run '^$' -bench BenchmarkAppendWithQueryIndex -benchtime 1x ./server/ -server.disbursements 100000
func BenchmarkAppendWithQueryIndex(b *testing.B) {
	w := newAppendWorkload(b)
	var plain, indexed, export, catchUp []float64
	for b.Loop() {
		for round := range *benchRounds {
			for _, ix := range []bool{round%2 == 1, round%2 == 0} {
				r := appendRun(b, w, ix)
				if ix {
					indexed = append(indexed, r.rate)
					catchUp = append(catchUp, float64(r.catchUp.Milliseconds()))
					export = append(export, r.export)
				} else {
					plain = append(plain, r.rate)
				}
				if *benchVerbose {
					fmt.Fprintf(os.Stderr, "round %d indexed=%v: %.0f appends/s, caught up in %v, CSV export over REST %.0f records/s\n", round, ix, r.rate, r.catchUp, r.export)
				}
			}
		}
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	p, x := med(plain), med(indexed)
	b.ReportMetric(p, "appends/s-plain")
	b.ReportMetric(x, "appends/s-indexed")
	b.ReportMetric(x/p, "indexed/plain")
	b.ReportMetric(med(catchUp), "index-catch-up-ms")
	b.ReportMetric(med(export), "rest-csv-records/s")
	b.ReportMetric(float64(w.records), "records")
}
