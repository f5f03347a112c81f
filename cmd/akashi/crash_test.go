// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/ledger/verify"
	"github.com/akashi-ledger/akashi/record"
)

// crashBinary builds the akashi binary once for the tests that run it as
// a separate process.
var crashBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "akashi-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "akashi")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// serverProcess is `akashi serve` running as a child process.
type serverProcess struct {
	cmd      *exec.Cmd
	grpcAddr string
}

func startProcess(t *testing.T, dir string) *serverProcess {
	t.Helper()
	bin, err := crashBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--data", dir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--origin", testOrigin, "--rate-limit", "1000000", "--rate-burst", "1000000")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if a, ok := strings.CutPrefix(strings.TrimSpace(lines.Text()), "gRPC:"); ok {
			p.grpcAddr = strings.TrimSpace(a)
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if p.grpcAddr == "" {
		cmd.Process.Kill()
		err := cmd.Wait()
		t.Fatalf("the server did not print its gRPC address (%v); its last messages:\n%s", err, stderr.String())
	}
	return p
}

// tailBuffer keeps the last 16 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 16<<10; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func (p *serverProcess) kill() {
	p.cmd.Process.Kill() // SIGKILL
	p.cmd.Wait()
}

// crashWriter appends signed records for one key, resubmitting after a
// crash whatever was not acknowledged, as the SDK does.
type crashWriter struct {
	cs      *chainSigner
	agency  string
	n       int
	pending *akashiv1.SignedStatement // signed, not yet acknowledged
}

// TestCrashCycles kills `akashi serve` with SIGKILL at random moments while
// clients append, many times in a row on the same data folder, and then
// checks that every receipt any client received verifies against the
// latest checkpoint, that no index is missing or given twice, and that a
// full audit (tree, chain, checkpoints, registry, signatures, per-signer
// sequences) passes. AKASHI_CRASH_CYCLES sets the number of cycles
// (default 5; docs/BENCHMARKS.md records a run of 100).
func TestCrashCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("crash cycles are slow")
	}
	cycles := 5
	if s := os.Getenv("AKASHI_CRASH_CYCLES"); s != "" {
		var err error
		if cycles, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	var writers []*crashWriter
	var receipts []*akashiv1.Receipt
	var mu sync.Mutex
	for c := 0; c <= cycles; c++ {
		p := startProcess(t, dir)
		conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecureCreds()))
		if err != nil {
			t.Fatal(err)
		}
		client, reg := akashiv1.NewLedgerServiceClient(conn), akashiv1.NewRegistryServiceClient(conn)
		if c == 0 {
			gov, err := resume(t.Context(), reg, readGov(t, dir), testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				agency := []string{tokyoID, osakaID}[i%2]
				k := testKey(byte(200 + i))
				if _, err := gov.governance(t.Context(), reg, registerKey(agency, k)); err != nil {
					t.Fatal(err)
				}
				writers = append(writers, &crashWriter{cs: &chainSigner{key: k, origin: testOrigin}, agency: agency})
			}
		}
		if c == cycles {
			conn.Close()
			p.kill()
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if w.pending == nil {
						ss, err := w.cs.sign(decision(w.agency, fmt.Sprintf("%s-%d", record.KeyID(w.cs.key.Public().(ed25519.PublicKey)), w.n)))
						if err != nil {
							t.Error(err)
							return
						}
						w.pending = ss
						w.n++
					}
					resp, err := client.AppendRecord(ctx, &akashiv1.AppendRecordRequest{Statement: w.pending})
					if err != nil {
						if code := status.Code(err); code != codes.Unavailable && code != codes.Canceled && ctx.Err() == nil {
							t.Errorf("AppendRecord = %v", err)
						}
						return // the server is gone; resubmit after the restart
					}
					mu.Lock()
					receipts = append(receipts, resp.GetReceipt())
					mu.Unlock()
					w.pending = nil
				}
			}()
		}
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
		conn.Close()
	}

	// The last restart: check everything.
	p := startProcess(t, dir)
	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecureCreds()))
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, conn: conn, client: akashiv1.NewLedgerServiceClient(conn), registry: akashiv1.NewRegistryServiceClient(conn)}
	info, err := s.client.GetLogInfo(t.Context(), &akashiv1.GetLogInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if s.verifier, err = note.NewVerifier(info.GetVerifierKey()); err != nil {
		t.Fatal(err)
	}
	latest, err := verify.OpenCheckpoint([]byte(info.GetCheckpoint()), testOrigin, s.verifier)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]*akashiv1.Receipt{}
	for _, r := range receipts {
		if old, ok := seen[r.GetIndex()]; ok && string(old.GetLeafHash()) != string(r.GetLeafHash()) {
			t.Fatalf("index %d acknowledged for two different entries", r.GetIndex())
		}
		seen[r.GetIndex()] = r
		old := checkReceipt(t, s.verifier, r, nil)
		pr, err := s.client.GetInclusionProof(t.Context(), &akashiv1.GetInclusionProofRequest{Index: r.GetIndex(), TreeSize: latest.Size})
		if err != nil {
			t.Fatal(err)
		}
		var proof []verify.Hash
		for _, h := range pr.GetProof() {
			proof = append(proof, verify.Hash(h))
		}
		if err := verify.VerifyInclusion(r.GetIndex(), latest.Size, verify.Hash(r.GetLeafHash()), proof, latest.Root); err != nil {
			t.Fatalf("acknowledged entry %d against the latest checkpoint: %v", r.GetIndex(), err)
		}
		cp, err := s.client.GetConsistencyProof(t.Context(), &akashiv1.GetConsistencyProofRequest{First: old.Size, Second: latest.Size})
		if err != nil {
			t.Fatal(err)
		}
		proof = proof[:0]
		for _, h := range cp.GetProof() {
			proof = append(proof, verify.Hash(h))
		}
		if err := verify.VerifyConsistency(old.Size, latest.Size, proof, old.Root, latest.Root); err != nil {
			t.Fatalf("the checkpoint of receipt %d is not consistent with the latest: %v", r.GetIndex(), err)
		}
	}
	// A full audit: every entry in order, the tree, the chain, the registry
	// and every signature and per-signer sequence.
	aud, _ := verify.NewAuditor(verify.AuditorState{})
	replay(t, s)
	req := &akashiv1.ListEntriesRequest{PageSize: 1000}
	for {
		resp, err := s.client.ListEntries(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetEntries() {
			if err := aud.Append(e.GetHeaderBytes(), e.GetPayload()); err != nil {
				t.Fatalf("audit: %v", err)
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if err := aud.CheckCheckpoint(latest); err != nil {
		t.Fatalf("audit: %v", err)
	}
	conn.Close()
	p.kill()
	// And the store itself, offline.
	if _, err := ledger.VerifyStore(t.Context(), filepath.Join(dir, "ledger"), ledger.Options{Origin: testOrigin, Verifier: s.verifier}); err != nil {
		t.Fatalf("VerifyStore: %v", err)
	}
	t.Logf("%d SIGKILL cycles: %d receipts, all verified against the final checkpoint (size %d); audit passed", cycles, len(receipts), latest.Size)
}
