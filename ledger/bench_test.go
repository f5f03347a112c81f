// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

var (
	benchRate    = flag.Int("ledger.rate", 20000, "appends per second offered by BenchmarkAppendAtRate (open loop)")
	benchEntries = flag.Int("ledger.entries", 1000000, "log size for BenchmarkInclusionProof and BenchmarkAppendRSS")
	benchRawTxn  = flag.Int("ledger.rawtxn", 1000, "entries per transaction in BenchmarkBadgerRaw (256 callers fill at most 256)")
)

// BenchmarkAppend measures durable appends of 1 KiB payloads by 1, 16, 256
// and 1024 concurrent callers (1024 is the Tessera yardstick's default):
// throughput and the receipt latency they see.
func BenchmarkAppend(b *testing.B) {
	for _, callers := range []int{1, 16, 256, 1024} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			l := openTest(b, b.TempDir(), nil)
			defer l.Close()
			work := make(chan int, callers)
			lat := make([][]time.Duration, callers)
			var pushbacks atomic.Int64
			var wg sync.WaitGroup
			for c := range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := make([]byte, 1024)
					for i := range work {
						binary.BigEndian.PutUint64(p, uint64(i))
						t0 := time.Now()
						for {
							_, err := l.Append(context.Background(), p)
							if errors.Is(err, ErrPushback) {
								pushbacks.Add(1) // as the Tessera yardstick does: wait, retry
								time.Sleep(time.Millisecond)
								continue
							}
							if err != nil {
								b.Error(err)
							}
							break
						}
						lat[c] = append(lat[c], time.Since(t0))
					}
				}()
			}
			start := time.Now()
			i := 0
			for b.Loop() {
				work <- i
				i++
			}
			close(work)
			wg.Wait()
			reportThroughput(b, i, time.Since(start), slices.Concat(lat...))
			b.ReportMetric(float64(pushbacks.Load()), "pushbacks")

		})
	}
}

func reportThroughput(b *testing.B, n int, el time.Duration, lat []time.Duration) {
	b.ReportMetric(float64(n)/el.Seconds(), "entries/s")
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkAppendAtRate offers appends of 1 KiB at a fixed rate (open loop,
// -ledger.rate per second) and reports the receipt latency, measured from
// the moment each append was due, so a stall is not hidden.
func BenchmarkAppendAtRate(b *testing.B) {
	l := openTest(b, b.TempDir(), nil)
	defer l.Close()
	interval := time.Second / time.Duration(*benchRate)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	i := 0
	for b.Loop() {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := make([]byte, 1024)
			binary.BigEndian.PutUint64(p, uint64(i))
			if _, err := l.Append(context.Background(), p); err != nil {
				b.Error(err)
			}
			d := time.Since(due)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}(i)
		i++
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(i)/el.Seconds(), "entries/s")
	reportLatency(b, lat)
}

// fillLog appends n entries of size bytes with many callers.
func fillLog(b *testing.B, l *Log, n, size int) {
	var wg sync.WaitGroup
	next := make(chan int, 1024)
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, size)
			for i := range next {
				binary.BigEndian.PutUint64(p, uint64(i))
				if _, err := l.Append(context.Background(), p); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// BenchmarkInclusionProof measures inclusion proofs for random entries of
// a log of -ledger.entries entries, on one core and on all of them.
func BenchmarkInclusionProof(b *testing.B) {
	l := openTest(b, b.TempDir(), nil)
	defer l.Close()
	fillLog(b, l, *benchEntries, 64)
	size := l.Size()
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 1))
		start := time.Now()
		n := 0
		for b.Loop() {
			if _, err := l.InclusionProof(ctx, rng.Uint64N(size), size); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "proofs/s")
	})
	b.Run("parallel", func(b *testing.B) {
		work := make(chan uint64, 1024)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					if _, err := l.InclusionProof(ctx, i, size); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		rng := rand.New(rand.NewPCG(2, 2))
		start := time.Now()
		n := 0
		for b.Loop() {
			work <- rng.Uint64N(size)
			n++
		}
		close(work)
		wg.Wait()
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "proofs/s")
	})
}

// BenchmarkVerify measures a full Verify of 100,000 entries of 1 KiB and,
// in the same run, single-core SHA-256 over the same header and payload
// bytes; the ratio is Verify's share of raw hashing speed. after-appends
// verifies right after the appends, while Badger still flushes and
// compacts what they wrote; at-rest verifies the store closed, reopened
// and left until Badger has no compaction to do, as an auditor finds it.
func BenchmarkVerify(b *testing.B) {
	b.Run("after-appends", func(b *testing.B) {
		l := openTest(b, b.TempDir(), nil)
		defer l.Close()
		fillLog(b, l, 100000, 1024)
		benchVerify(b, l)
	})
	b.Run("at-rest", func(b *testing.B) {
		dir := b.TempDir()
		l := openTest(b, dir, nil)
		fillLog(b, l, 100000, 1024)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		l = openTest(b, dir, nil)
		defer l.Close()
		for busy := true; busy; {
			time.Sleep(500 * time.Millisecond)
			busy = false
			for _, lv := range l.db.Levels() {
				busy = busy || lv.Score >= 1
			}
		}
		benchVerify(b, l)
	})
}

func benchVerify(b *testing.B, l *Log) {
	ctx := context.Background()
	var data [][]byte
	l.Entries(ctx, 0, l.Size(), func(e Entry) error {
		data = append(data, e.Header, e.Payload)
		return nil
	})
	// Each iteration times one Verify and, right after it, SHA-256 over
	// the same bytes; the figures are the medians over the iterations (the
	// machine is shared: single runs swing by half), and mean-ratio is
	// the ratio of the totals.
	var verifyRates, shaRates, ratios []float64
	var verifyTime, shaTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		st, err := l.Verify(ctx)
		if err != nil {
			b.Fatal(err)
		}
		vt := time.Since(t0)
		t0 = time.Now()
		for _, d := range data {
			sha256.Sum256(d)
		}
		sht := time.Since(t0)
		verifyTime, shaTime = verifyTime+vt, shaTime+sht
		vr, sr := float64(st.Bytes)/vt.Seconds()/1e6, float64(st.Bytes)/sht.Seconds()/1e6
		verifyRates, shaRates, ratios = append(verifyRates, vr), append(shaRates, sr), append(ratios, vr/sr)
	}
	b.ReportMetric(median(verifyRates), "verify-MB/s")
	b.ReportMetric(median(shaRates), "sha256-MB/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(shaTime.Seconds()/verifyTime.Seconds(), "mean-ratio")
}

// median returns the median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// BenchmarkEntries measures range reads (Entries, what the query follower,
// exports and the REST entries endpoint use) over 100,000 entries of
// 1 KiB, in entries per second.
func BenchmarkEntries(b *testing.B) {
	l := openTest(b, b.TempDir(), nil)
	defer l.Close()
	fillLog(b, l, 100000, 1024)
	ctx := context.Background()
	var n uint64
	start := time.Now()
	for b.Loop() {
		err := l.Entries(ctx, 0, l.Size(), func(e Entry) error {
			if len(e.Payload) != 1024 {
				return fmt.Errorf("entry %d has a %d-byte payload", e.Index, len(e.Payload))
			}
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkAppendRSS appends -ledger.entries entries of 1 KiB with 256
// callers and reports the process's peak RSS. Run it alone in its process
// (-run '^$' -bench AppendRSS) so the peak is its own.
func BenchmarkAppendRSS(b *testing.B) {
	for b.Loop() {
		l := openTest(b, b.TempDir(), nil)
		m := startMemSampler()
		start := time.Now()
		fillLog(b, l, *benchEntries, 1024)
		b.ReportMetric(float64(*benchEntries)/time.Since(start).Seconds(), "entries/s")
		anon, file := m.done()
		b.ReportMetric(m.peakHeap, "peak-heap-MiB")
		b.ReportMetric(anon, "peak-anon-MiB")
		b.ReportMetric(file, "peak-file-MiB")
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// peakRSSMiB reads the process's peak resident set size (VmHWM).
func peakRSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

var _ = verify.HeaderSize

// BenchmarkBadgerRaw is the yardstick for BenchmarkAppend: raw Badger with
// the ledger's options, synced transactions of -ledger.rawtxn 1 KiB values with
// their keys (and, in the second case, a 32-byte-keyed index entry each,
// as the ledger writes), one transaction at a time.
func BenchmarkBadgerRaw(b *testing.B) {
	for _, withIndex := range []bool{false, true} {
		name := "values"
		if withIndex {
			name = "values+index"
		}
		b.Run(name, func(b *testing.B) {
			l := openTest(b, b.TempDir(), nil)
			defer l.Close()
			v := make([]byte, 1024)
			per := *benchRawTxn
			start := time.Now()
			n := 0
			for b.Loop() {
				txn := l.db.NewTransaction(true)
				for range per {
					k := payloadKey(uint64(1<<40 + n))
					txn.Set(k, v)
					if withIndex {
						h := sha256.Sum256(k)
						txn.Set(leafKey(h), k[1:])
					}
					n++
				}
				if err := txn.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
		})
	}
}

// BenchmarkEntry measures single-entry reads by index (Entry, what the
// REST and gRPC entry lookups use) at random over 100,000 entries of
// 1 KiB, on both cores.
func BenchmarkEntry(b *testing.B) {
	l := openTest(b, b.TempDir(), nil)
	defer l.Close()
	fillLog(b, l, 100000, 1024)
	ctx := context.Background()
	size := l.Size()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := uint64(0)
		for pb.Next() {
			i = (i + 7919) % size
			e, err := l.Entry(ctx, i)
			if err != nil || len(e.Payload) != 1024 {
				b.Errorf("Entry(%d) = %d bytes, %v", i, len(e.Payload), err)
				return
			}
		}
	})
}
