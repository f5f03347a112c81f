// SPDX-License-Identifier: Apache-2.0

// Command akashi-bench is Akashi's load tool: it drives a running server
// over the network (loopback in tests and benchmarks) with many simulated
// agencies appending signed records — unary or streaming, at a fixed rate
// (open loop) or as fast as possible — mixed with readers fetching entries,
// proofs, tiles and queries, and reports throughput, latency percentiles
// (p50, p90, p99, p99.9, max, from an HDR-style histogram), errors by code
// and the server's resident memory, as a table and as JSON.
//
//	akashi-bench -governance-key ./akashi-data/governance.key -mode stream -agencies 32 -duration 20s
//	akashi-bench -mode unary -agencies 64 -rate 5000 -duration 30s -governance-key ...
//	akashi-bench -mode read -readers 32 -duration 20s
//
// Records are signed before the run starts, so the client's signing is not
// measured. Appending needs the server's governance key, to register the
// agencies' keys.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

type config struct {
	grpcAddr, httpURL, tlsCA string
	govKey                   string
	mode, kind, reads        string
	agencies, readers        int
	rate, readRate           float64
	duration                 time.Duration
	recordBytes              int
	window                   int
	maxRate                  float64
	jsonOut                  string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "akashi-bench: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("akashi-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.grpcAddr, "grpc", "127.0.0.1:9090", "the server's gRPC address")
	fs.StringVar(&c.httpURL, "http", "http://127.0.0.1:8080", "the server's HTTP base URL (REST and tlog-tiles reads)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server's certificate (TLS); plaintext when empty")
	fs.StringVar(&c.govKey, "governance-key", "", "the server's governance key (PEM), to register the agencies' keys; needed to append")
	fs.StringVar(&c.mode, "mode", "stream", "unary: one AppendRecord at a time per agency key; stream: an AppendRecords stream per key; read: readers only")
	fs.IntVar(&c.agencies, "agencies", 32, "agency keys appending at once (each keeps its own sequence)")
	fs.StringVar(&c.reads, "reads", "mix", "what readers fetch: mix (entries, inclusion proofs, tiles, the log's info and journalists' queries in turn), proofs (REST inclusion proofs only) or queries (searches, aggregates and the change feed only)")
	fs.IntVar(&c.readers, "readers", 0, "readers fetching entries, proofs, tiles and queries, in parallel with the writers")
	fs.Float64Var(&c.rate, "rate", 0, "appends per second offered in total, open loop; 0 = as fast as the server takes them")
	fs.Float64Var(&c.readRate, "read-rate", 0, "reads per second offered in total, open loop; 0 = as fast as possible")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long to run")
	fs.StringVar(&c.kind, "kind", "decision", "what the agencies append: decision (a decision padded to -record-bytes) or disbursement (an allowance payment shaped like the demo's, about 600 bytes signed)")
	fs.IntVar(&c.recordBytes, "record-bytes", 1024, "with -kind decision: approximate size of each signed record statement")
	fs.IntVar(&c.window, "window", 32, "statements a stream keeps in flight at most, unanswered")
	fs.Float64Var(&c.maxRate, "max-rate", 20000, "with -rate 0: the most appends per second the run can reach (statements are signed for it in advance)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	cpuProfile := fs.String("cpuprofile", "", "write the load tool's own CPU profile to this file (it shares the machine with the server)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch c.mode {
	case "unary", "stream", "read":
	default:
		return fmt.Errorf("-mode %q: want unary, stream or read", c.mode)
	}
	switch c.reads {
	case "mix", "proofs", "queries":
	default:
		return fmt.Errorf("-reads %q: want mix, proofs or queries", c.reads)
	}
	switch c.kind {
	case "decision", "disbursement":
	default:
		return fmt.Errorf("-kind %q: want decision or disbursement", c.kind)
	}
	if c.mode != "read" && c.govKey == "" {
		return errors.New("-governance-key is needed to register the agencies that append")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	creds := insecure.NewCredentials()
	if c.tlsCA != "" {
		var err error
		if creds, err = credentials.NewClientTLSFromFile(c.tlsCA, ""); err != nil {
			return fmt.Errorf("-tls-ca: %w", err)
		}
	}
	conn, err := grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	b := &bench{cfg: c, registry: akashiv1.NewRegistryServiceClient(conn), out: stderr}
	// Agencies are separate clients: one connection for every
	// agenciesPerConn of them, so that thousands of callers do not queue
	// behind one connection's stream limit and measure the load tool.
	b.clients = []akashiv1.LedgerServiceClient{akashiv1.NewLedgerServiceClient(conn)}
	for range min(maxConns, (c.agencies-1)/agenciesPerConn) {
		more, err := grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer more.Close()
		b.clients = append(b.clients, akashiv1.NewLedgerServiceClient(more))
	}
	info, err := b.clients[0].GetLogInfo(ctx, &akashiv1.GetLogInfoRequest{})
	if err != nil {
		return fmt.Errorf("GetLogInfo: %w", err)
	}
	b.origin = info.GetOrigin()
	if c.mode != "read" {
		if err := b.prepare(ctx); err != nil {
			return err
		}
	}
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	res.print(stdout)
	if c.jsonOut != "" {
		j, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(j, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Connections: one for every agenciesPerConn agency keys, maxConns+1 at most.
const (
	agenciesPerConn = 128
	maxConns        = 63
)

type bench struct {
	cfg config
	// clients[k%len(clients)] is agency key k's connection; clients[0]
	// also serves the readers and the set-up.
	clients  []akashiv1.LedgerServiceClient
	registry akashiv1.RegistryServiceClient
	origin   string
	out      io.Writer
	// statements[k] are agency key k's statements, in its sequence.
	statements [][]*akashiv1.SignedStatement
}

// keyChain signs one key's statements in sequence.
type keyChain struct {
	key  ed25519.PrivateKey
	seq  uint64
	last []byte
}

func (k *keyChain) sign(origin string, st *akashiv1.Statement) (*akashiv1.SignedStatement, error) {
	st.Sequence, st.Previous = k.seq+1, k.last
	ss, err := record.Sign(k.key, origin, st)
	if err != nil {
		return nil, err
	}
	h := record.StatementHash(ss.GetStatement())
	k.seq, k.last = k.seq+1, h[:]
	return ss, nil
}

// record returns the n-th record a bench agency appends: a decision with
// a padded description, or a disbursement like the demo's cooperation
// allowances (a company payee, a ward, an amount, a programme).
func (b *bench) record(agency, id, pad string, n int) *akashiv1.Record {
	r := &akashiv1.Record{
		Id: id, ProcessId: id, Tag: akashiv1.Tag_TAG_NEW,
		Publisher:  &akashiv1.Organization{Id: agency, Name: "負荷試験機関"},
		RecordedAt: "2020-04-07T19:00:00+09:00", License: "CC-BY-4.0",
	}
	if b.cfg.kind == "decision" {
		r.Body = &akashiv1.Record_Decision{Decision: &akashiv1.Decision{
			Title: "負荷試験の決定 " + id, Description: pad, Type: akashiv1.DecisionType_DECISION_TYPE_OTHER,
			DecisionDate: "2020-04-07", Status: akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
		}}
		return r
	}
	payee, _ := record.CorporateNumberFromBase(fmt.Sprintf("9%03d%08d", 998, n%100_000_000))
	r.Documents = []*akashiv1.Document{{Url: "https://www.example.jp/kyoryokukin/youkou.pdf", Sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Title: "感染拡大防止協力金 支給要綱"}}
	r.Body = &akashiv1.Record_Disbursement{Disbursement: &akashiv1.Disbursement{
		Programme:       &akashiv1.Programme{Code: "BENCH-KRK-2020", Title: "負荷試験 感染拡大防止協力金", FundingSource: "一般会計"},
		AwardId:         fmt.Sprintf("BENCH-%08d", n),
		TransactionType: akashiv1.TransactionType_TRANSACTION_TYPE_DISBURSEMENT,
		Amount:          &akashiv1.Money{MinorUnits: 500_000 + int64(n%4)*500_000, Currency: "JPY"},
		ValueDate:       "2020-06-15",
		Payer:           &akashiv1.Organization{Id: agency, Name: "負荷試験機関"},
		Payee:           &akashiv1.Payee{Kind: &akashiv1.Payee_Organization{Organization: &akashiv1.Organization{Id: "JP-JCN-" + payee, Name: "株式会社さくら食堂"}}},
		PayeeArea:       benchWards[n%len(benchWards)],
		PeriodCovered:   &akashiv1.Period{StartDate: "2020-04-16", EndDate: "2020-05-06"},
		FacilityCount:   uint32(1 + n%3),
	}}
	return r
}

// benchWards are the local government codes of Tokyo's 23 special wards.
var benchWards = []string{"131016", "131024", "131032", "131041", "131059", "131067", "131075", "131083", "131091", "131105", "131113", "131121", "131130", "131148", "131156", "131164", "131172", "131181", "131199", "131202", "131211", "131229", "131237"}

// benchAgency returns the org-id of the i-th synthetic bench agency: a
// valid corporate number in a block no real body uses.
func benchAgency(i int) string {
	n, _ := record.CorporateNumberFromBase(fmt.Sprintf("9%03d%08d", 999, i+1))
	return "JP-JCN-" + n
}

// prepare registers fresh agency keys and signs every statement the run
// may send.
func (b *bench) prepare(ctx context.Context) error {
	pemBytes, err := os.ReadFile(b.cfg.govKey)
	if err != nil {
		return fmt.Errorf("-governance-key: %w", err)
	}
	govKey, err := record.ParsePrivateKey(pemBytes)
	if err != nil {
		return fmt.Errorf("-governance-key: %w", err)
	}
	gov := &keyChain{key: govKey}
	sg, err := b.registry.GetSigner(ctx, &akashiv1.GetSignerRequest{KeyId: record.KeyID(govKey.Public().(ed25519.PublicKey))})
	if err != nil {
		return fmt.Errorf("the governance key is not this log's: %w", err)
	}
	gov.seq, gov.last = sg.GetSequence(), sg.GetLastStatementHash()
	chains := make([]*keyChain, b.cfg.agencies)
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	for i := range chains {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		chains[i] = &keyChain{key: priv}
		agency := benchAgency(i % 8)
		ss, err := gov.sign(b.origin, &akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: &akashiv1.GovernanceAction{
			Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
				Agency:    &akashiv1.Organization{Id: agency, Name: fmt.Sprintf("負荷試験機関 %d", i%8)},
				PublicKey: priv.Public().(ed25519.PublicKey), Label: "bench " + run,
			}},
		}}})
		if err != nil {
			return err
		}
		if _, err := b.registry.ApplyGovernance(ctx, &akashiv1.ApplyGovernanceRequest{Statement: ss}); err != nil {
			return fmt.Errorf("registering bench key %d: %w", i, err)
		}
	}
	// How many statements each key may need: the offered rate for the
	// duration, or (as fast as possible) a generous pool.
	total := int(b.cfg.rate * b.cfg.duration.Seconds() * 1.05)
	if b.cfg.rate == 0 {
		total = int(b.cfg.maxRate * b.cfg.duration.Seconds())
	}
	per := total/b.cfg.agencies + 1
	pad := strings.Repeat("協力金", max(1, (b.cfg.recordBytes-400)/9))
	fmt.Fprintf(b.out, "signing %d statements for %d keys on %d cores …\n", per*b.cfg.agencies, b.cfg.agencies, runtime.GOMAXPROCS(0))
	start := time.Now()
	b.statements = make([][]*akashiv1.SignedStatement, b.cfg.agencies)
	var wg sync.WaitGroup
	errc := make(chan error, b.cfg.agencies)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, ch := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			agency := benchAgency(k % 8)
			for j := range per {
				id := fmt.Sprintf("bench-%s-%d-%d", run, k, j)
				ss, err := ch.sign(b.origin, &akashiv1.Statement{Body: &akashiv1.Statement_Record{Record: b.record(agency, id, pad, k*per+j)}})
				if err != nil {
					errc <- err
					return
				}
				b.statements[k] = append(b.statements[k], ss)
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	fmt.Fprintf(b.out, "signed in %v (%d bytes each)\n", time.Since(start).Round(time.Millisecond), len(b.statements[0][0].GetStatement()))
	return nil
}

// recorder collects one kind of operation's outcomes.
type recorder struct {
	mu     sync.Mutex
	hist   histogram
	ok     uint64
	errors map[string]uint64
	// served is, for appends, the time from sending to the answer of each
	// admitted append: the server's own latency, without the time a
	// statement waited in the load tool behind the open-loop schedule.
	served histogram
}

// admitted records an admitted append's time from sending to answer.
func (r *recorder) admitted(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.served.record(d)
}

func (r *recorder) done(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.errors == nil {
			r.errors = map[string]uint64{}
		}
		r.errors[errCode(err)]++
		return
	}
	r.ok++
	r.hist.record(d)
}

func errCode(err error) string {
	var he httpError
	if errors.As(err, &he) {
		return "HTTP " + strconv.Itoa(int(he))
	}
	if s, ok := status.FromError(err); ok {
		return s.Code().String()
	}
	return "client: " + err.Error()
}

type httpError int

func (e httpError) Error() string { return "HTTP " + strconv.Itoa(int(e)) }

// drainGrace is how long operations in flight when the run's time is up
// may take to be answered.
const drainGrace = 10 * time.Second

// run runs the load for the configured duration and collects results.
// The duration bounds when operations start (send); the operations
// themselves run under rpc, which outlasts it by drainGrace, so that those
// in flight at the end are answered and counted rather than cut off by
// the run's own deadline (which gRPC would pass on to the server).
func (b *bench) run(ctx context.Context) (*results, error) {
	send, cancel := context.WithTimeout(ctx, b.cfg.duration)
	defer cancel()
	rpc, cancelRPC := context.WithTimeout(ctx, b.cfg.duration+drainGrace)
	defer cancelRPC()
	appends, reads, queries := &recorder{}, &recorder{}, &recorder{}
	var rss atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.watchRSS(send, &rss) }()
	start := time.Now()
	if b.cfg.mode != "read" {
		for k := range b.statements {
			wg.Add(1)
			go func() {
				defer wg.Done()
				interval := time.Duration(0)
				if b.cfg.rate > 0 {
					interval = time.Duration(float64(time.Second) * float64(len(b.statements)) / b.cfg.rate)
				}
				if b.cfg.mode == "stream" {
					b.streamKey(send, rpc, k, start, interval, appends)
				} else {
					b.unaryKey(send, rpc, k, start, interval, appends)
				}
			}()
		}
	}
	readers := b.cfg.readers
	if b.cfg.mode == "read" && readers == 0 {
		readers = 16
	}
	for r := range readers {
		wg.Add(1)
		go func() { defer wg.Done(); b.read(send, rpc, r, readers, start, reads, queries) }()
	}
	wg.Wait()
	el := time.Since(start)
	res := newResults(b.cfg, el, appends, reads, rss.Load())
	res.Queries = op(queries, el)
	return res, nil
}

// due paces an open-loop sender: it returns when the i-th operation is due
// (and that moment), or at once when running as fast as possible.
func due(ctx context.Context, start time.Time, interval time.Duration, offset time.Duration, i int) (time.Time, bool) {
	if interval == 0 {
		return time.Now(), ctx.Err() == nil
	}
	at := start.Add(offset + time.Duration(i)*interval)
	if d := time.Until(at); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return at, false
		}
	}
	return at, ctx.Err() == nil
}

func (b *bench) unaryKey(send, rpc context.Context, k int, start time.Time, interval time.Duration, rec *recorder) {
	offset := interval * time.Duration(k) / time.Duration(max(1, len(b.statements)))
	for i, ss := range b.statements[k] {
		at, ok := due(send, start, interval, offset, i)
		if !ok {
			return
		}
		// A statement the server sheds (ResourceExhausted, Unavailable) is
		// sent again after the SDK's backoff (client.Signer): skipping it
		// would leave a gap in this key's sequence. The shed attempt counts
		// as an error; the admitted one's latency counts from the schedule
		// (the append row) and from its own sending (the admitted row).
		for backoff := client.DefaultRetryBackoff; ; backoff = min(2*backoff, client.MaxRetryBackoff) {
			sent := time.Now()
			_, err := b.clients[k%len(b.clients)].AppendRecord(rpc, &akashiv1.AppendRecordRequest{Statement: ss})
			if rpc.Err() != nil {
				return
			}
			rec.done(time.Since(at), err)
			switch status.Code(err) {
			case codes.OK:
				rec.admitted(time.Since(sent))
			case codes.ResourceExhausted, codes.Unavailable:
				select {
				case <-time.After(backoff):
				case <-send.Done():
					return
				}
				continue
			default:
				return // a refused statement leaves a gap in this key's sequence
			}
			break
		}
	}
}

func (b *bench) streamKey(send, rpc context.Context, k int, start time.Time, interval time.Duration, rec *recorder) {
	stream, err := b.clients[k%len(b.clients)].AppendRecords(rpc)
	if err != nil {
		rec.done(0, err)
		return
	}
	type times struct{ due, sent time.Time }
	sent := make(chan times, b.cfg.window)
	window := make(chan struct{}, b.cfg.window)
	go func() {
		defer close(sent)
		defer stream.CloseSend()
		offset := interval * time.Duration(k) / time.Duration(max(1, len(b.statements)))
		for i, ss := range b.statements[k] {
			at, ok := due(send, start, interval, offset, i)
			if !ok {
				return
			}
			select { // at most -window in flight
			case window <- struct{}{}:
			case <-send.Done():
				return
			}
			sent <- times{at, time.Now()}
			if err := stream.Send(&akashiv1.AppendRecordsRequest{Statement: ss}); err != nil {
				return
			}
		}
	}()
	for t := range sent {
		at := t.due
		resp, err := stream.Recv()
		<-window
		if err != nil {
			if rpc.Err() == nil && !errors.Is(err, io.EOF) {
				rec.done(0, err)
			}
			return
		}
		if c := resp.GetErrorCode(); c != 0 {
			rec.done(0, status.Error(codes.Code(c), resp.GetErrorMessage()))
			continue
		}
		rec.done(time.Since(at), nil)
		rec.admitted(time.Since(t.sent))
	}
}

// Read kinds: the log's reads, then the journalists' queries.
const (
	readEntry = iota
	readProof
	readTile
	readInfo
	queryText      // a text search
	queryFiltered  // a search by kind, publisher and area, sorted by amount
	queryAggregate // disbursements summed by area and month
	queryChanges   // a page of the change feed
	readKinds
)

// read fetches, in turn, an entry, an inclusion proof, a tile, the log's
// info (over REST and the tlog-tiles API) and the journalists' queries
// (REST), recording the log's reads in rec and the queries in qrec; with
// -reads proofs, inclusion proofs only; with -reads queries, queries only.
func (b *bench) read(send, rpc context.Context, r, readers int, start time.Time, rec, qrec *recorder) {
	hc := &http.Client{Timeout: 10 * time.Second}
	interval := time.Duration(0)
	if b.cfg.readRate > 0 {
		interval = time.Duration(float64(time.Second) * float64(readers) / b.cfg.readRate)
	}
	offset := interval * time.Duration(r) / time.Duration(readers)
	size := uint64(0)
	for i := 0; ; i++ {
		at, ok := due(send, start, interval, offset, i)
		if !ok {
			return
		}
		if i%64 == 0 || size == 0 {
			if info, err := b.clients[0].GetLogInfo(rpc, &akashiv1.GetLogInfoRequest{}); err == nil {
				size = info.GetSize()
			}
		}
		if size == 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		idx := (uint64(i)*2654435761 + uint64(r)*40503) % size
		kind := i % readKinds
		switch b.cfg.reads {
		case "proofs":
			kind = readProof
		case "queries":
			kind = queryText + i%(readKinds-queryText)
		}
		path := readPath(kind, i, idx, size)
		req, _ := http.NewRequestWithContext(rpc, http.MethodGet, b.cfg.httpURL+path, nil)
		resp, err := hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = httpError(resp.StatusCode)
			}
		}
		if rpc.Err() != nil {
			return
		}
		if kind >= queryText {
			qrec.done(time.Since(at), err)
		} else {
			rec.done(time.Since(at), err)
		}
	}
}

// readPath returns the path of the i-th read, of the given kind, for a log
// of size entries; idx is an index in it. The queries ask what a
// journalist would of the records the load tool appends (its agencies'
// disbursements in Tokyo's wards), and work on any log.
func readPath(kind, i int, idx, size uint64) string {
	switch kind {
	case readEntry:
		return fmt.Sprintf("/v1/entries/%d", idx)
	case readProof:
		return fmt.Sprintf("/v1/proofs/inclusion?index=%d", idx)
	case readTile:
		if (idx/256+1)*256 > size {
			return "/checkpoint"
		}
		return "/tile/0/" + tileIndex(idx/256)
	case readInfo:
		return "/v1/log"
	case queryText:
		return "/v1/records?page_size=20&q=" + url.QueryEscape(benchQueryTerms[i%len(benchQueryTerms)])
	case queryFiltered:
		return fmt.Sprintf("/v1/records?kind=disbursement&publisher=%s&area=%s&sort=-amount&currency=JPY&page_size=20",
			benchAgency(i%8), benchWards[i%len(benchWards)])
	case queryAggregate:
		return "/v1/aggregates?group_by=area,month&kind=disbursement&publisher=" + benchAgency(i%8)
	default:
		return fmt.Sprintf("/v1/changes?since=%d&page_size=100", idx)
	}
}

// benchQueryTerms are what the text searches look for.
var benchQueryTerms = []string{"協力金", "さくら食堂", "負荷試験", "感染拡大防止"}

func tileIndex(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// watchRSS samples the server's resident memory from its metrics.
func (b *bench) watchRSS(ctx context.Context, peak *atomic.Int64) {
	hc := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if v := scrapeRSS(hc, b.cfg.httpURL); v > peak.Load() {
			peak.Store(v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func scrapeRSS(hc *http.Client, base string) int64 {
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f)
		}
	}
	return 0
}

// results are what a run measured.
type results struct {
	Mode        string     `json:"mode"`
	Agencies    int        `json:"agencies"`
	Readers     int        `json:"readers"`
	OfferedRate float64    `json:"offered_rate_per_s,omitempty"`
	Seconds     float64    `json:"seconds"`
	Appends     *opResults `json:"appends,omitempty"`
	// Admitted is the appends' latency from sending to answer, admitted
	// appends only (no errors, no time behind the schedule).
	Admitted *opResults `json:"admitted,omitempty"`
	// Reads are the log's reads (entries, proofs, tiles, info); Queries
	// the journalists' queries.
	Reads      *opResults `json:"reads,omitempty"`
	Queries    *opResults `json:"queries,omitempty"`
	PeakRSSMiB float64    `json:"server_peak_rss_mib"`
}

type opResults struct {
	OK        uint64            `json:"ok"`
	PerSecond float64           `json:"per_second"`
	P50ms     float64           `json:"p50_ms"`
	P90ms     float64           `json:"p90_ms"`
	P99ms     float64           `json:"p99_ms"`
	P999ms    float64           `json:"p999_ms"`
	Maxms     float64           `json:"max_ms"`
	Meanms    float64           `json:"mean_ms"`
	Errors    map[string]uint64 `json:"errors,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func op(r *recorder, el time.Duration) *opResults {
	if r.ok == 0 && len(r.errors) == 0 {
		return nil
	}
	return &opResults{
		OK: r.ok, PerSecond: float64(r.ok) / el.Seconds(),
		P50ms: ms(r.hist.quantile(0.5)), P90ms: ms(r.hist.quantile(0.9)), P99ms: ms(r.hist.quantile(0.99)),
		P999ms: ms(r.hist.quantile(0.999)), Maxms: ms(r.hist.max), Meanms: ms(r.hist.mean()), Errors: r.errors,
	}
}

func newResults(c config, el time.Duration, appends, reads *recorder, rss int64) *results {
	return &results{
		Mode: c.mode, Agencies: c.agencies, Readers: c.readers, OfferedRate: c.rate, Seconds: el.Seconds(),
		Appends: op(appends, el), Admitted: served(appends, el), Reads: op(reads, el), PeakRSSMiB: float64(rss) / (1 << 20),
	}
}

// served summarises the appends' send-to-answer latencies.
func served(r *recorder, el time.Duration) *opResults {
	if r.ok == 0 {
		return nil
	}
	return op(&recorder{hist: r.served, ok: r.ok}, el)
}

func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "mode %s, %d agency keys, %d readers, %.1fs", r.Mode, r.Agencies, r.Readers, r.Seconds)
	if r.OfferedRate > 0 {
		fmt.Fprintf(w, ", offered %.0f appends/s", r.OfferedRate)
	}
	fmt.Fprintf(w, "\n%-8s %10s %10s %9s %9s %9s %9s %9s  %s\n", "op", "ok", "per sec", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors")
	for _, x := range []struct {
		name string
		o    *opResults
	}{{"append", r.Appends}, {"admitted", r.Admitted}, {"read", r.Reads}, {"query", r.Queries}} {
		if x.o == nil {
			continue
		}
		var errs []string
		for code, n := range x.o.Errors {
			errs = append(errs, fmt.Sprintf("%s=%d", code, n))
		}
		sort.Strings(errs)
		fmt.Fprintf(w, "%-8s %10d %10.0f %9.2f %9.2f %9.2f %9.2f %9.2f  %s\n", x.name, x.o.OK, x.o.PerSecond, x.o.P50ms, x.o.P90ms, x.o.P99ms, x.o.P999ms, x.o.Maxms, strings.Join(errs, " "))
	}
	fmt.Fprintf(w, "server peak RSS %.0f MiB\n", r.PeakRSSMiB)
}
