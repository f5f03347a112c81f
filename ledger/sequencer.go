// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// Group commit.
//
// Append queues a request and waits. The sequencer goroutine takes requests
// from the queue in order and adds each to the open batch as it arrives:
// it assigns the index, encodes the header, hashes the leaf and the chain,
// extends the tree and the entry bundle, and stages the writes in the
// batch's Badger transaction. When the committer is free it seals the open
// batch (tiles, bundles, signed checkpoint, state) and hands it over; the
// committer commits the transaction with a synced write and only then
// publishes the new tree head and answers the batch's callers. So while one
// batch is being made durable the next one is being formed and hashed, and
// batch size follows the load: a lone caller pays one fsync per append,
// many callers share them.
//
// If a commit fails, nothing of the batch is visible; the sequencer fails
// the batch it was forming on top of it too, reloads its state from the
// store, and carries on.

// request is one Append waiting for its batch.
type request struct {
	payload []byte
	arg     any
	digest  verify.Hash
	done    chan struct{} // closed when the fields below are set

	index  uint64
	header []byte
	leaf   verify.Hash
	chain  verify.Hash
	pub    *published
	err    error
}

// batch is a group of requests committed in one transaction.
type batch struct {
	seq    uint64 // numbers the batches a sequencer forms
	reqs   []*request
	writes []write // staged here, not in a badger.Txn: opening one waits for the commit in flight
	cost   int64   // what the writes add to the transaction, by Badger's accounting
	// valueThreshold is Options.ValueThreshold, for set.
	valueThreshold int64
	bytes          int
	pub            *published // the tree head after the batch, set when sealed
	// payloads are the entries' payloads, written as one payload group
	// when the batch is sealed; groupCost is what that group adds to the
	// transaction, included in cost.
	payloads  [][]byte
	groupLen  int64
	groupCost int64
}

type write struct{ key, value []byte }

// set stages a write and counts what it adds to the Badger transaction,
// by Badger's own accounting (it refuses transactions over 15% of the
// memtable): values from the value threshold on go to the value log and
// count as a pointer.
func (b *batch) set(key, value []byte) {
	b.writes = append(b.writes, write{key, value})
	v := int64(len(value))
	if v >= b.valueThreshold {
		v = 12
	}
	b.cost += int64(len(key)) + v + 12
}

// addPayload adds an entry's payload to the batch's payload group and
// counts the group as set would.
func (b *batch) addPayload(p []byte) {
	if len(b.payloads) == 0 {
		b.groupLen = payloadGroupHeader
	}
	b.payloads = append(b.payloads, p)
	b.groupLen += 4 + int64(len(p))
	v := b.groupLen
	if v >= b.valueThreshold {
		v = 12
	}
	b.cost -= b.groupCost
	b.groupCost = 9 + v + 12
	b.cost += b.groupCost
}

// seqState is the sequencer's view of the log, ahead of what is published
// by the batches it is forming and committing.
type seqState struct {
	view    hookView // index keys for the hook
	batches uint64   // batches formed so far
	st      state
	rng     *compact.Range
	bundle  []byte // the partial entry bundle st.Size/256
	dirty   []*fatTile
	bundles map[uint64][]byte // bundles to write with the open batch
}

func (s *seqState) reset(st state, rng *compact.Range, bundle []byte) {
	s.view.close()
	*s = seqState{st: st, rng: rng, bundle: bundle, bundles: map[uint64][]byte{}, batches: s.batches}
	s.view.overlay = map[string]staged{}
}

// Append adds payload to the log and returns its receipt once the batch
// holding it is durable. The payload is copied. If ctx ends first, Append
// returns the context's error, and the payload may or may not be committed.
func (l *Log) Append(ctx context.Context, payload []byte) (*verify.Receipt, error) {
	return l.AppendWith(ctx, payload, nil)
}

// AppendWith is Append with an argument for the Hook, which sees it when
// it sequences the entry. An error from the Hook is returned unchanged.
func (l *Log) AppendWith(ctx context.Context, payload []byte, arg any) (*verify.Receipt, error) {
	p, err := l.Submit(payload, arg)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// Pending is an append admitted to the sequencer's queue.
type Pending struct {
	l *Log
	r *request
}

// Submit admits an append to the sequencer's queue and returns at once.
// Appends are sequenced in the order they are submitted, so a caller that
// submits several and waits for them later keeps their order while their
// commits are shared. It fails fast with ErrPushback when the queue is
// full, and with ErrTooLarge or ErrClosed.
func (l *Log) Submit(payload []byte, arg any) (*Pending, error) {
	return l.submit(payload, arg, true)
}

// submit is Submit; admit says whether Admit's bound on the queueing delay
// applies, or only the queue's capacity and MaxPendingBytes.
func (l *Log) submit(payload []byte, arg any, admit bool) (*Pending, error) {
	if len(payload) == 0 || len(payload) > l.opts.MaxPayloadSize {
		return nil, fmt.Errorf("%w: payload of %d bytes, want 1 to %d", ErrTooLarge, len(payload), l.opts.MaxPayloadSize)
	}
	r := &request{payload: bytes.Clone(payload), arg: arg, digest: verify.PayloadDigest(payload), done: make(chan struct{})}
	if err := l.enqueue(r, admit); err != nil {
		return nil, err
	}
	return &Pending{l: l, r: r}, nil
}

// SubmitWait is Submit for a caller that must keep its appends in order
// and bounds how many it has in flight itself (a stream with its window):
// Admit's bound on the queueing delay, which is for refusing work before
// it is done, does not apply, and while the queue or MaxPendingBytes is
// full it waits for room instead of failing with ErrPushback. Its appends
// wait in the queue, where they make larger batches, rather than outside
// it. It returns ctx's error if ctx ends first.
func (l *Log) SubmitWait(ctx context.Context, payload []byte, arg any) (*Pending, error) {
	// room is nil until the log first pushes back; from then on this
	// caller is counted as a waiter, and takes the channel to wait on
	// before each new try, so that room made in between is not missed.
	var room <-chan struct{}
	defer func() {
		if room != nil {
			l.roomWaiters.Add(-1)
		}
	}()
	for {
		p, err := l.submit(payload, arg, false)
		if !errors.Is(err, ErrPushback) {
			return p, err
		}
		if room == nil {
			l.roomWaiters.Add(1)
		} else {
			select {
			case <-room:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		room = l.roomChan()
	}
}

// roomChan returns the channel that will be closed when an append is
// answered while SubmitWait callers wait.
func (l *Log) roomChan() <-chan struct{} {
	l.roomMu.Lock()
	defer l.roomMu.Unlock()
	if l.room == nil {
		l.room = make(chan struct{})
	}
	return l.room
}

// wakeRoomWaiters wakes the callers of SubmitWait waiting for room.
func (l *Log) wakeRoomWaiters() {
	l.roomMu.Lock()
	defer l.roomMu.Unlock()
	if l.room != nil {
		close(l.room)
		l.room = nil
	}
}

// Wait waits until the append is durable and returns its receipt. If ctx
// ends first, Wait returns the context's error, and the entry may or may
// not be committed.
func (p *Pending) Wait(ctx context.Context) (*verify.Receipt, error) {
	r := p.r
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("append abandoned, it may still be committed: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	proof, err := p.l.tree.inclusion(r.index, r.pub.Size)
	if err != nil {
		return nil, fmt.Errorf("entry %d is committed, but its inclusion proof failed: %w", r.index, err)
	}
	return &verify.Receipt{
		Index:      r.index,
		Header:     r.header,
		LeafHash:   r.leaf,
		ChainHash:  r.chain,
		Checkpoint: r.pub.checkpoint,
		Proof:      proof,
	}, nil
}

// enqueue admits a request to the sequencer's queue or pushes back.
func (l *Log) enqueue(r *request, admit bool) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if admit {
		if err := l.Admit(); err != nil {
			return err
		}
	}
	n := int64(len(r.payload))
	if l.pendingBytes.Add(n) > int64(l.opts.MaxPendingBytes) {
		l.pendingBytes.Add(-n)
		return fmt.Errorf("%w: %d payload bytes pending", ErrPushback, l.opts.MaxPendingBytes)
	}
	select {
	case l.queue <- r:
		l.pending.Add(1)
		return nil
	default:
		l.pendingBytes.Add(-n)
		return fmt.Errorf("%w: %d appends pending", ErrPushback, l.opts.MaxPending)
	}
}

// maxIndexCost and maxIndexCount bound what one entry's index keys (from
// the Hook) add to a transaction; the sequencer keeps this much room in
// every batch. A Hook that writes more may see its batches fail.
const (
	maxIndexCost  = 64 << 10
	maxIndexCount = 256
)

// Admit reports, cheaply, whether an append would be admitted now: it
// returns ErrPushback when the appends already waiting would take longer
// than MaxQueueDelay to commit at the rate the log has been committing.
// Submit checks it too; callers that do costly work before submitting (a
// signature check) call it first, so that an overloaded log refuses work
// before it is done.
func (l *Log) Admit() error {
	limit := max(int64(l.opts.MinQueue), int64(float64(l.rate.Load())*l.opts.MaxQueueDelay.Seconds()))
	if n := l.pending.Load(); n >= limit {
		return fmt.Errorf("%w: %d appends waiting, %.0f ms of work at %d entries/s", ErrPushback, n, 1000*float64(n)/float64(max(1, l.rate.Load())), l.rate.Load())
	}
	return nil
}

// measureRate updates the commit rate after a batch of n entries.
func (l *Log) measureRate(n int) {
	now := time.Now()
	l.rateCount += int64(n)
	if el := now.Sub(l.rateSince); el >= 250*time.Millisecond {
		inst := int64(float64(l.rateCount) / el.Seconds())
		old := l.rate.Load()
		if old == 0 {
			old = inst
		}
		l.rate.Store((old*3 + inst) / 4)
		l.rateSince, l.rateCount = now, 0
	}
}

// finish answers a request.
func (l *Log) finish(r *request, err error) {
	l.pending.Add(-1)
	r.err = err
	l.pendingBytes.Add(-int64(len(r.payload)))
	r.payload = nil
	close(r.done)
	if l.roomWaiters.Load() > 0 {
		l.wakeRoomWaiters()
	}
}

// sequence is the sequencer goroutine.
//
// A batch is sealed when the committer is free. Before sealing, the
// sequencer takes in every append waiting in the queue and, as long as
// more keep arriving (the callers answered by the last commit coming back)
// and for at most MaxBatchDelay, keeps gathering them, yielding the
// processor so that they can. So a lone caller is not kept waiting, and a
// crowd of callers is gathered into one batch instead of splitting into
// cohorts that each pay for an fsync. (Timers are too coarse for this on
// many machines: the wait is a loop of yields, not a sleep.) With a
// BatchInterval, a batch of two or more then stays open, taking in what
// arrives, until that long after the previous seal.
func (l *Log) sequence() {
	defer l.wg.Done()
	defer close(l.commitCh)
	var (
		open    *batch
		held    *request // did not fit the open batch
		idle    = true   // the committer is free
		broken  bool     // a batch failed; reload the state once the committer is idle
		lastErr error    // why the state could not be reloaded
		retry   time.Time
		// committedSeq is the sequence number of the batch in the
		// committer, and so of the last committed one once it is idle.
		committedSeq uint64
	)
	defer l.seq.view.close()
	if l.opts.Hook != nil {
		l.seq.view.refresh(l.db, 0)
	}
	fail := func(err error) {
		l.abort(open, err)
		open, broken = nil, true
	}
	// A batch is full at MaxBatchSize entries, or when one more entry and
	// the seal might not fit Badger's transaction limit.
	txnRoom := l.db.MaxBatchSize() - sealReserve(l.opts) - int64(l.opts.MaxPayloadSize) - maxIndexCost
	countRoom := l.db.MaxBatchCount() - sealCount(l.opts) - maxIndexCount
	full := func() bool {
		return open != nil && (held != nil || len(open.reqs) >= l.opts.MaxBatchSize || open.cost >= txnRoom || int64(len(open.writes)) >= countRoom)
	}
	add := func(r *request) {
		if open == nil {
			l.seq.batches++
			open = &batch{seq: l.seq.batches, valueThreshold: l.opts.ValueThreshold}
		}
		if len(open.reqs) > 0 && open.bytes+len(r.payload) > l.opts.MaxBatchBytes {
			held = r
			return
		}
		refused, err := l.add(open, r)
		if refused != nil {
			l.finish(r, refused)
		}
		if err != nil {
			l.finish(r, err)
			fail(err)
		}
	}
	// drain takes in the appends waiting in the queue; it reports how many.
	drain := func() int {
		n := 0
		for !full() {
			select {
			case r := <-l.queue:
				add(r)
				n++
			default:
				return n
			}
		}
		return n
	}
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lastSeal time.Time // when the previous batch was sealed
	gather := func() {
		deadline := time.Now().Add(l.opts.MaxBatchDelay)
		for drain() > 0 || l.opts.MaxBatchDelay > 0 && yieldThenDrain(drain) {
			if full() || open == nil || !time.Now().Before(deadline) {
				return
			}
		}
		// With a BatchInterval, a batch of several appends stays open
		// until that long after the previous seal; a lone caller is not
		// kept waiting.
		if l.opts.BatchInterval <= 0 || open == nil || full() || len(open.reqs) < 2 {
			return
		}
		wait := time.Until(lastSeal.Add(l.opts.BatchInterval))
		if wait <= 0 {
			return
		}
		linger.Reset(wait)
		defer linger.Stop()
		for open != nil && !full() {
			select {
			case r := <-l.queue:
				add(r)
			case <-linger.C:
				return
			case <-l.closing:
				return
			}
		}
	}
	for {
		if broken && idle && time.Now().After(retry) {
			if lastErr = l.reload(); lastErr == nil {
				broken = false
				if l.opts.Hook != nil {
					l.seq.view.refresh(l.db, committedSeq)
				}
			} else {
				retry = time.Now().Add(time.Second)
			}
		}
		if open != nil && idle {
			gather()
			lastSeal = time.Now()
			if open == nil { // an add failed
				continue
			}
			if err := l.seal(open); err != nil {
				fail(err)
				continue
			}
			l.commitCh <- open
			committedSeq = open.seq
			open, idle = nil, false
			if held != nil {
				r := held
				held = nil
				add(r)
			}
			continue
		}
		var queue chan *request
		if !full() && (!broken || idle) {
			queue = l.queue
		}
		select {
		case r := <-queue:
			if broken {
				// The store could not be read back: refuse until it can.
				l.finish(r, fmt.Errorf("%w: the log cannot reload its state: %w", ErrStorage, lastErr))
				continue
			}
			add(r)
		case err := <-l.committed:
			idle = true
			if err != nil {
				// The batch being formed was built on the failed one.
				fail(err)
			} else if l.opts.Hook != nil {
				l.seq.view.refresh(l.db, committedSeq)
			}
		case <-l.closing:
			l.drain(open, held, idle, broken)
			return
		}
	}
}

// yieldThenDrain lets other goroutines run, then drains; it reports
// whether anything arrived.
func yieldThenDrain(drain func() int) bool {
	runtime.Gosched()
	return drain() > 0
}

// drain commits the open batch at Close and fails everything still queued.
func (l *Log) drain(open *batch, held *request, idle, broken bool) {
	if !idle {
		if err := <-l.committed; err != nil {
			broken = true
		}
	}
	if open != nil {
		if broken {
			l.abort(open, ErrClosed)
		} else if err := l.seal(open); err != nil {
			l.abort(open, err)
		} else {
			l.commitCh <- open
			<-l.committed
		}
	}
	if held != nil {
		l.finish(held, ErrClosed)
	}
	for {
		select {
		case r := <-l.queue:
			l.finish(r, ErrClosed)
		default:
			return
		}
	}
}

// abort fails every request of a batch that will not be committed. The
// sequencer's state is then stale and must be reloaded.
func (l *Log) abort(b *batch, err error) {
	if b == nil {
		return
	}
	for _, r := range b.reqs {
		l.finish(r, err)
	}
}

// reload restores the sequencer's state from the store after a failure.
// The committer must be idle.
func (l *Log) reload() error {
	err := l.recover(context.Background())
	if err != nil {
		l.log.Error("ledger: reloading state after a failed batch", "err", err)
	}
	return err
}

// add stages one request in the open batch. It returns refused when the
// Hook refuses the request (the batch is unharmed), and err when the batch
// cannot go on.
func (l *Log) add(b *batch, r *request) (refused, err error) {
	s := &l.seq
	i := s.st.Size
	var index []KV
	if l.opts.Hook != nil {
		if s.view.snap == nil {
			return nil, fmt.Errorf("%w: no snapshot of the index", ErrStorage)
		}
		if index, err = l.opts.Hook.Sequence(&s.view, i, r.payload, r.arg); err != nil {
			return err, nil
		}
	}
	now := l.opts.Now().UnixNano()
	now = max(now, s.st.LastTime, 0)
	h := verify.Header{Index: i, Time: now, PayloadDigest: r.digest, PrevChain: s.st.ChainHead}
	enc := h.Marshal()
	leaf := verify.LeafHash(enc)
	b.addPayload(r.payload)
	b.set(leafKey(leaf), binary.BigEndian.AppendUint64(nil, i))
	for _, kv := range index {
		b.set(indexKeyOf(kv.Key), kv.Value)
		s.view.overlay[string(kv.Key)] = staged{value: kv.Value, batch: b.seq}
	}
	var putErr error
	err = s.rng.Append(leaf[:], func(id compact.NodeID, hash []byte) {
		if putErr != nil {
			return
		}
		t, err := l.tree.put(id.Level, id.Index, verify.Hash(hash))
		if err != nil {
			putErr = err
			return
		}
		if !t.dirty {
			t.dirty = true
			s.dirty = append(s.dirty, t)
		}
	})
	if err = cmpErr(err, putErr); err != nil {
		return nil, err
	}
	s.bundle = verify.AppendBundleEntry(s.bundle, enc)
	if i%verify.TileWidth == verify.TileWidth-1 {
		s.bundles[i/verify.TileWidth] = s.bundle
		s.bundle = nil
	}
	s.st.Size++
	s.st.ChainHead = verify.ChainHash(h.PrevChain, leaf)
	s.st.LastTime = now
	r.index, r.header, r.leaf, r.chain = i, enc, leaf, s.st.ChainHead
	b.reqs = append(b.reqs, r)
	b.bytes += len(r.payload)
	return nil, nil
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("ledger: extending the tree: %w", err)
		}
	}
	return nil
}

// seal stages the batch's tiles, bundles, checkpoint and state.
func (l *Log) seal(b *batch) error {
	s := &l.seq
	if len(b.payloads) > 0 {
		// Counted in b.cost as the payloads were added.
		b.writes = append(b.writes, write{payloadKey(s.st.Size - 1), encodePayloadGroup(b.payloads)})
	}
	for _, t := range s.dirty {
		t.dirty = false
		b.set(tileKey(t.level, t.index), t.data())
	}
	s.dirty = s.dirty[:0]
	if len(s.bundle) > 0 {
		s.bundles[s.st.Size/verify.TileWidth] = bytes.Clone(s.bundle)
	}
	for n, data := range s.bundles {
		b.set(bundleKey(n), data)
	}
	clear(s.bundles)
	root, err := verify.RootFromRange(s.rng)
	if err != nil {
		return err
	}
	s.st.Root = root
	signed, err := verify.SignCheckpoint(verify.Checkpoint{Origin: l.opts.Origin, Size: s.st.Size, Root: root}, l.opts.Signer)
	if err != nil {
		return err
	}
	b.set(checkpointKey(s.st.Size), signed)
	b.set(stateKey, encodeState(s.st))
	b.pub = &published{state: s.st, checkpoint: signed}
	return nil
}

// write commits a batch's writes in one transaction with a synced write.
func (l *Log) write(b *batch) error {
	if err := l.checkSpace(b); err != nil {
		return err
	}
	txn := l.db.NewTransaction(true)
	defer txn.Discard()
	for _, w := range b.writes {
		if err := txn.Set(w.key, w.value); err != nil {
			return err
		}
	}
	if f := l.fault.Load(); f != nil {
		if err := (*f)(); err != nil {
			return err
		}
	}
	return txn.Commit()
}

// checkSpace refuses a batch that would leave less than MinFreeSpace free
// on the store's disk.
func (l *Log) checkSpace(b *batch) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(l.dir, &st); err != nil {
		return nil // cannot tell; let the write decide
	}
	need := l.opts.MinFreeSpace
	for _, w := range b.writes {
		need += int64(len(w.key) + len(w.value))
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < need {
		return fmt.Errorf("disk space low: %d bytes free in %s, a batch needs %d with the reserve of %d", free, l.dir, need, l.opts.MinFreeSpace)
	}
	return nil
}

// commit is the committer goroutine: it makes each sealed batch durable,
// publishes its tree head and answers its callers.
func (l *Log) commit() {
	defer l.wg.Done()
	for b := range l.commitCh {
		start := time.Now()
		err := l.write(b)
		if err == nil {
			l.measureRate(len(b.reqs))
			if l.opts.OnCommit != nil {
				l.opts.OnCommit(len(b.reqs), b.bytes, time.Since(start))
			}
		}
		if err != nil {
			err = fmt.Errorf("%w: committing entries %d to %d: %w", ErrStorage, b.reqs[0].index, b.pub.Size-1, err)
			l.log.Error("ledger: batch failed", "err", err)
			for _, r := range b.reqs {
				l.finish(r, err)
			}
		} else {
			l.pub.Store(b.pub)
			l.published()
			for _, r := range b.reqs {
				r.pub = b.pub
				l.finish(r, nil)
			}
		}
		l.committed <- err
	}
}
