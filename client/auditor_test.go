// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/akashi-ledger/akashi/client"
	"github.com/akashi-ledger/akashi/client/internal/testserver"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger/verify"
)

// fill appends n payments with one signer, in bulk.
func fill(t *testing.T, s *client.Signer, prefix string, n int) {
	t.Helper()
	var records []*akashiv1.Record
	for i := range n {
		records = append(records, payment(t, fmt.Sprintf("%s-%04d", prefix, i), "", int64(500000+i)))
	}
	results, err := s.AppendAll(t.Context(), records, client.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
	}
}

func TestAuditorVerifiesAndResumes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tokyo := e.agency(tokyoID, "東京都", client.SignerOptions{})
	osaka := e.agency(osakaID, "大阪府", client.SignerOptions{})
	fill(t, tokyo, "t1", 700)
	if _, err := osaka.Append(ctx, decision(t, osakaID, "osaka-1")); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "audit.state")
	var progress atomic.Int64
	a := client.NewAuditor(e.c, client.AuditorOptions{StateFile: state, PageSize: 100, Progress: func(client.Progress) { progress.Add(1) }})
	rep, err := a.Run(ctx)
	if err != nil {
		t.Fatalf("audit of an honest log: %v", err)
	}
	size := e.size()
	if !rep.Complete || rep.From != 0 || rep.To != size || rep.Records != 701 || rep.Agencies != 2 || rep.Keys != 3 || len(rep.Failures) != 0 {
		t.Fatalf("report %+v, want a complete audit of %d entries", rep, size)
	}
	if progress.Load() == 0 {
		t.Error("no progress reported")
	}

	// The next run checks only what was appended since.
	fill(t, tokyo, "t2", 300)
	rep, err = a.Run(ctx)
	if err != nil || rep.From != size || rep.To != e.size() || rep.Previous != size {
		t.Fatalf("resumed audit = %+v, %v; want [%d, %d)", rep, err, size, e.size())
	}

	// An interrupted run saves where it got to; the next one finishes.
	fill(t, tokyo, "t3", 600)
	size = rep.To
	ictx, cancel := context.WithCancel(ctx)
	// Over a slow link (50 ms a page of 50, twelve pages), the run is
	// still going when progress reports more than 100 entries done.
	slow, err := client.Dial(ctx, e.srv.GRPC, client.Options{VerifierKey: e.srv.VerifierKey, DialOptions: []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if method == akashiv1.LedgerService_ListEntries_FullMethodName {
				time.Sleep(50 * time.Millisecond)
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	interrupted := client.NewAuditor(slow, client.AuditorOptions{StateFile: state, PageSize: 50, Workers: 1, SaveInterval: 1, Progress: func(p client.Progress) {
		if p.Done > size+100 {
			cancel()
		}
	}})
	rep, err = interrupted.Run(ictx)
	if !errors.Is(err, context.Canceled) || rep.To <= size || rep.To >= e.size() {
		t.Fatalf("interrupted audit = %+v, %v; want it stopped part way", rep, err)
	}
	stopped := rep.To
	rep, err = a.Run(ctx)
	if err != nil || rep.From != stopped || rep.To != e.size() || !rep.Complete {
		t.Fatalf("audit after an interruption = %+v, %v; want [%d, %d)", rep, err, stopped, e.size())
	}

	// From scratch, without a state file, the same root.
	full, err := client.NewAuditor(e.c, client.AuditorOptions{}).Run(ctx)
	if err != nil || full.Root != rep.Root || full.To != rep.To {
		t.Fatalf("audit from scratch = %+v, %v; want root %v", full, err, rep.Root)
	}
}

// proxy is a LedgerService that forwards to a real server and lets a test
// alter what it answers: a lying server.
type proxy struct {
	akashiv1.UnimplementedLedgerServiceServer
	up         akashiv1.LedgerServiceClient
	entries    func(*akashiv1.ListEntriesResponse)
	checkpoint func(*akashiv1.GetCheckpointResponse)
}

func startProxy(t *testing.T, upstream string, p *proxy) string {
	t.Helper()
	conn, err := grpc.NewClient(upstream, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p.up = akashiv1.NewLedgerServiceClient(conn)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	akashiv1.RegisterLedgerServiceServer(gs, p)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func (p *proxy) GetLogInfo(ctx context.Context, r *akashiv1.GetLogInfoRequest) (*akashiv1.GetLogInfoResponse, error) {
	return p.up.GetLogInfo(ctx, r)
}

func (p *proxy) GetCheckpoint(ctx context.Context, r *akashiv1.GetCheckpointRequest) (*akashiv1.GetCheckpointResponse, error) {
	resp, err := p.up.GetCheckpoint(ctx, r)
	if err == nil && p.checkpoint != nil {
		p.checkpoint(resp)
	}
	return resp, err
}

func (p *proxy) GetConsistencyProof(ctx context.Context, r *akashiv1.GetConsistencyProofRequest) (*akashiv1.GetConsistencyProofResponse, error) {
	return p.up.GetConsistencyProof(ctx, r)
}

func (p *proxy) GetInclusionProof(ctx context.Context, r *akashiv1.GetInclusionProofRequest) (*akashiv1.GetInclusionProofResponse, error) {
	return p.up.GetInclusionProof(ctx, r)
}

func (p *proxy) ListEntries(ctx context.Context, r *akashiv1.ListEntriesRequest) (*akashiv1.ListEntriesResponse, error) {
	resp, err := p.up.ListEntries(ctx, r)
	if err == nil && p.entries != nil {
		p.entries(resp)
	}
	return resp, err
}

func TestAuditorDetectsALyingServer(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	fill(t, e.agency(tokyoID, "東京都", client.SignerOptions{}), "p", 400)
	cp, err := e.c.LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A key of the same name as the log's, which the auditor has not pinned.
	skey, _, err := note.GenerateKey(rand.Reader, testserver.Origin)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(index uint64, field func(*akashiv1.Entry) []byte, at int) func(*akashiv1.ListEntriesResponse) {
		return func(resp *akashiv1.ListEntriesResponse) {
			for _, en := range resp.GetEntries() {
				if en.GetIndex() == index {
					field(en)[at] ^= 0x10
				}
			}
		}
	}
	payload := func(e *akashiv1.Entry) []byte { return e.Payload }
	header := func(e *akashiv1.Entry) []byte { return e.HeaderBytes }
	for _, tc := range []struct {
		name  string
		p     *proxy
		index uint64 // the first failure's index
	}{
		{"a payload byte", &proxy{entries: flip(123, payload, 40)}, 123},
		{"a payload digest in a header", &proxy{entries: flip(250, header, 20)}, 250},
		{"a previous chain hash in a header", &proxy{entries: flip(301, header, 60)}, 301},
		{"an integration time in a header", &proxy{entries: flip(77, header, 12)}, 77},
		{"a checkpoint signed by another key", &proxy{checkpoint: func(resp *akashiv1.GetCheckpointResponse) {
			signed, _ := verify.SignCheckpoint(cp.Checkpoint, forger)
			resp.Checkpoint = string(signed)
		}}, 0},
		{"a checkpoint with another root", &proxy{checkpoint: func(resp *akashiv1.GetCheckpointResponse) {
			b := []byte(resp.Checkpoint)
			b[len(testserver.Origin)+8] ^= 1 // in the base64 root
			resp.Checkpoint = string(b)
		}}, 0},
		{"an entry dropped from a page", &proxy{entries: func(resp *akashiv1.ListEntriesResponse) {
			if len(resp.Entries) > 5 {
				resp.Entries = append(resp.Entries[:3], resp.Entries[4:]...)
			}
		}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startProxy(t, e.srv.GRPC, tc.p)
			c, err := client.Dial(ctx, addr, client.Options{VerifierKey: e.srv.VerifierKey})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			rep, err := client.NewAuditor(c, client.AuditorOptions{PageSize: 64}).Run(ctx)
			if !errors.Is(err, client.ErrVerification) {
				t.Fatalf("audit through a lying server = %v, want ErrVerification", err)
			}
			if tc.index > 0 && (rep == nil || len(rep.Failures) == 0 || rep.Failures[0].Index != tc.index) {
				t.Fatalf("audit report %+v, want the first failure at entry %d", rep, tc.index)
			}
		})
	}
}

// copyDir copies a stopped server's data folder.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSplitView runs two servers from copies of one data folder and
// appends different entries to each: one log, rewound and rewritten. The
// monitor comparing them raises the alarm, and so do a monitor and an
// auditor that saw one history and are then shown the other.
func TestSplitView(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	srvA := testserver.Start(t, dirA)
	e := envFor(t, srvA)
	ctx := t.Context()
	key := e.register(tokyoID, "東京都")
	s, err := client.NewSigner(ctx, e.c, key, client.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, "shared", 50)
	e.c.Close()
	if err := srvA.Stop(); err != nil {
		t.Fatal(err)
	}
	copyDir(t, dirA, dirB)
	a := envFor(t, testserver.Start(t, dirA))
	b := envFor(t, testserver.Start(t, dirB))
	if a.srv.VerifierKey != b.srv.VerifierKey {
		t.Fatal("the copies have different keys")
	}
	for _, side := range []struct {
		env *env
		n   int
	}{{a, 30}, {b, 20}} {
		s, err := client.NewSigner(ctx, side.env.c, key, client.SignerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, s, "side-"+side.env.srv.Dir[len(side.env.srv.Dir)-3:], side.n)
	}

	// One monitor, two endpoints.
	m, err := client.NewMonitor(a.c, client.MonitorOptions{Others: []*client.Client{b.c}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Check(ctx)
	var alarm *client.Alarm
	if !errors.As(err, &alarm) || !errors.Is(err, client.ErrSplitView) {
		t.Fatalf("monitor comparing the two = %v, want a split-view alarm", err)
	}
	if alarm.Old.Size == alarm.New.Size || alarm.Old.Signed == nil || alarm.New.Signed == nil {
		t.Fatalf("alarm %+v lacks its evidence", alarm)
	}

	// A monitor that saw A's history, then shown B's (smaller) one.
	state := filepath.Join(t.TempDir(), "monitor.state")
	ma, err := client.NewMonitor(a.c, client.MonitorOptions{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ma.Check(ctx); err != nil {
		t.Fatal(err)
	}
	mb, err := client.NewMonitor(b.c, client.MonitorOptions{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Check(ctx); !errors.Is(err, client.ErrRollback) {
		t.Fatalf("monitor of B after A = %v, want ErrRollback", err)
	}
	// B grows past A: now it is a fork, not a rollback.
	sb, err := client.NewSigner(ctx, b.c, key, client.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, sb, "more-b", 30)
	if _, err := mb.Check(ctx); !errors.Is(err, client.ErrInconsistent) {
		t.Fatalf("monitor of B after A, B larger = %v, want ErrInconsistent", err)
	}

	// An auditor that verified A's history, then pointed at B.
	astate := filepath.Join(t.TempDir(), "audit.state")
	if _, err := client.NewAuditor(a.c, client.AuditorOptions{StateFile: astate}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := client.NewAuditor(b.c, client.AuditorOptions{StateFile: astate}).Run(ctx)
	if !errors.Is(err, client.ErrVerification) || !errors.Is(err, client.ErrInconsistent) || len(rep.Failures) == 0 {
		t.Fatalf("audit of B with A's state = %+v, %v; want an inconsistency", rep, err)
	}
	// Each on its own is a valid log: the fork shows only by comparing.
	if _, err := client.NewAuditor(b.c, client.AuditorOptions{}).Run(ctx); err != nil {
		t.Fatalf("audit of B alone: %v", err)
	}
}
