// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/record"
)

// maxVerifyBatch bounds the signatures verified in one batch.
const maxVerifyBatch = 64

// verifyWindow is how long the gatherer waits for more statements to fill
// a batch, when they arrive fast enough that it fills to minWorthBatch in
// that time. At 5,000 appends/s over 32 streams batches otherwise hold 1.2
// signatures (each stream sends a few at a time); with the wait the whole
// server took 1.30–1.42 cores instead of 1.43–1.49 (docs/BENCHMARKS.md).
// A lone caller never waits.
const verifyWindow = 2 * time.Millisecond

// minWorthBatch is the smallest batch worth waiting for: from four
// signatures on, a batch costs less than checking them one by one
// (record.BatchVerifier).
const minWorthBatch = 4

// verifyQueue bounds the signatures waiting for a verifier; beyond it
// callers wait to queue theirs.
const verifyQueue = 4096

// errVerifierClosed is returned for signatures the verifier was closed
// before checking; the server is shutting down (Unavailable).
var errVerifierClosed = fmt.Errorf("server shutting down: %w", ledger.ErrClosed)

// verifier checks the signatures of all the server's callers together: one
// goroutine gathers the statements waiting, from any stream or unary call,
// into batches, and a worker per CPU checks each batch as one
// (record.BatchVerifier, which accepts exactly what record.VerifySignature
// accepts). A batch costs about half as much CPU per signature as single
// checks (a batch of 8, 60%; go test ./registry/ -bench BatchVerify). When
// statements arrive fast enough to fill a batch worth it within
// verifyWindow, the gatherer waits that long for them; otherwise (a lone
// caller) the batch goes at once.
type verifier struct {
	origin  string
	jobs    chan *sigJob
	quit    chan struct{}
	closing sync.Once
	wg      sync.WaitGroup
}

// sigJob is one statement to check, part of a call.
type sigJob struct {
	key  ed25519.PublicKey
	ss   *akashiv1.SignedStatement
	err  error
	call *sigCall
}

// sigCall is one caller's statements; done is closed when all are checked.
type sigCall struct {
	left atomic.Int64
	done chan struct{}
}

func newVerifier(origin string, workers int) *verifier {
	v := &verifier{origin: origin, jobs: make(chan *sigJob, verifyQueue), quit: make(chan struct{})}
	batches := make(chan []*sigJob, workers)
	v.wg.Add(1 + workers)
	go v.gather(batches)
	for range workers {
		go v.check(batches)
	}
	return v
}

// close stops the workers and waits for them. Calls waiting for their
// signatures then fail with errVerifierClosed.
func (v *verifier) close() {
	v.closing.Do(func() { close(v.quit) })
	v.wg.Wait()
}

// gather forms batches from the statements waiting, for the checkers: one
// goroutine, so that statements arriving during a wait go to one batch
// instead of being split between workers.
func (v *verifier) gather(batches chan<- []*sigJob) {
	defer v.wg.Done()
	defer close(batches)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var rate arrivalRate
	var gathered int64 // statements in the batches formed so far
	for {
		batch := make([]*sigJob, 0, maxVerifyBatch)
		select {
		case j := <-v.jobs:
			batch = append(batch, j)
		case <-v.quit:
			return
		}
		// Busy enough that waiting a little fills a batch: wait for it.
		if rate.perSecond(gathered)*verifyWindow.Seconds() >= minWorthBatch {
			timer.Reset(verifyWindow)
		wait:
			for len(batch) < maxVerifyBatch {
				select {
				case j := <-v.jobs:
					batch = append(batch, j)
				case <-timer.C:
					break wait
				case <-v.quit:
					return
				}
			}
			timer.Stop()
		}
	more:
		for len(batch) < maxVerifyBatch {
			select {
			case j := <-v.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		gathered += int64(len(batch))
		select {
		case batches <- batch:
		case <-v.quit:
			return
		}
	}
}

// check verifies batches and answers their jobs.
func (v *verifier) check(batches <-chan []*sigJob) {
	defer v.wg.Done()
	for batch := range batches {
		bv := record.NewBatchVerifier(v.origin)
		for _, j := range batch {
			bv.Add(j.key, j.ss)
		}
		for i, err := range bv.Verify() {
			j := batch[i]
			j.err = err
			if j.call.left.Add(-1) == 0 {
				close(j.call.done)
			}
		}
	}
}

// arrivalRate estimates how many statements per second arrive, from a
// counter sampled at most every rateSample.
type arrivalRate struct {
	at    time.Time
	count int64
	rate  float64
}

const rateSample = 50 * time.Millisecond

func (r *arrivalRate) perSecond(count int64) float64 {
	now := time.Now()
	if d := now.Sub(r.at); d >= rateSample {
		if !r.at.IsZero() {
			r.rate = float64(count-r.count) / d.Seconds()
		}
		r.at, r.count = now, count
	}
	return r.rate
}

// verify checks the signature of every job, setting each job's err, and
// returns when all are checked. It returns ctx's error if ctx ends first,
// or errVerifierClosed; the jobs' errors are then not to be read.
func (v *verifier) verify(ctx context.Context, jobs []*sigJob) error {
	if len(jobs) == 0 {
		return nil
	}
	call := &sigCall{done: make(chan struct{})}
	call.left.Store(int64(len(jobs)))
	for _, j := range jobs {
		j.call = call
		select {
		case v.jobs <- j:
		case <-ctx.Done():
			return ctx.Err()
		case <-v.quit:
			return errVerifierClosed
		}
	}
	select {
	case <-call.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-v.quit:
		return errVerifierClosed
	}
}
