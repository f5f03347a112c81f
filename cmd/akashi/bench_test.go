// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// BenchmarkSignedAppendsGRPC streams pre-signed 1 KiB records from many
// agency keys to the real server over loopback (durable appends, every
// signature verified), and in the same run measures the machine's Ed25519
// single-signature verification rate on all cores; it reports both and
// their ratio.
func BenchmarkSignedAppendsGRPC(b *testing.B) {
	const keys = 32
	dir := b.TempDir()
	var batches, entries atomic.Int64
	var commitNs atomic.Int64
	addrs, _ := runServe(b, serveConfig{
		DataDir: dir, RateLimit: 1e9, RateBurst: 1e9, BatchInterval: defaultBatchInterval,
		ledgerOptions: func(o *ledger.Options) {
			o.OnCommit = func(n, _ int, took time.Duration) {
				batches.Add(1)
				entries.Add(int64(n))
				commitNs.Add(int64(took))
			}
		},
	})
	ctx := b.Context()
	conn, err := grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(insecureCreds()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client, reg := akashiv1.NewLedgerServiceClient(conn), akashiv1.NewRegistryServiceClient(conn)
	gov, err := resume(ctx, reg, readGov(b, dir), testOrigin)
	if err != nil {
		b.Fatal(err)
	}
	agencies := []string{tokyoID, osakaID}
	var signers []*chainSigner
	for i := range keys {
		k := testKey(byte(100 + i))
		if _, err := gov.governance(ctx, reg, registerKey(agencies[i%2], k)); err != nil {
			b.Fatal(err)
		}
		signers = append(signers, &chainSigner{key: k, origin: testOrigin})
	}
	// Pre-sign every statement: the client's signing is not measured.
	per := (b.N + keys - 1) / keys
	pad := strings.Repeat("協力金の支給に関する決定の説明。", 40)
	statements := make([][]*akashiv1.SignedStatement, keys)
	size := 0
	for i, c := range signers {
		for j := range per {
			st := decision(agencies[i%2], fmt.Sprintf("bench-k%d-%d", i, j))
			st.GetRecord().GetDecision().Description = pad[:810]
			ss, err := c.sign(st)
			if err != nil {
				b.Fatal(err)
			}
			size = len(ss.GetStatement())
			statements[i] = append(statements[i], ss)
		}
	}
	var appended atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	b.ResetTimer()
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := client.AppendRecords(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			go func() {
				for _, ss := range statements[i] {
					stream.Send(&akashiv1.AppendRecordsRequest{Statement: ss})
				}
				stream.CloseSend()
			}()
			for range statements[i] {
				resp, err := stream.Recv()
				if err != nil {
					b.Error(err)
					return
				}
				if resp.GetErrorCode() != 0 {
					b.Errorf("refused: %s", resp.GetErrorMessage())
					return
				}
				appended.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	rate := float64(appended.Load()) / el.Seconds()
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(entries.Load())/float64(n), "entries/batch")
		b.ReportMetric(float64(commitNs.Load())/float64(n)/1e6, "commit-ms")
	}
	verifyRate := ed25519Rate()
	b.ReportMetric(rate, "appends/s")
	b.ReportMetric(verifyRate, "ed25519-verify/s")
	b.ReportMetric(rate/verifyRate, "ratio")
	b.ReportMetric(float64(size), "statement-bytes")
}

// ed25519Rate measures single-signature Ed25519 verification (the
// semantics the log uses) on all cores for a second.
func ed25519Rate() float64 {
	k := testKey(1)
	ss, _ := record.Sign(k, testOrigin, decision(tokyoID, "rate"))
	pub := k.Public().(ed25519.PublicKey)
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Second)
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if record.VerifySignature(pub, testOrigin, ss) == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
