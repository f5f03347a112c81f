// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// Defaults of [BulkOptions].
const (
	// DefaultWindow is the most statements of a bulk append sent and not
	// yet answered.
	DefaultWindow = 512
	// DefaultRound is the most statements signed and held pending at once.
	DefaultRound = 4096
)

// BulkOptions configure [Signer.AppendAll].
type BulkOptions struct {
	// Window bounds the statements in flight on the stream; DefaultWindow
	// when zero.
	Window int
	// Round bounds the statements signed ahead and kept in the state file
	// until acknowledged; DefaultRound when zero.
	Round int
	// Workers bounds the goroutines that sign statements and verify
	// receipts; GOMAXPROCS when zero.
	Workers int
	// OnResult, if set, is called once for each record as soon as its
	// outcome is final (in no particular order, from one goroutine at a
	// time), for progress reports.
	OnResult func(i int, r Result)
}

// Result is the outcome of one record of a bulk append: a verified
// receipt, or why the record is not in the log.
type Result struct {
	Receipt *Receipt
	// Err is a validation error (record.Errors), a *RefusedError, or
	// ErrUnknownOutcome.
	Err error
}

// AppendAll appends records over one AppendRecords stream: it validates
// them all first (invalid ones are reported and never sent), signs them in
// order, keeps up to Window in flight, and verifies every receipt on
// Workers goroutines. It returns one Result per record, in order. A
// record the log refuses (an unknown reference, an id already used) is
// reported, and the statements after it, which the log then refuses for
// the gap in the key's sequence, are signed again and resent. The error is
// non-nil only when the signer could not go on (the log is unreachable,
// the state file cannot be written, the context ended); results gathered
// until then are returned with it.
func (s *Signer) AppendAll(ctx context.Context, records []*akashiv1.Record, opts BulkOptions) ([]Result, error) {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Round <= 0 {
		opts.Round = DefaultRound
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	results := make([]Result, len(records))
	done := func(i int, r Result) {
		results[i] = r
		if opts.OnResult != nil {
			opts.OnResult(i, r)
		}
	}
	var todo []int
	for i, r := range records {
		if err := record.ValidateRecord(r); err != nil {
			done(i, Result{Err: err})
			continue
		}
		todo = append(todo, i)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(ctx); err != nil {
		return results, err
	}
	tries := map[int]int{}
	wait := s.opts.RetryBackoff
	for len(todo) > 0 {
		n := min(len(todo), opts.Round)
		round, rest := todo[:n], todo[n:]
		retry, backoff, err := s.round(ctx, records, round, opts, done)
		if err != nil {
			return results, err
		}
		var again []int
		for _, i := range retry {
			if tries[i]++; tries[i] > s.opts.MaxRetries+1 {
				done(i, Result{Err: fmt.Errorf("%w: record %d could not be appended after %d tries", ErrUnknownOutcome, i, tries[i])})
				continue
			}
			again = append(again, i)
		}
		if backoff && len(again) > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return results, ctx.Err()
			}
			wait = min(2*wait, MaxRetryBackoff)
		}
		todo = append(again, rest...)
	}
	return results, nil
}

// bulkItem is one signed statement of a round.
type bulkItem struct {
	i       int // the record's position
	ss      *akashiv1.SignedStatement
	payload []byte
	seq     uint64

	rcpt *Receipt
	err  error
	done bool // answered
}

// round signs the records at idx, sends them over one stream and settles
// each: done, or to retry (returned in order). backoff reports a refusal
// that asks to slow down.
func (s *Signer) round(ctx context.Context, records []*akashiv1.Record, idx []int, opts BulkOptions, done func(int, Result)) (retry []int, backoff bool, err error) {
	items, err := s.signRound(records, idx, opts.Workers)
	if err != nil {
		return nil, false, err
	}
	before := s.st
	last := items[len(items)-1]
	h := record.StatementHash(last.ss.GetStatement())
	s.st.Sequence, s.st.Previous = last.seq, h[:]
	s.st.Pending = make([][]byte, len(items))
	for k, it := range items {
		s.st.Pending[k] = it.payload
	}
	if err := s.saveLocked(); err != nil {
		s.st = before
		return nil, false, err
	}
	streamErr := s.stream(ctx, items, opts)

	// Settle, in order. After the first refusal the log refuses what
	// follows for the gap in the sequence: those are signed again.
	refused := false
	var unknown []*bulkItem
	var resolved bool // a record was found in the log already
	for _, it := range items {
		var re *RefusedError
		switch {
		case !it.done:
			unknown = append(unknown, it)
		case it.err == nil:
			s.acknowledge(it.seq, it.rcpt)
			done(it.i, Result{Receipt: it.rcpt})
		case errors.As(it.err, &re) && re.definite():
			first := !refused
			refused = true
			switch {
			case isChainRefusal(re):
				retry = append(retry, it.i)
			case first && isRecordConflict(re):
				rcpt, found, lerr := s.existing(ctx, records[it.i])
				switch {
				case lerr != nil:
					return nil, false, lerr
				case found:
					resolved = true
					done(it.i, Result{Receipt: rcpt})
				default:
					done(it.i, Result{Err: it.err})
				}
			default:
				done(it.i, Result{Err: it.err})
			}
		default: // pushed back (rate limit, overload): not logged
			refused, backoff = true, true
			retry = append(retry, it.i)
		}
	}
	if len(unknown) > 0 {
		// The stream broke: resubmit the unanswered statements' exact
		// bytes, one at a time, until one is refused or unanswerable.
		s.st.Pending = nil
		for _, it := range unknown {
			s.st.Pending = append(s.st.Pending, it.payload)
		}
		for len(s.st.Pending) > 0 && !refused {
			it := unknown[len(unknown)-len(s.st.Pending)]
			rcpt, err := s.submit(ctx, it.ss, it.payload, false)
			var re *RefusedError
			switch {
			case err == nil:
				s.acknowledge(it.seq, rcpt)
				done(it.i, Result{Receipt: rcpt})
				s.st.Pending = s.st.Pending[1:]
			case errors.As(err, &re) && re.definite():
				refused = true
				for _, u := range unknown[len(unknown)-len(s.st.Pending):] {
					retry = append(retry, u.i)
				}
				s.st.Pending = nil
			default:
				if serr := s.saveLocked(); serr != nil {
					return nil, false, errors.Join(err, serr)
				}
				return nil, false, fmt.Errorf("%w: %w (stream: %v)", ErrUnknownOutcome, err, streamErr)
			}
		}
	}
	s.st.Pending = nil
	if refused {
		if err := s.resyncLocked(ctx); err != nil {
			return nil, false, err
		}
	} else if err := s.saveLocked(); err != nil {
		return nil, false, err
	}
	if resolved && len(retry) > 0 {
		// A record was in the log already (a resumed import, say): look
		// the others up before signing them again, rather than finding
		// them one refusal at a time.
		retry, err = s.probe(ctx, records, retry, opts.Workers, done)
		if err != nil {
			return nil, false, err
		}
	}
	return retry, backoff, nil
}

// signRound signs the statements of a round: their bytes in order, each
// linked to the one before, and their signatures in parallel.
func (s *Signer) signRound(records []*akashiv1.Record, idx []int, workers int) ([]*bulkItem, error) {
	items := make([]*bulkItem, len(idx))
	seq, prev := s.st.Sequence, s.st.Previous
	for k, i := range idx {
		seq++
		st := &akashiv1.Statement{Sequence: seq, Previous: prev, Body: &akashiv1.Statement_Record{Record: records[i]}}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("encoding record %d: %w", i, err)
		}
		h := record.StatementHash(b)
		prev = h[:]
		items[k] = &bulkItem{i: i, seq: seq, ss: &akashiv1.SignedStatement{Statement: b}}
	}
	var g errgroup.Group
	g.SetLimit(workers)
	per := (len(items) + workers - 1) / workers
	for lo := 0; lo < len(items); lo += per {
		part := items[lo:min(lo+per, len(items))]
		g.Go(func() error {
			for _, it := range part {
				it.ss = record.SignBytes(s.key, s.c.origin, it.ss.GetStatement())
				var err error
				if it.payload, err = marshalSigned(it.ss); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return items, g.Wait()
}

// stream sends items over one AppendRecords stream, with at most
// opts.Window unanswered, and verifies the receipts on opts.Workers
// goroutines. It returns the stream's error, if it broke; items without an
// answer are left not done.
func (s *Signer) stream(ctx context.Context, items []*bulkItem, opts BulkOptions) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.c.ledger.AppendRecords(sctx)
	if err != nil {
		return wrapStatus(err)
	}
	window := make(chan struct{}, opts.Window)
	sendErr := make(chan error, 1)
	go func() {
		defer close(sendErr)
		for _, it := range items {
			select {
			case window <- struct{}{}:
			case <-sctx.Done():
				return
			}
			if err := st.Send(&akashiv1.AppendRecordsRequest{Statement: it.ss}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- st.CloseSend()
	}()
	type answer struct {
		it   *bulkItem
		resp *akashiv1.AppendRecordsResponse
	}
	answers := make(chan answer, opts.Window)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range answers {
				if a.resp.GetErrorCode() != 0 {
					a.it.err = &RefusedError{Code: codes.Code(a.resp.GetErrorCode()), Message: a.resp.GetErrorMessage()}
				} else if a.it.rcpt, a.it.err = s.c.receiptFromProto(a.resp.GetReceipt(), a.it.payload, s.pub); a.it.rcpt != nil {
					a.it.rcpt.Duplicate = a.resp.GetDuplicate()
				}
				a.it.done = true
			}
		}()
	}
	var recvErr error
	for n := 0; n < len(items); n++ {
		resp, err := st.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				recvErr = wrapStatus(err)
			} else {
				recvErr = io.ErrUnexpectedEOF
			}
			break
		}
		pos := resp.GetPosition()
		if pos != uint64(n) {
			recvErr = fmt.Errorf("%w: the stream answered position %d, want %d", ErrVerification, pos, n)
			break
		}
		<-window
		answers <- answer{items[n], resp}
	}
	close(answers)
	wg.Wait()
	cancel()
	if err := <-sendErr; recvErr == nil && err != nil && !errors.Is(err, io.EOF) {
		recvErr = err
	}
	return recvErr
}

// probe looks up the records at idx in the log: those it holds, identical,
// are done with their entries' receipts; those it holds with other content
// are refused; the rest are returned, in order, to be signed.
func (s *Signer) probe(ctx context.Context, records []*akashiv1.Record, idx []int, workers int, done func(int, Result)) ([]int, error) {
	type found struct {
		rcpt *Receipt
		err  error
		in   bool
	}
	out := make([]found, len(idx))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers * 4)
	for k, i := range idx {
		g.Go(func() error {
			r := records[i]
			e, err := s.c.Record(gctx, r.GetPublisher().GetId(), r.GetId())
			var re *RefusedError
			switch {
			case errors.As(err, &re) && re.Code == codes.NotFound:
				return nil
			case err != nil:
				return err
			case proto.Equal(e.Statement.GetRecord(), r):
				rc := e.Receipt(s.c.origin)
				rc.Existing = true
				out[k] = found{rcpt: rc, in: true}
			default:
				out[k] = found{in: true, err: &RefusedError{Code: codes.AlreadyExists, Message: fmt.Sprintf(
					"record.id: publisher %s already published %q at index %d with different content", r.GetPublisher().GetId(), r.GetId(), e.Index)}}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var rest []int
	for k, i := range idx {
		switch {
		case !out[k].in:
			rest = append(rest, i)
		case out[k].err != nil:
			done(i, Result{Err: out[k].err})
		default:
			done(i, Result{Receipt: out[k].rcpt})
		}
	}
	return rest, nil
}
