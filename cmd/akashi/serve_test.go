// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
	"github.com/akashi-ledger/akashi/server/demo"
)

const testOrigin = "test.akashi.example/log"

// testServer is the real server, started on ephemeral loopback ports with
// its data in a temporary folder.
type testServer struct {
	t        *testing.T
	grpcAddr string
	httpURL  string
	conn     *grpc.ClientConn
	client   akashiv1.LedgerServiceClient
	verifier note.Verifier
	gov      ed25519.PrivateKey
	registry akashiv1.RegistryServiceClient
	stop     func() error
}

// register registers the keys of a demo dataset's agencies, signed with the
// governance key, as an operator would.
func (s *testServer) register(ds *demo.Dataset) {
	s.t.Helper()
	gs, err := resume(s.t.Context(), s.registry, s.gov, testOrigin)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, a := range ds.Agencies {
		_, err := gs.governance(s.t.Context(), s.registry, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
			Agency: a.Org, PublicKey: a.Key.Public().(ed25519.PublicKey), Label: a.Label,
		}}})
		if err != nil {
			s.t.Fatalf("registering %s: %v", a.Org.GetId(), err)
		}
	}
}

// runServe runs serve with c, on ephemeral loopback ports unless c says
// otherwise, until the test ends or stop is called (either checks that
// serve returned cleanly), and returns the bound gRPC and HTTP addresses.
func runServe(t testing.TB, c serveConfig) (addrs [2]net.Addr, stop func() error) {
	t.Helper()
	if c.GRPCAddr == "" {
		c.GRPCAddr = "127.0.0.1:0"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:0"
	}
	if c.Origin == "" {
		c.Origin = testOrigin
	}
	if c.LogLevel == 0 {
		c.LogLevel = slog.LevelError
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	c.ready = func(g, h net.Addr) { ready <- [2]net.Addr{g, h} }
	go func() { done <- serve(ctx, c, io.Discard, io.Discard) }()
	select {
	case addrs = <-ready:
		var once sync.Once
		var err error
		stop = func() error {
			once.Do(func() { cancel(); err = <-done })
			return err
		}
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("serve returned %v", err)
			}
		})
		return addrs, stop
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	panic("unreachable")
}

func startServer(t *testing.T, dir string) *testServer {
	t.Helper()
	addrs, stop := runServe(t, serveConfig{DataDir: dir})
	conn, err := grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, grpcAddr: addrs[0].String(), httpURL: "http://" + addrs[1].String(), conn: conn,
		client: akashiv1.NewLedgerServiceClient(conn), registry: akashiv1.NewRegistryServiceClient(conn)}
	pemBytes, err := os.ReadFile(filepath.Join(dir, "governance.key"))
	if err != nil {
		t.Fatal(err)
	}
	if s.gov, err = record.ParsePrivateKey(pemBytes); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.stop = stop
	info, err := s.client.GetLogInfo(t.Context(), &akashiv1.GetLogInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if s.verifier, err = note.NewVerifier(info.GetVerifierKey()); err != nil {
		t.Fatalf("GetLogInfo verifier key %q: %v", info.GetVerifierKey(), err)
	}
	return s
}

func (s *testServer) get(path string, out any) (int, []byte) {
	s.t.Helper()
	resp, err := http.Get(s.httpURL + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			s.t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return resp.StatusCode, body
}

func (s *testServer) size() uint64 {
	s.t.Helper()
	info, err := s.client.GetLogInfo(context.Background(), &akashiv1.GetLogInfoRequest{})
	if err != nil {
		s.t.Fatal(err)
	}
	return info.GetSize()
}

// checkReceipt verifies a receipt with the verification package, trusting
// nothing but the log's key.
func checkReceipt(t *testing.T, v note.Verifier, r *akashiv1.Receipt, payload []byte) verify.Checkpoint {
	t.Helper()
	vr := &verify.Receipt{Index: r.GetIndex(), Header: r.GetHeader(), LeafHash: verify.Hash(r.GetLeafHash()), ChainHash: verify.Hash(r.GetChainHash()), Checkpoint: []byte(r.GetCheckpoint())}
	for _, p := range r.GetInclusionProof() {
		vr.Proof = append(vr.Proof, verify.Hash(p))
	}
	cp, _, err := verify.VerifyReceipt(vr, testOrigin, v)
	if err != nil {
		t.Fatalf("receipt %d: %v", r.GetIndex(), err)
	}
	if payload != nil {
		if err := vr.CheckPayload(payload); err != nil {
			t.Fatalf("receipt %d: %v", r.GetIndex(), err)
		}
	}
	return cp
}

func payloadOf(ss *akashiv1.SignedStatement) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(ss)
	return b
}

func TestServeEndToEnd(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := t.Context()
	ds, err := demo.Generate(demo.Options{Origin: testOrigin, Seed: 7, Disbursements: 300})
	if err != nil {
		t.Fatal(err)
	}
	s.register(ds)
	first := s.size() // genesis and registrations come first
	// Append over gRPC: unary for the first records, a stream for the rest.
	receipts := map[uint64]*akashiv1.Receipt{}
	ids := map[uint64]string{}
	half := len(ds.Records) / 2
	for _, st := range ds.Records[:half] {
		resp, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: st})
		if err != nil {
			t.Fatalf("AppendRecord: %v", err)
		}
		checkReceipt(t, s.verifier, resp.GetReceipt(), payloadOf(st))
		receipts[resp.GetReceipt().GetIndex()] = resp.GetReceipt()
		ids[resp.GetReceipt().GetIndex()] = recordID(t, st)
	}
	stream, err := s.client.AppendRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for _, st := range ds.Records[half:] {
			stream.Send(&akashiv1.AppendRecordsRequest{Statement: st})
		}
		stream.CloseSend()
	}()
	for i, st := range ds.Records[half:] {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetErrorCode() != 0 || resp.GetPosition() != uint64(i) {
			t.Fatalf("stream position %d: %d %s", resp.GetPosition(), resp.GetErrorCode(), resp.GetErrorMessage())
		}
		checkReceipt(t, s.verifier, resp.GetReceipt(), payloadOf(st))
		receipts[resp.GetReceipt().GetIndex()] = resp.GetReceipt()
		ids[resp.GetReceipt().GetIndex()] = recordID(t, st)
	}
	size := s.size()
	if size != first+uint64(len(ds.Records)) {
		t.Fatalf("log size %d, want %d", size, first+uint64(len(ds.Records)))
	}

	// Read over REST, and check what was read with the proofs it came with.
	var cpResp struct {
		Checkpoint string
		TreeSize   string
		RootHash   []byte
	}
	if code, body := s.get("/v1/checkpoint", &cpResp); code != 200 {
		t.Fatalf("GET /v1/checkpoint = %d %s", code, body)
	}
	cp, err := verify.OpenCheckpoint([]byte(cpResp.Checkpoint), testOrigin, s.verifier)
	if err != nil || cp.Size != size {
		t.Fatalf("checkpoint %+v, %v; want size %d", cp, err, size)
	}
	for _, i := range []uint64{first, first + 1, size / 2, size - 1} {
		var e struct {
			Entry struct {
				Index       string
				HeaderBytes []byte
				LeafHash    []byte
				Payload     []byte
				KeyId       string
				Statement   struct {
					Sequence string
					Record   struct {
						Id        string
						Publisher struct{ Id string }
					}
				}
			}
		}
		if code, body := s.get(fmt.Sprintf("/v1/entries/%d", i), &e); code != 200 {
			t.Fatalf("GET /v1/entries/%d = %d %s", i, code, body)
		}
		if e.Entry.Statement.Record.Id != ids[i] || e.Entry.KeyId == "" {
			t.Fatalf("entry %d: record id %q key %q, want %q", i, e.Entry.Statement.Record.Id, e.Entry.KeyId, ids[i])
		}
		if verify.LeafHash(e.Entry.HeaderBytes) != verify.Hash(e.Entry.LeafHash) {
			t.Fatalf("entry %d: leaf hash does not match its header", i)
		}
		h, _ := verify.ParseHeader(e.Entry.HeaderBytes)
		if verify.PayloadDigest(e.Entry.Payload) != h.PayloadDigest {
			t.Fatalf("entry %d: payload does not match its header's digest", i)
		}
		var pr struct {
			Proof    [][]byte
			TreeSize string
		}
		if code, body := s.get(fmt.Sprintf("/v1/proofs/inclusion?index=%d&tree_size=%d", i, size), &pr); code != 200 {
			t.Fatalf("GET inclusion proof = %d %s", code, body)
		}
		var proof []verify.Hash
		for _, p := range pr.Proof {
			proof = append(proof, verify.Hash(p))
		}
		if err := verify.VerifyInclusion(i, size, verify.Hash(e.Entry.LeafHash), proof, cp.Root); err != nil {
			t.Fatalf("REST inclusion proof of %d: %v", i, err)
		}
		// The same proof by leaf hash.
		lh := base64.URLEncoding.EncodeToString(e.Entry.LeafHash)
		if code, body := s.get("/v1/proofs/inclusion?leaf_hash="+lh, &pr); code != 200 || len(pr.Proof) != len(proof) {
			t.Fatalf("GET inclusion proof by leaf hash = %d %s", code, body)
		}
	}
	// Every early receipt is consistent with the latest checkpoint.
	for _, r := range receipts {
		old := checkReceipt(t, s.verifier, r, nil)
		var cr struct{ Proof [][]byte }
		if code, body := s.get(fmt.Sprintf("/v1/proofs/consistency?first=%d&second=%d", old.Size, size), &cr); code != 200 {
			t.Fatalf("GET consistency = %d %s", code, body)
		}
		var proof []verify.Hash
		for _, p := range cr.Proof {
			proof = append(proof, verify.Hash(p))
		}
		if err := verify.VerifyConsistency(old.Size, size, proof, old.Root, cp.Root); err != nil {
			t.Fatalf("consistency %d→%d: %v", old.Size, size, err)
		}
		break
	}
	// A record by id, with its versions.
	var rec struct {
		Entry    struct{ Index string }
		Versions []struct{ Index string }
	}
	if code, body := s.get("/v1/records/"+ids[first+1], &rec); code != 200 || len(rec.Versions) == 0 {
		t.Fatalf("GET /v1/records/%s = %d %s", ids[first+1], code, body)
	}
	// Pages of entries.
	var page struct {
		Entries       []json.RawMessage
		NextPageToken string
	}
	if code, body := s.get("/v1/entries?page_size=7", &page); code != 200 || len(page.Entries) != 7 || page.NextPageToken == "" {
		t.Fatalf("GET /v1/entries = %d %.300s", code, body)
	}
	if code, body := s.get("/v1/entries?page_size=7&page_token="+page.NextPageToken, &page); code != 200 || len(page.Entries) != 7 {
		t.Fatalf("GET /v1/entries (page 2) = %d %.300s", code, body)
	}

	// The tlog-tiles API, read by sumdb/tlog's own client code, proves
	// entries against the signed root.
	thr := tlog.TileHashReader(tlog.Tree{N: int64(size), Hash: cp.Root}, &httpTiles{t: t, base: s.httpURL})
	for _, i := range []int64{int64(first), int64(size) - 1, int64(size) / 3} {
		p, err := tlog.ProveRecord(int64(size), i, thr)
		if err != nil {
			t.Fatalf("tlog.ProveRecord(%d) over HTTP tiles: %v", i, err)
		}
		if err := tlog.CheckRecord(p, int64(size), cp.Root, i, verify.Hash(receipts[uint64(i)].GetLeafHash())); err != nil && receipts[uint64(i)] != nil {
			t.Fatalf("tlog.CheckRecord(%d): %v", i, err)
		}
	}
	code, bundle := s.get("/tile/entries/000", nil)
	if size < 256 {
		code, bundle = s.get(fmt.Sprintf("/tile/entries/000.p/%d", size), nil)
	}
	entries, err := verify.ParseEntryBundle(bundle)
	if code != 200 || err != nil {
		t.Fatalf("entry bundle: %d %v", code, err)
	}
	for k, e := range entries {
		if r := receipts[uint64(k)]; r != nil && verify.LeafHash(e) != verify.Hash(r.GetLeafHash()) {
			t.Fatalf("bundle entry %d does not hash to its leaf", k)
		}
	}
	code, body := s.get("/checkpoint", nil)
	if c, err := verify.OpenCheckpoint(body, testOrigin, s.verifier); code != 200 || err != nil || c.Size != size {
		t.Fatalf("/checkpoint = %d, %v", code, err)
	}

	// Health, metrics and the OpenAPI document.
	hc, err := healthpb.NewHealthClient(s.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", hc, err)
	}
	if code, body := s.get("/metrics", nil); code != 200 || !bytes.Contains(body, []byte("akashi_ledger_size")) || !bytes.Contains(body, []byte("akashi_grpc_requests_total")) {
		t.Fatalf("/metrics = %d", code)
	}
	var doc map[string]any
	if code, body := s.get("/openapi.json", &doc); code != 200 || doc["paths"] == nil {
		t.Fatalf("/openapi.json = %d %.200s", code, body)
	}

	// The same statement again is answered with its original receipt.
	resp, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: ds.Records[3]})
	if err != nil || !resp.GetDuplicate() || resp.GetReceipt().GetIndex() != first+3 {
		t.Fatalf("resubmission = %v, %v; want the receipt of index %d", resp, err, first+3)
	}
	checkReceipt(t, s.verifier, resp.GetReceipt(), payloadOf(ds.Records[3]))
	if s.size() != size {
		t.Fatal("a resubmission changed the log")
	}
}

func recordID(t *testing.T, ss *akashiv1.SignedStatement) string {
	st, err := record.DecodeStatement(ss.GetStatement())
	if err != nil {
		t.Fatal(err)
	}
	return st.GetRecord().GetId()
}

// httpTiles is a tlog.TileReader over the server's tlog-tiles API.
type httpTiles struct {
	t    *testing.T
	base string
}

func (h *httpTiles) Height() int { return verify.TileHeight }

func (h *httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func (h *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		w := t.W
		if w == verify.TileWidth {
			w = 0
		}
		p := verify.TilePath{Level: uint8(t.L), Index: uint64(t.N), Width: w}
		resp, err := http.Get(h.base + "/" + p.String())
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
		out = append(out, b)
	}
	return out, nil
}

// TestServeRejectsBadInput sends bad requests over gRPC and REST and checks
// each gets the right code and a message naming the problem, and that the
// log is unchanged.
func TestServeRejectsBadInput(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := t.Context()
	ds, err := demo.Generate(demo.Options{Origin: testOrigin, Seed: 9, Disbursements: 20})
	if err != nil {
		t.Fatal(err)
	}
	s.register(ds)
	for _, st := range ds.Records[:10] {
		if _, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: st}); err != nil {
			t.Fatal(err)
		}
	}
	size := s.size()
	// A statement of ds.Records[9]'s signer, altered and re-signed.
	base, err := record.DecodeStatement(ds.Records[9].GetStatement())
	if err != nil {
		t.Fatal(err)
	}
	var key ed25519.PrivateKey
	for _, a := range ds.Agencies {
		if record.KeyID(a.Key.Public().(ed25519.PublicKey)) == ds.Records[9].GetKeyId() {
			key = a.Key
		}
	}
	if key == nil {
		t.Fatal("no key for record 9")
	}
	// Bad statements carry the signer's next sequence number and previous
	// hash, so that each is refused for the fault under test alone.
	sg, err := s.registry.GetSigner(ctx, &akashiv1.GetSignerRequest{KeyId: ds.Records[9].GetKeyId()})
	if err != nil {
		t.Fatal(err)
	}
	resign := func(mod func(st *akashiv1.Statement)) *akashiv1.SignedStatement {
		st := proto.Clone(base).(*akashiv1.Statement)
		st.Sequence, st.Previous = sg.GetSequence()+1, sg.GetLastStatementHash()
		st.GetRecord().Id = "bad-input-record"
		st.GetRecord().Tag = akashiv1.Tag_TAG_NEW
		st.GetRecord().Amends, st.GetRecord().Rationale = "", ""
		st.GetRecord().ProcessId = "bad-input-process"
		mod(st)
		ss, err := record.Sign(key, testOrigin, st)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	for _, tc := range []struct {
		name string
		ss   *akashiv1.SignedStatement
		code codes.Code
		msg  string
	}{
		{"no statement", nil, codes.InvalidArgument, "statement"},
		{"empty statement bytes", &akashiv1.SignedStatement{KeyId: ds.Records[0].GetKeyId(), Signature: make([]byte, 64)}, codes.InvalidArgument, "statement"},
		{"malformed protobuf", &akashiv1.SignedStatement{Statement: []byte{0xff, 0xff, 0xff}, KeyId: ds.Records[0].GetKeyId(), Signature: make([]byte, 64)}, codes.InvalidArgument, "statement"},
		{"bad key id", &akashiv1.SignedStatement{Statement: ds.Records[0].GetStatement(), KeyId: "XYZ", Signature: ds.Records[0].GetSignature()}, codes.InvalidArgument, "key_id"},
		{"short signature", &akashiv1.SignedStatement{Statement: ds.Records[0].GetStatement(), KeyId: ds.Records[0].GetKeyId(), Signature: []byte{1}}, codes.InvalidArgument, "signature"},
		{"oversized statement", &akashiv1.SignedStatement{Statement: make([]byte, 70<<10), KeyId: ds.Records[0].GetKeyId(), Signature: make([]byte, 64)}, codes.InvalidArgument, "statement"},
		{"bad publisher check digit", resign(func(st *akashiv1.Statement) { st.GetRecord().Publisher.Id = "JP-JCN-8000020130002" }), codes.InvalidArgument, "record.publisher.id"},
		{"bad jurisdiction", resign(func(st *akashiv1.Statement) { st.GetRecord().Jurisdiction = "130002" }), codes.InvalidArgument, "record.jurisdiction"},
		{"amends unknown record", resign(func(st *akashiv1.Statement) {
			st.GetRecord().Tag = akashiv1.Tag_TAG_CORRECTION
			st.GetRecord().Amends, st.GetRecord().Rationale = "no-such-record", "typo"
		}), codes.InvalidArgument, "record.amends"},
		{"governance body", resign(func(st *akashiv1.Statement) {
			st.Body = &akashiv1.Statement_Governance{Governance: &akashiv1.GovernanceAction{}}
		}), codes.InvalidArgument, "statement.body"},
		{"same id, other content", func() *akashiv1.SignedStatement {
			st := proto.Clone(base).(*akashiv1.Statement)
			st.Sequence, st.Previous = sg.GetSequence()+1, sg.GetLastStatementHash()
			st.GetRecord().RecordedAt = "2021-01-01T00:00:00+09:00"
			ss, _ := record.Sign(key, testOrigin, st)
			return ss
		}(), codes.AlreadyExists, "record.id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: tc.ss})
			if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
				t.Errorf("AppendRecord = %v, want %v naming %q", err, tc.code, tc.msg)
			}
			if got := s.size(); got != size {
				t.Errorf("log size %d after a refused append, want %d", got, size)
			}
		})
	}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"malformed JSON", "POST", "/v1/records", `{"statement": {`, 400, ""},
		{"JSON of the wrong shape", "POST", "/v1/records", `{"statement": 5}`, 400, ""},
		{"unknown JSON field", "POST", "/v1/records", `{"statment": {}}`, 400, ""},
		{"empty statement over REST", "POST", "/v1/records", `{"statement": {}}`, 400, "statement"},
		{"unknown route", "GET", "/v1/nothing", "", 404, "no such route"},
		{"wrong method", "DELETE", "/v1/log", "", 405, "not allowed"},
		{"index not a number", "GET", "/v1/entries/abc", "", 400, ""},
		{"index beyond the log", "GET", "/v1/entries/999999", "", 400, "index"},
		{"absurd page size", "GET", "/v1/entries?page_size=1000000", "", 400, "page_size"},
		{"bad page token", "GET", "/v1/entries?page_token=zzz", "", 400, "page_token"},
		{"unknown record", "GET", "/v1/records/nope", "", 404, "nope"},
		{"consistency backwards", "GET", "/v1/proofs/consistency?first=5&second=2", "", 400, ""},
		{"tile path trick", "GET", "/tile/0/../../etc/passwd", "", 404, ""},
		{"tile path trick, escaped", "GET", "/tile/0/%2e%2e/000", "", 400, "malformed tile path"},
		{"tile path not canonical", "GET", "/tile/0/0001", "", 400, "three decimal digits"},
		{"tile beyond the tree", "GET", "/tile/0/001", "", 404, ""},
		{"tile wrong method", "POST", "/tile/0/000.p/1", "", 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.httpURL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.msg) {
				t.Errorf("%s %s = %d %s, want %d naming %q", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.msg)
			}
			if got := s.size(); got != size {
				t.Errorf("log size %d, want %d", got, size)
			}
		})
	}
}

func TestServeRestartKeepsLogAndKey(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	ds, _ := demo.Generate(demo.Options{Origin: testOrigin, Seed: 1, Disbursements: 10})
	s.register(ds)
	for _, st := range ds.Records[:5] {
		if _, err := s.client.AppendRecord(t.Context(), &akashiv1.AppendRecordRequest{Statement: st}); err != nil {
			t.Fatal(err)
		}
	}
	vkey, size := s.verifier.KeyHash(), s.size()
	if err := s.stop(); err != nil {
		t.Fatalf("serve after SIGTERM-like stop = %v", err)
	}
	s2 := startServer(t, dir)
	if s2.size() != size || s2.verifier.KeyHash() != vkey {
		t.Fatalf("after restart: size %d key %x, want %d and %x", s2.size(), s2.verifier.KeyHash(), size, vkey)
	}
}

func TestServeRefusesPlaintextOffLoopback(t *testing.T) {
	err := serve(t.Context(), serveConfig{DataDir: t.TempDir(), GRPCAddr: "0.0.0.0:0", HTTPAddr: "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--grpc-addr") {
		t.Fatalf("serve on 0.0.0.0 without TLS = %v, want an error naming --grpc-addr", err)
	}
}

func readGov(t testing.TB, dir string) ed25519.PrivateKey {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(dir, "governance.key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := record.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }

// TestServeDebugAddr: the profiler is served on loopback when asked for,
// and refused elsewhere.
func TestServeDebugAddr(t *testing.T) {
	err := serve(t.Context(), serveConfig{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DebugAddr: "0.0.0.0:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--debug-addr") {
		t.Fatalf("serve with --debug-addr 0.0.0.0:0 = %v, want an error naming --debug-addr", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	runServe(t, serveConfig{DataDir: t.TempDir(), DebugAddr: addr})
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/cmdline: %s", resp.Status)
	}
}

func TestServeRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--batch-interval", "-1ms", "--batch-interval -1ms: want 0 to 1s"},
		{"--batch-interval", "2s", "--batch-interval 2s: want 0 to 1s"},
		{"--min-free-mib", "10", "--min-free-mib 10: want at least 64"},
		{"--min-free-mib", "-1", "--min-free-mib -1: want at least 64"},
	} {
		err := serveCommand(t.Context(), []string{"--data", t.TempDir(), tc.flag, tc.value}, io.Discard, io.Discard)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %s %s = %v, want a usage error saying %q", tc.flag, tc.value, err, tc.want)
		}
	}
}

// TestServeMinFreeSpace checks that --min-free-mib reaches the log: with a
// reserve larger than any disk, the first append (the governance key's
// registration) is refused for lack of space, and serve says so.
func TestServeMinFreeSpace(t *testing.T) {
	err := serve(t.Context(), serveConfig{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Origin: testOrigin, LogLevel: slog.LevelError, MinFreeMiB: 1 << 30}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "disk space low") {
		t.Fatalf("serve with a 1 PiB reserve = %v, want it refused for disk space", err)
	}
}
