// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akashi-ledger/akashi/client"
	"github.com/akashi-ledger/akashi/client/internal/testserver"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// BenchmarkAudit builds a log of AKASHI_BENCH_ENTRIES (default 50,000)
// signed disbursements from 8 agency keys against the real server, then
// audits the whole log from scratch in each iteration (every header,
// chain link, payload digest, statement decoding and validation,
// signature, registry rule and the tree root). In the same run it
// measures the machine's limits on all cores: single Ed25519 signature
// verifications per second (ZIP-215, as the log verifies) and SHA-256
// throughput. It reports the audit rate and its ratio to the signature
// limit.
func BenchmarkAudit(b *testing.B) {
	n := 50_000
	if v, err := strconv.Atoi(os.Getenv("AKASHI_BENCH_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	srv := testserver.Start(b, b.TempDir(), "--rate-limit", "1e9", "--rate-burst", "1000000000")
	ctx := b.Context()
	c, err := client.Dial(ctx, srv.GRPC, client.Options{VerifierKey: srv.VerifierKey})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	gov, err := client.NewSigner(ctx, c, srv.Governance, client.SignerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const keys = 8
	var wg sync.WaitGroup
	built := time.Now()
	for k := range keys {
		_, priv, _ := ed25519.GenerateKey(nil)
		if _, err := gov.Govern(ctx, client.RegisterKey(client.Org(tokyoID, "東京都"), priv.Public().(ed25519.PublicKey), fmt.Sprint("key ", k))); err != nil {
			b.Fatal(err)
		}
		s, err := client.NewSigner(ctx, c, priv, client.SignerOptions{})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			per := n / keys
			for lo := 0; lo < per; lo += 5000 {
				var records []*akashiv1.Record
				for i := lo; i < min(lo+5000, per); i++ {
					records = append(records, payment(b, fmt.Sprintf("k%d-%06d", k, i), "", int64(500000+i)))
				}
				results, err := s.AppendAll(ctx, records, client.BulkOptions{})
				if err != nil {
					b.Error(err)
					return
				}
				for _, r := range results {
					if r.Err != nil {
						b.Error(r.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	b.Logf("built a log of %d entries in %v", n, time.Since(built))

	// Each iteration audits the whole log, then (not timed) measures the
	// machine's limits for a moment, so that both are measured under the
	// same conditions (other processes, frequency scaling).
	var (
		rep                  *client.AuditReport
		audited              float64
		auditTime            time.Duration
		verifies, verifyTime float64
		hashes, hashTime     float64
	)
	// As akashi audit runs it: a batch job that trades memory for less
	// garbage collection.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	// One audit, not timed, warms the server's caches.
	if _, err := client.NewAuditor(c, client.AuditorOptions{}).Run(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		t0 := time.Now()
		rep, err = client.NewAuditor(c, client.AuditorOptions{}).Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		auditTime += time.Since(t0)
		audited += float64(rep.To)
		b.StopTimer()
		verifies += ed25519Rate(500*time.Millisecond) * 0.5
		verifyTime += 0.5
		hashes += sha256Rate(250*time.Millisecond) * 0.25
		hashTime += 0.25
		b.StartTimer()
	}
	b.StopTimer()
	rate := audited / auditTime.Seconds()
	verifyRate := verifies / verifyTime
	shaRate := hashes / hashTime
	b.ReportMetric(float64(rep.To), "entries")
	b.ReportMetric(rate, "audit-entries/s")
	b.ReportMetric(verifyRate, "ed25519-verify/s")
	b.ReportMetric(rate/verifyRate, "audit/verify-limit")
	b.ReportMetric(shaRate, "sha256-1KiB/s")
	b.ReportMetric(shaRate*1024/1e6, "sha256-MB/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "cores")
}

// ed25519Rate measures single-signature verifications per second on all
// cores, with the log's semantics (record.VerifySignature).
func ed25519Rate(d time.Duration) float64 {
	_, priv, _ := ed25519.GenerateKey(nil)
	ss, _ := record.Sign(priv, testserver.Origin, &akashiv1.Statement{Sequence: 1, Body: &akashiv1.Statement_Record{Record: payment(nopTB{}, "rate", "", 500000)}})
	pub := priv.Public().(ed25519.PublicKey)
	var count atomic.Int64
	return parallelFor(d, func() {
		if record.VerifySignature(pub, testserver.Origin, ss) == nil {
			count.Add(1)
		}
	}, &count)
}

// sha256Rate measures SHA-256 of 1 KiB blocks per second on all cores.
func sha256Rate(d time.Duration) float64 {
	var count atomic.Int64
	return parallelFor(d, func() {
		var buf [1024]byte
		sha256.Sum256(buf[:])
		count.Add(1)
	}, &count)
}

func parallelFor(d time.Duration, f func(), count *atomic.Int64) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				for range 16 {
					f()
				}
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

// nopTB lets the record helpers run outside a test.
type nopTB struct{ testing.TB }

func (nopTB) Helper()               {}
func (nopTB) Fatal(a ...any)        { panic(fmt.Sprint(a...)) }
func (nopTB) Fatalf(string, ...any) {}
