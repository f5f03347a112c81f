// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSampler records the peak anonymous and file-backed resident memory
// of the process while it runs.
type memSampler struct {
	stop               chan struct{}
	wg                 sync.WaitGroup
	peakAnon, peakFile float64
	peakHeap           float64
}

func startMemSampler() *memSampler {
	m := &memSampler{stop: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			a, f := rssParts()
			m.peakAnon, m.peakFile = max(m.peakAnon, a), max(m.peakFile, f)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m.peakHeap = max(m.peakHeap, float64(ms.HeapInuse)/(1<<20))
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) done() (anonMiB, fileMiB float64) {
	close(m.stop)
	m.wg.Wait()
	return m.peakAnon, m.peakFile
}

// rssParts reads RssAnon and RssFile (MiB) from /proc/self/status.
func rssParts() (anon, file float64) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			anon = kb / 1024
		case "RssFile:":
			file = kb / 1024
		}
	}
	return anon, file
}
