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
	var signKeys []ed25519.PrivateKey
	for i := range keys {
		k := testKey(byte(100 + i))
		if _, err := gov.governance(ctx, reg, registerKey(benchAgencies[i%2], k)); err != nil {
			b.Fatal(err)
		}
		signKeys = append(signKeys, k)
	}
	statements, size := presign(b, signKeys)
	b.ResetTimer()
	rate := streamAll(b, client, statements)
	b.StopTimer()
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

var benchAgencies = []string{tokyoID, osakaID}

// presign signs, for each key, b.N/len(keys) (rounded up) decisions of
// about 1 KiB, each key's in its own chain: the client's signing is not
// what the benchmarks measure. It returns them and the statements' size.
func presign(b *testing.B, keys []ed25519.PrivateKey) ([][]*akashiv1.SignedStatement, int) {
	b.Helper()
	per := (b.N + len(keys) - 1) / len(keys)
	pad := strings.Repeat("協力金の支給に関する決定の説明。", 40)
	statements := make([][]*akashiv1.SignedStatement, len(keys))
	size := 0
	for i, k := range keys {
		c := &chainSigner{key: k, origin: testOrigin}
		for j := range per {
			st := decision(benchAgencies[i%2], fmt.Sprintf("bench-k%d-%d", i, j))
			st.GetRecord().GetDecision().Description = pad[:810]
			ss, err := c.sign(st)
			if err != nil {
				b.Fatal(err)
			}
			size = len(ss.GetStatement())
			statements[i] = append(statements[i], ss)
		}
	}
	return statements, size
}

// streamAll sends each key's statements on a stream of its own, all keys
// at once, and returns the appends answered per second.
func streamAll(b *testing.B, client akashiv1.LedgerServiceClient, statements [][]*akashiv1.SignedStatement) float64 {
	b.Helper()
	ctx := b.Context()
	var appended atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, mine := range statements {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := client.AppendRecords(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			go func() {
				for _, ss := range mine {
					if stream.Send(&akashiv1.AppendRecordsRequest{Statement: ss}) != nil {
						return // Recv reports why
					}
				}
				stream.CloseSend()
			}()
			for range mine {
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
	return float64(appended.Load()) / time.Since(start).Seconds()
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
