// SPDX-License-Identifier: Apache-2.0

package query

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/ledger"
)

// Defaults of FollowerOptions.
const (
	// DefaultChunkEntries bounds the entries the follower indexes in one
	// transaction.
	DefaultChunkEntries = 8192
	// DefaultGather is how long the follower lets new entries gather when
	// fewer than a quarter of a chunk have arrived: the index lags the log
	// by about that much, and indexes the entries of many of its batches
	// at once.
	DefaultGather = 100 * time.Millisecond
	// maxCachedTerms bounds the term heads the follower keeps in memory;
	// others are read back from the store.
	maxCachedTerms = 1 << 17
	// maxProbe bounds the sizes below a chunk's end searched for a
	// checkpoint.
	maxProbe = 4096
)

// FollowLog is the log a Follower indexes. *ledger.Log implements it.
type FollowLog interface {
	Store
	Size() uint64
	WaitSize(ctx context.Context, size uint64) (uint64, error)
	Entries(ctx context.Context, start, end uint64, f func(ledger.Entry) error) error
	CheckpointAt(ctx context.Context, size uint64) ([]byte, error)
	UpdateIndex(ctx context.Context, f func(ledger.IndexTxn) error) error
	MaxIndexTxnBytes() int64
	MaxIndexTxnCount() int64
}

// RecordIndex finds records by id: the server's record index, which the
// sequencer keeps in step with the log.
type RecordIndex interface {
	// Record returns the log index and process of a record.
	Record(publisher, id string) (index uint64, process string, ok bool, err error)
}

// FollowerOptions configure a Follower.
type FollowerOptions struct {
	// Records finds the records that amendments amend; required.
	Records RecordIndex
	// ChunkEntries bounds the entries indexed in one transaction;
	// DefaultChunkEntries when zero.
	ChunkEntries int
	// Gather is how long new entries may gather before they are indexed;
	// DefaultGather when zero, no wait when negative.
	Gather time.Duration
	// Workers is the number of goroutines decoding records;
	// runtime.GOMAXPROCS(0) when zero.
	Workers int
	// Logger receives the follower's errors; slog.Default when nil.
	Logger *slog.Logger
}

// Follower keeps the journalists' indexes of a log: a goroutine that
// follows the log after the fact, reads the entries it has not indexed in
// chunks, inverts each chunk in memory and writes its postings, fact rows
// and the watermark (the tree size the index reflects) in one transaction
// (ledger.Log.UpdateIndex), so that the index is whole after a crash and
// resumes from its watermark. Chunks end at sizes the log published a
// checkpoint for, so that queries can state the checkpoint they answer
// for. StartFollower starts it; Close stops it.
type Follower struct {
	log  FollowLog
	opts FollowerOptions
	slog *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	poke   chan struct{}

	mu      sync.Mutex
	mark    watermark
	changed chan struct{} // closed and replaced when mark changes
	closed  bool
	shrinks atomic.Int64 // chunks found too large, for tests

	// The goroutine's own state.
	terms  map[string]*termState
	facts  factWriter
	titles titleCache
	known  map[string]bool // title terms whose tokens are written
	merges map[string]bool // terms that may have merges due
}

// watermark is the index's progress: it holds every posting of the
// entries below size, and queries answer for the tree of answer ≤ size,
// the latest checkpoint it covers.
type watermark struct {
	size, answer uint64
}

const watermarkVersion = 3

var watermarkKey = []byte{prefixQuery, tagWatermark}

func (w watermark) encode() []byte {
	b := []byte{watermarkVersion}
	b = binary.BigEndian.AppendUint64(b, w.size)
	return binary.BigEndian.AppendUint64(b, w.answer)
}

var errOldIndex = errors.New("index of another format")

func decodeWatermark(b []byte) (watermark, error) {
	if len(b) != 17 || b[0] != watermarkVersion {
		return watermark{}, errOldIndex
	}
	w := watermark{size: binary.BigEndian.Uint64(b[1:]), answer: binary.BigEndian.Uint64(b[9:])}
	if w.answer > w.size {
		return watermark{}, fmt.Errorf("%w: index watermark answers for %d beyond its size %d", ledger.ErrCorrupt, w.answer, w.size)
	}
	return w, nil
}

// readWatermark reads the index's watermark; zero if there is none.
func readWatermark(s Store) (watermark, error) {
	b, err := s.IndexGet(watermarkKey)
	if isNotFound(err) {
		return watermark{}, nil
	}
	if err != nil {
		return watermark{}, err
	}
	return decodeWatermark(b)
}

// StartFollower starts indexing l from where its index stands: an index
// of another format, or one ahead of the log, is deleted and rebuilt.
func StartFollower(ctx context.Context, l FollowLog, o FollowerOptions) (*Follower, error) {
	if o.Records == nil {
		return nil, errors.New("query: FollowerOptions.Records is required")
	}
	if o.ChunkEntries <= 0 {
		o.ChunkEntries = DefaultChunkEntries
	}
	if o.Gather == 0 {
		o.Gather = DefaultGather
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	x := &Follower{log: l, opts: o, slog: o.Logger, done: make(chan struct{}), poke: make(chan struct{}, 1), changed: make(chan struct{})}
	x.reset()
	b, err := l.IndexGet(watermarkKey)
	switch {
	case err == nil:
		x.mark, err = decodeWatermark(b)
		if errors.Is(err, errOldIndex) || err == nil && x.mark.size > l.Size() {
			x.slog.Warn("rebuilding the query index", "reason", fmt.Sprintf("%v, or ahead of the log", err))
			x.mark, err = watermark{}, DropIndex(ctx, l)
		}
	case isNotFound(err):
		err = DropIndex(ctx, l) // keys of an index of an older layout
	}
	if err != nil {
		return nil, fmt.Errorf("starting the query index: %w", err)
	}
	ctx, x.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go x.run(ctx)
	return x, nil
}

// IndexStore is what DropIndex needs of the log.
type IndexStore interface {
	Store
	UpdateIndex(ctx context.Context, f func(ledger.IndexTxn) error) error
	MaxIndexTxnCount() int64
}

// DropIndex deletes the whole query index of l, while no Follower runs on
// it; the next StartFollower rebuilds it from the log. After a payload is
// withheld, this is how the terms and the fact row derived from it go.
func DropIndex(ctx context.Context, l IndexStore) error {
	limit := int(l.MaxIndexTxnCount() / 2)
	for {
		var keys [][]byte
		err := l.IndexIterate(ctx, ledger.IndexRange{Prefix: []byte{prefixQuery}}, func(k, _ []byte) (bool, error) {
			keys = append(keys, k)
			return len(keys) < limit, nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		err = l.UpdateIndex(ctx, func(txn ledger.IndexTxn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// Close stops the follower and waits for it. Close it before the log.
func (x *Follower) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return ledger.ErrClosed
	}
	x.closed = true
	x.mu.Unlock()
	x.cancel()
	<-x.done
	return nil
}

// Size returns the tree size the index reflects: it holds every record
// below it.
func (x *Follower) Size() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.mark.size
}

// Wait waits until queries answer for a tree of at least size entries,
// or ctx ends.
func (x *Follower) Wait(ctx context.Context, size uint64) error {
	for {
		x.mu.Lock()
		m, changed, closed := x.mark, x.changed, x.closed
		x.mu.Unlock()
		if m.answer >= size {
			return nil
		}
		if closed {
			return ledger.ErrClosed
		}
		select {
		case x.poke <- struct{}{}:
		default:
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-x.done:
			return ledger.ErrClosed
		}
	}
}

func (x *Follower) setMark(m watermark) {
	x.mu.Lock()
	x.mark = m
	close(x.changed)
	x.changed = make(chan struct{})
	x.mu.Unlock()
}

// reset forgets what the goroutine keeps in memory, after a failed or
// abandoned transaction: it is read back from the store.
func (x *Follower) reset() {
	x.terms = map[string]*termState{}
	x.facts = factWriter{}
	x.known = map[string]bool{}
	x.merges = map[string]bool{}
}

func (x *Follower) run(ctx context.Context) {
	defer close(x.done)
	backoff := 100 * time.Millisecond
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		w := x.mark.size
		target, err := x.log.WaitSize(ctx, w+1)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ledger.ErrClosed) {
				return
			}
			x.slog.Error("query index: waiting for the log", "err", err)
			if !sleep(backoff) {
				return
			}
			continue
		}
		if x.opts.Gather > 0 && target-w < uint64(x.opts.ChunkEntries/4) {
			t := time.NewTimer(x.opts.Gather)
			select {
			case <-t.C:
			case <-x.poke:
			case <-ctx.Done():
				t.Stop()
				return
			}
			t.Stop()
			target = x.log.Size()
		}
		for x.mark.size < target {
			if err := x.step(ctx, target); err != nil {
				if ctx.Err() != nil || errors.Is(err, ledger.ErrClosed) {
					return
				}
				x.slog.Error("query index: indexing failed; retrying", "at", x.mark.size, "err", err)
				x.reset()
				// A commit that failed may have happened all the same.
				if m, err := readWatermark(x.log); err == nil && m != x.mark {
					x.setMark(m)
				}
				if !sleep(backoff) {
					return
				}
				backoff = min(2*backoff, 10*time.Second)
				break
			}
			backoff = 100 * time.Millisecond
		}
	}
}

// step indexes one chunk from the watermark towards target, a published
// size.
func (x *Follower) step(ctx context.Context, target uint64) error {
	start := x.mark.size
	end, isCheckpoint := target, true
	if end-start > uint64(x.opts.ChunkEntries) {
		if end, isCheckpoint, _ = x.boundary(ctx, start, start+uint64(x.opts.ChunkEntries)); !isCheckpoint {
			// No checkpoint near: try the other side, up to the target.
			if e, ok, err := x.boundaryAbove(ctx, end, target); err == nil && ok && e-start <= 2*uint64(x.opts.ChunkEntries) {
				end, isCheckpoint = e, true
			}
		}
	}
	descs, err := x.read(ctx, start, end)
	if err != nil {
		return err
	}
	maxCount, maxBytes := int(x.log.MaxIndexTxnCount()/2), x.log.MaxIndexTxnBytes()/2
	var ws *writeSet
	for {
		ws = newWriteSet(x.log)
		if err := x.build(descs[:end-start], start, ws); err != nil {
			return err
		}
		if ws.count() <= maxCount && ws.bytes <= maxBytes {
			break
		}
		// Too large for one transaction: fewer entries.
		x.shrinks.Add(1)
		x.reset()
		if end-start == 1 {
			return fmt.Errorf("the index keys of entry %d do not fit in a transaction (%d keys, %d bytes)", start, ws.count(), ws.bytes)
		}
		half := start + (end-start)/2
		if end, isCheckpoint, err = x.boundary(ctx, start, half); err != nil {
			return err
		}
	}
	// Merges that are due, as far as they fit.
	for t := range x.merges {
		st := x.terms[t]
		for st != nil {
			i := st.mergeRun(x.maxSeg())
			if i < 0 {
				delete(x.merges, t)
				break
			}
			keys, n := st.mergeCost(t, i)
			if ws.count()+keys > maxCount || ws.bytes+n > maxBytes {
				break
			}
			if err := st.merge(t, i, ws); err != nil {
				return err
			}
		}
		if st == nil {
			delete(x.merges, t)
		}
	}
	m := watermark{size: end, answer: x.mark.answer}
	if isCheckpoint {
		m.answer = end
	}
	ws.set(watermarkKey, m.encode())
	if err := x.log.UpdateIndex(ctx, ws.apply); err != nil {
		return err
	}
	x.setMark(m)
	if len(x.terms) > maxCachedTerms {
		for t := range x.terms {
			if len(x.terms) <= maxCachedTerms/2 {
				break
			}
			if !x.merges[t] {
				delete(x.terms, t)
			}
		}
	}
	return nil
}

// maxSeg bounds merged segments: maxSegment, or an eighth of the store's
// transaction limit.
func (x *Follower) maxSeg() int {
	return int(min(maxSegment, x.log.MaxIndexTxnBytes()/8))
}

// boundary returns the largest published checkpoint size in (start, end],
// or end and false if the maxProbe sizes below end have none.
func (x *Follower) boundary(ctx context.Context, start, end uint64) (uint64, bool, error) {
	for e := end; e > start && end-e < maxProbe; e-- {
		_, err := x.log.CheckpointAt(ctx, e)
		if err == nil {
			return e, true, nil
		}
		if !isNotFound(err) {
			return end, false, err
		}
	}
	return end, false, nil
}

// boundaryAbove returns the smallest published checkpoint size in
// (start, target].
func (x *Follower) boundaryAbove(ctx context.Context, start, target uint64) (uint64, bool, error) {
	for e := start + 1; e <= target && e-start <= maxProbe; e++ {
		_, err := x.log.CheckpointAt(ctx, e)
		if err == nil {
			return e, true, nil
		}
		if !isNotFound(err) {
			return 0, false, err
		}
	}
	return 0, false, nil
}

// read reads and describes the entries [start, end) on the workers; the
// entries that are not records (or whose payload is withheld) get nil.
func (x *Follower) read(ctx context.Context, start, end uint64) ([]*Described, error) {
	descs := make([]*Described, end-start)
	type job struct {
		first    uint64
		payloads [][]byte
	}
	jobs := make(chan job, 2*x.opts.Workers)
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range x.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for i, p := range j.payloads {
					d, err := x.describePayload(p, j.first+uint64(i))
					if err != nil {
						errMu.Lock()
						if first == nil {
							first = err
						}
						errMu.Unlock()
						continue
					}
					descs[j.first+uint64(i)-start] = d
				}
			}
		}()
	}
	const perJob = 64
	cur := job{first: start}
	err := x.log.Entries(ctx, start, end, func(e ledger.Entry) error {
		cur.payloads = append(cur.payloads, e.Payload)
		if len(cur.payloads) == perJob {
			jobs <- cur
			cur = job{first: e.Index + 1}
		}
		return nil
	})
	if err == nil && len(cur.payloads) > 0 {
		jobs <- cur
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return descs, first
}

func (x *Follower) describePayload(payload []byte, index uint64) (*Described, error) {
	r := decodeRecord(payload)
	if r == nil {
		return nil, nil
	}
	var amends uint64
	hasAmends := false
	if r.GetTag() != akashiv1.Tag_TAG_NEW && r.GetAmends() != "" {
		i, _, ok, err := x.opts.Records.Record(r.GetPublisher().GetId(), r.GetAmends())
		if err != nil {
			return nil, err
		}
		if ok && i < index {
			amends, hasAmends = i, true
		}
	}
	d := describe(r, index, amends, hasAmends, &x.titles)
	return &d, nil
}

// build stages the index keys of descs, the records of the entries from
// start on, in ws.
func (x *Follower) build(descs []*Described, start uint64, ws *writeSet) error {
	inv := map[string][]uint32{}
	for i, d := range descs {
		if d == nil {
			continue
		}
		index := uint32(start + uint64(i))
		terms, over := d.indexTerms()
		d.Fact.Overflow = over
		for _, t := range terms {
			inv[t] = append(inv[t], index)
		}
		kv, err := x.facts.add(ws.get, &d.Fact)
		if err != nil {
			return err
		}
		ws.set(kv.Key, kv.Value)
		if d.title != "" {
			if err := x.addTitle(d.title, ws); err != nil {
				return err
			}
		}
	}
	for t, ps := range inv {
		st, err := x.term(t)
		if err != nil {
			return err
		}
		if err := st.add(t, ps, ws); err != nil {
			return err
		}
		if st.mergeRun(x.maxSeg()) >= 0 {
			x.merges[t] = true
		}
	}
	return nil
}

// term returns a term's head.
func (x *Follower) term(t string) (*termState, error) {
	if st := x.terms[t]; st != nil {
		return st, nil
	}
	b, err := x.log.IndexGet(headKey(t))
	st := &termState{}
	switch {
	case err == nil:
		if st, err = parseHead(b, false); err != nil {
			return nil, fmt.Errorf("term %q: %w", t, err)
		}
	case !isNotFound(err):
		return nil, err
	}
	x.terms[t] = st
	return st, nil
}

// addTitle writes the directory keys of a programme title's tokens, once.
func (x *Follower) addTitle(title string, ws *writeSet) error {
	ti := x.titles.get(title)
	if x.known[ti.term] {
		return nil
	}
	mark := titleMarkKey(ti.term)
	if _, err := ws.get(mark); err == nil {
		x.known[ti.term] = true
		return nil
	} else if !isNotFound(err) {
		return err
	}
	ws.set(mark, []byte(title))
	for _, tok := range ti.tokens {
		ws.set(titleTokenKey(tok, ti.term), nil)
	}
	if len(x.known) > maxCachedTitles {
		clear(x.known)
	}
	x.known[ti.term] = true
	return nil
}

// titleMarkKey is the key that says a title's tokens are written:
//
//	'q' 'P' title-term → the title
func titleMarkKey(titleTerm string) []byte {
	return append([]byte{prefixQuery, tagTitleMark}, titleTerm...)
}

// titleTokenKey is the key that says a title holds a token:
//
//	'q' 'p' token 0x00 title-term
func titleTokenKey(token, titleTerm string) []byte {
	k := append([]byte{prefixQuery, tagTitleToken}, token...)
	k = append(k, 0)
	return append(k, titleTerm...)
}

// titlesWith returns the title terms whose titles hold token.
func titlesWith(s Store, token string) ([]string, error) {
	pfx := append(append([]byte{prefixQuery, tagTitleToken}, token...), 0)
	var out []string
	err := s.IndexScan(pfx, func(k, _ []byte) (bool, error) {
		out = append(out, string(k[len(pfx):]))
		return true, nil
	})
	return out, err
}

// decodeRecord decodes the record in a stored payload (a signed
// statement that the server checked strictly before appending it); nil
// if it holds none or is withheld.
func decodeRecord(payload []byte) *akashiv1.Record {
	if payload == nil {
		return nil
	}
	st := statementBytes(payload)
	if st == nil {
		return nil
	}
	var s akashiv1.Statement
	if err := (proto.UnmarshalOptions{}).Unmarshal(st, &s); err != nil {
		return nil
	}
	return s.GetRecord()
}

// statementBytes returns the statement field of a serialized signed
// statement, without copying it; nil if there is none.
func statementBytes(b []byte) []byte {
	num := statementField
	for len(b) > 0 {
		n, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return nil
		}
		b = b[k:]
		if n == num && typ == protowire.BytesType {
			v, k := protowire.ConsumeBytes(b)
			if k < 0 {
				return nil
			}
			return v
		}
		if k = protowire.ConsumeFieldValue(n, typ, b); k < 0 {
			return nil
		}
		b = b[k:]
	}
	return nil
}

var statementField = (&akashiv1.SignedStatement{}).ProtoReflect().Descriptor().Fields().ByName("statement").Number()
