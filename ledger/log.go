// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// removeCrashLeftovers deletes the empty files that Badger leaves when it
// is killed while starting a new file, before badger.Open trips on them.
// Badger creates a memtable's write-ahead file, or the next value-log file,
// and then sizes it; a process killed between the two leaves a file of no
// bytes, which holds nothing, but on which badger.Open then fails every
// time ("Create a new file"; dgraph-io/badger issue 2207). The crash test
// hit it for memtables. Every empty memtable file goes; of the value-log
// files only the newest, the one a crash can have left empty: an older
// empty one would be damage, which Open reports.
func removeCrashLeftovers(dir string, log *slog.Logger) error {
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err != nil {
		return err
	}
	empty := func(f string) bool {
		fi, err := os.Stat(f)
		return err == nil && fi.Size() == 0 && fi.Mode().IsRegular()
	}
	var remove []string
	for _, f := range mems {
		if empty(f) {
			remove = append(remove, f)
		}
	}
	vlogs, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		return err
	}
	newest, newestID := "", -1
	for _, f := range vlogs {
		id, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".vlog"))
		if err == nil && id > newestID {
			newest, newestID = f, id
		}
	}
	if newest != "" && empty(newest) {
		remove = append(remove, newest)
	}
	for _, f := range remove {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("removing the empty file %s left by a crash: %w", f, err)
		}
		log.Warn("ledger: removed an empty file left by a crash", "file", f)
	}
	return nil
}

// Log is an append-only, hash-chained, Merkle-verifiable log stored in
// Badger. It is safe for concurrent use. Open creates it; Close releases it.
type Log struct {
	dir  string
	opts Options
	db   *badger.DB
	tree *tree
	log  *slog.Logger

	// pub is the latest published (durable, signed) tree head.
	pub atomic.Pointer[published]

	// Admission of appends.
	closeMu sync.RWMutex
	// withholdMu serialises Withhold: withholding rewrites a payload group
	// that holds other entries, which a concurrent Withhold may be rewriting.
	withholdMu   sync.Mutex
	closed       bool
	queue        chan *request
	pending      atomic.Int64 // admitted and not answered
	pendingBytes atomic.Int64
	rate         atomic.Int64 // entries committed per second, smoothed
	rateSince    time.Time    // the committer's: start of the rate window
	rateCount    int64        // the committer's: entries in the window
	// room wakes the callers of SubmitWait that the log pushed back: it is
	// closed, and replaced, when an answered append leaves room.
	roomMu      sync.Mutex
	room        chan struct{}
	roomWaiters atomic.Int64

	// The sequencer's own state; see sequencer.go.
	seq seqState

	commitCh  chan *batch // sequencer → committer
	committed chan error  // committer → sequencer, one per batch
	closing   chan struct{}
	wg        sync.WaitGroup

	// grew is closed, and replaced, each time the tree grows (WaitSize).
	growMu sync.Mutex
	grew   chan struct{}

	// fault, in tests, fails commits as a failing disk would.
	fault atomic.Pointer[func() error]
}

// published is a durable, signed tree head.
type published struct {
	state
	checkpoint []byte // the signed note
}

// Open opens the log stored in dir, creating an empty log (with a signed
// checkpoint of size 0) if dir holds none. It checks that the store is whole
// (the state, the latest checkpoint, the edge tiles, the last entry and its
// chain hash agree) and refuses a damaged store with an error wrapping
// ErrCorrupt that says what is wrong. Call Close when done.
func Open(ctx context.Context, dir string, opts Options) (*Log, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheSize).
		WithValueThreshold(o.ValueThreshold).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithIndexCacheSize(o.IndexCacheSize).
		// Compaction buffers whole tables in memory, and by default tables
		// grow with their level, and so with the log: keep them all small,
		// and few compactions at once.
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{o.Logger})
	bo.TableSizeMultiplier = 1
	// No block compression: the LSM tree holds keys, hashes and value
	// pointers, which hardly compress (payloads, tiles and bundles are in
	// the value log, which Badger never compresses), and without it the
	// heap's peak while appending is halved: the table builders buffer
	// less (measured in docs/BENCHMARKS.md).
	bo.Compression = options.None
	if err := removeCrashLeftovers(dir, o.Logger); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("%w: opening badger in %s: %w", ErrStorage, dir, err)
	}
	l := &Log{
		dir:       dir,
		opts:      o,
		db:        db,
		tree:      &tree{db: db, cache: newTileCache(o.TileCacheSize)},
		log:       o.Logger,
		queue:     make(chan *request, o.MaxPending),
		commitCh:  make(chan *batch),
		committed: make(chan error),
		closing:   make(chan struct{}),
		grew:      make(chan struct{}),
	}
	if err := l.recover(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	l.rateSince = time.Now()
	l.wg.Add(3)
	go l.sequence()
	go l.commit()
	go l.collectGarbage()
	p := l.pub.Load()
	l.log.Info("ledger opened", "dir", dir, "origin", o.Origin, "size", p.Size)
	return l, nil
}

// Close stops accepting appends, commits the batch being formed, fails the
// appends still queued with ErrClosed, stops the sequencer and the garbage
// collector, waits for them, and closes Badger.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.closeMu.Unlock()
	close(l.closing)
	l.wg.Wait()
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("%w: closing badger: %w", ErrStorage, err)
	}
	return nil
}

// Origin returns the log's origin.
func (l *Log) Origin() string { return l.opts.Origin }

// Verifier returns the verifier of the log's checkpoint key.
func (l *Log) Verifier() note.Verifier { return l.opts.Verifier }

// recover loads the state of the store into memory, after checking that
// the store is whole. An empty store is initialised with a signed
// checkpoint of the empty tree.
func (l *Log) recover(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var p *published
	var rng *compact.Range
	var bundle []byte
	err := l.db.View(func(txn *badger.Txn) error {
		st, err := readState(txn)
		if errors.Is(err, ErrNotFound) {
			return l.checkEmpty(txn)
		}
		if err != nil {
			return err
		}
		cp, err := l.readCheckpoint(txn, st.Size)
		if err != nil {
			return err
		}
		if cp.Root != st.Root {
			return fmt.Errorf("%w: state root %v, checkpoint at size %d has root %v", ErrCorrupt, st.Root, st.Size, cp.Root)
		}
		if _, err := txn.Get(checkpointKey(st.Size + 1)); !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: a checkpoint lies beyond the state's size %d", ErrCorrupt, st.Size)
		}
		if err := l.tree.loadEdge(txn, st.Size); err != nil {
			return err
		}
		if rng, err = l.tree.compactRange(st.Size); err != nil {
			return fmt.Errorf("%w: rebuilding the compact range: %w", ErrCorrupt, err)
		}
		if root, _ := verify.RootFromRange(rng); root != st.Root {
			return fmt.Errorf("%w: tiles hash to root %v, state and checkpoint say %v", ErrCorrupt, root, st.Root)
		}
		if bundle, err = l.checkLastEntry(txn, st); err != nil {
			return err
		}
		item, err := txn.Get(checkpointKey(st.Size))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStorage, err)
		}
		signed, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStorage, err)
		}
		p = &published{state: st, checkpoint: signed}
		return nil
	})
	if err != nil {
		return err
	}
	if p == nil { // a new log
		if p, err = l.initialise(); err != nil {
			return err
		}
		rng = verify.RangeFactory.NewEmptyRange(0)
		if err := l.db.View(func(txn *badger.Txn) error { return l.tree.loadEdge(txn, 0) }); err != nil {
			return err
		}
	}
	l.pub.Store(p)
	l.seq.reset(p.state, rng, bundle)
	return nil
}

// readState reads the state record; ErrNotFound if there is none.
func readState(txn *badger.Txn) (state, error) {
	item, err := txn.Get(stateKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return state{}, ErrNotFound
	}
	if err != nil {
		return state{}, fmt.Errorf("%w: reading state: %w", ErrStorage, err)
	}
	var st state
	err = item.Value(func(v []byte) error {
		st, err = decodeState(v)
		return err
	})
	return st, err
}

// readCheckpoint reads and verifies the stored checkpoint of the given size.
func (l *Log) readCheckpoint(txn *badger.Txn, size uint64) (verify.Checkpoint, error) {
	item, err := txn.Get(checkpointKey(size))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return verify.Checkpoint{}, fmt.Errorf("%w: no checkpoint for size %d", ErrCorrupt, size)
	}
	if err != nil {
		return verify.Checkpoint{}, fmt.Errorf("%w: reading checkpoint %d: %w", ErrStorage, size, err)
	}
	var cp verify.Checkpoint
	err = item.Value(func(v []byte) error {
		cp, err = verify.OpenCheckpoint(v, l.opts.Origin, l.opts.Verifier)
		return err
	})
	if err != nil {
		return verify.Checkpoint{}, fmt.Errorf("%w: checkpoint at size %d: %w", ErrCorrupt, size, err)
	}
	if cp.Size != size {
		return verify.Checkpoint{}, fmt.Errorf("%w: checkpoint stored for size %d says size %d", ErrCorrupt, size, cp.Size)
	}
	return cp, nil
}

// checkEmpty checks that a store without state holds nothing at all.
func (l *Log) checkEmpty(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	it.Rewind()
	if it.Valid() {
		return fmt.Errorf("%w: the store has no state record but holds key %q", ErrCorrupt, it.Item().KeyCopy(nil))
	}
	return nil
}

// initialise writes the checkpoint of the empty tree into an empty store.
func (l *Log) initialise() (*published, error) {
	st := state{Root: verify.EmptyRoot, LastTime: 0}
	signed, err := verify.SignCheckpoint(verify.Checkpoint{Origin: l.opts.Origin, Size: 0, Root: st.Root}, l.opts.Signer)
	if err != nil {
		return nil, err
	}
	err = l.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(checkpointKey(0), signed); err != nil {
			return err
		}
		return txn.Set(stateKey, encodeState(st))
	})
	if err != nil {
		return nil, fmt.Errorf("%w: initialising the log: %w", ErrStorage, err)
	}
	return &published{state: st, checkpoint: signed}, nil
}

// checkLastEntry checks the entry bundles at the end of the log against the
// state: the last header names index size-1, hashes to the last leaf of the
// tree and links to the state's chain head; no bundle or payload lies
// beyond. It returns the partial bundle the sequencer extends next.
func (l *Log) checkLastEntry(txn *badger.Txn, st state) ([]byte, error) {
	n, w := st.Size/verify.TileWidth, int(st.Size%verify.TileWidth)
	if payloadBeyond(txn, st.Size) {
		return nil, fmt.Errorf("%w: a payload lies beyond the log's size %d", ErrCorrupt, st.Size)
	}
	if _, err := txn.Get(bundleKey(n + 1)); !errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: entry bundle %d lies beyond the log's size %d", ErrCorrupt, n+1, st.Size)
	}
	if st.Size == 0 {
		return nil, nil
	}
	lastBundle, want := n, w
	if w == 0 {
		lastBundle, want = n-1, verify.TileWidth
		if _, err := txn.Get(bundleKey(n)); !errors.Is(err, badger.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: entry bundle %d lies beyond the log's size %d", ErrCorrupt, n, st.Size)
		}
	}
	item, err := txn.Get(bundleKey(lastBundle))
	if err != nil {
		return nil, fmt.Errorf("%w: entry bundle %d of a log of size %d: %v", ErrCorrupt, lastBundle, st.Size, err)
	}
	data, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: reading entry bundle %d: %w", ErrStorage, lastBundle, err)
	}
	entries, err := verify.ParseEntryBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: entry bundle %d: %w", ErrCorrupt, lastBundle, err)
	}
	if len(entries) != want {
		return nil, fmt.Errorf("%w: entry bundle %d holds %d entries, a log of size %d needs %d", ErrCorrupt, lastBundle, len(entries), st.Size, want)
	}
	last := entries[len(entries)-1]
	h, err := verify.ParseHeader(last)
	if err != nil {
		return nil, fmt.Errorf("%w: last entry: %w", ErrCorrupt, err)
	}
	leaf, err := l.tree.node(0, st.Size-1)
	if err != nil {
		return nil, err
	}
	switch {
	case h.Index != st.Size-1:
		return nil, fmt.Errorf("%w: last header names index %d, want %d", ErrCorrupt, h.Index, st.Size-1)
	case verify.LeafHash(last) != leaf:
		return nil, fmt.Errorf("%w: last header hashes to %v, tile holds %v", ErrCorrupt, verify.LeafHash(last), leaf)
	case verify.ChainHash(h.PrevChain, leaf) != st.ChainHead:
		return nil, fmt.Errorf("%w: last entry links to chain head %v, state says %v", ErrCorrupt, verify.ChainHash(h.PrevChain, leaf), st.ChainHead)
	case h.Time != st.LastTime:
		return nil, fmt.Errorf("%w: last entry has time %d, state says %d", ErrCorrupt, h.Time, st.LastTime)
	}
	if w == 0 {
		return nil, nil
	}
	return data, nil
}

// How often closed value-log files and tables are dropped from the
// resident set (see trimMappedFiles): often while the log grows, because
// its compactions read tables fast and what they read stays resident until
// the next trim; less often while it does not, because readers (Verify,
// range reads) fault back in what a trim dropped.
const (
	trimInterval     = 250 * time.Millisecond
	trimIdleInterval = time.Second
)

// collectGarbage runs Badger's value-log garbage collection on a ticker,
// and trims the resident set, until the log closes.
func (l *Log) collectGarbage() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.GCInterval)
	defer t.Stop()
	trim := time.NewTicker(trimInterval)
	defer trim.Stop()
	dir, _ := filepath.Abs(l.dir)
	trimmedAt, trimmedSize := time.Now(), l.Size()
	for {
		select {
		case <-l.closing:
			return
		case now := <-trim.C:
			if size := l.Size(); size != trimmedSize || now.Sub(trimmedAt) >= trimIdleInterval {
				trimMappedFiles(dir)
				trimmedAt, trimmedSize = now, size
			}
		case <-t.C:
			for l.db.RunValueLogGC(0.5) == nil {
				select {
				case <-l.closing:
					return
				default:
				}
			}
		}
	}
}

// badgerLogger sends Badger's messages to slog; its chatty informational
// messages become debug records.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
