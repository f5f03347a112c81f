// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// VerifyStats summarises a full verification.
type VerifyStats struct {
	// Entries is the number of entries checked (the tree size verified).
	Entries uint64
	// Withheld is how many of them have a withheld payload.
	Withheld uint64
	// Checkpoints is the number of signed checkpoints checked.
	Checkpoints uint64
	// Bytes is the number of header and payload bytes hashed.
	Bytes uint64
}

// Verify recomputes the whole log from storage and compares it with what is
// stored: every header (index, time, chain link), every payload against its
// digest, every leaf hash and every tile at every level against the
// recomputed tree, every checkpoint's signature and root, the leaf-hash
// index, and the state. It reads one consistent snapshot and uses every core.
//
// It returns an error wrapping ErrCorrupt at the first damage found; where
// the damage lies in or under an entry, the error also wraps a
// *verify.EntryError whose Index locates it.
func (l *Log) Verify(ctx context.Context) (VerifyStats, error) {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return VerifyStats{}, ErrClosed
	}
	return verifyDB(ctx, l.db, l.opts)
}

// VerifyStore is Verify for a store that is not open, or that Open refuses:
// it opens the Badger store in dir without the checks Open makes, verifies
// it, and closes it. It writes nothing. Only Origin and Verifier of opts
// are used.
func VerifyStore(ctx context.Context, dir string, opts Options) (VerifyStats, error) {
	if opts.Origin == "" || opts.Verifier == nil {
		return VerifyStats{}, fmt.Errorf("%w: VerifyStore needs Origin and Verifier", ErrInvalidOptions)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(badgerLogger{opts.Logger}).WithMetricsEnabled(false).WithBlockCacheSize(DefaultBlockCacheSize))
	if err != nil {
		return VerifyStats{}, fmt.Errorf("%w: opening badger in %s: %w", ErrStorage, dir, err)
	}
	st, err := verifyDB(ctx, db, opts)
	if cerr := db.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("%w: closing badger: %w", ErrStorage, cerr)
	}
	return st, err
}

func verifyDB(ctx context.Context, db *badger.DB, opts Options) (VerifyStats, error) {
	txn := db.NewTransaction(false)
	defer txn.Discard()
	v := &verifier{opts: opts, txn: txn}
	return v.run(ctx)
}

type verifier struct {
	opts  Options
	txn   *badger.Txn
	st    state
	stats VerifyStats
	aud   *verify.Auditor
	tiles [maxTileLevels]struct {
		n    uint64
		data []byte
	}
	fingerprint verify.Hash
	nodeErr     error
	nextCP      uint64 // size of the next checkpoint to check; 0 when none is left
}

// chunk is one entry bundle's worth of entries on its way through the
// verification pipeline.
type chunk struct {
	first    uint64
	headers  [][]byte
	payloads [][]byte // nil where withheld
	err      error    // from reading

	parsed []verify.Header
	leaves []verify.Hash
	done   chan struct{}
}

func corruptAt(i uint64, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrCorrupt, &verify.EntryError{Index: i, Err: fmt.Errorf(format, args...)})
}

func (v *verifier) run(ctx context.Context) (VerifyStats, error) {
	st, err := readState(v.txn)
	if err != nil {
		return v.stats, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	v.st = st
	if v.aud, err = verify.NewAuditor(verify.AuditorState{}); err != nil {
		return v.stats, err
	}
	v.aud.OnNode = v.checkNode

	// Checkpoints, in order of size.
	cps := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixCheckpoint}, PrefetchValues: false})
	defer cps.Close()
	cps.Rewind()
	if err := v.checkCheckpoints(cps); err != nil {
		return v.stats, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ordered := make(chan *chunk, 2*runtime.GOMAXPROCS(0))
	work := make(chan *chunk, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		v.produce(ctx, ordered, work)
	}()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				hashChunk(c)
			}
		}()
	}
	err = v.consume(ctx, ordered, cps)
	cancel()
	for range ordered { // let the producer finish
	}
	wg.Wait()
	if err != nil {
		return v.stats, err
	}
	return v.stats, v.finish()
}

// produce reads bundles and payloads in log order.
func (v *verifier) produce(ctx context.Context, ordered, work chan<- *chunk) {
	bundles := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixBundle}, PrefetchValues: true, PrefetchSize: 4})
	defer bundles.Close()
	payloads := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}, PrefetchValues: true, PrefetchSize: 256})
	defer payloads.Close()
	bundles.Rewind()
	payloads.Rewind()
	send := func(c *chunk) bool {
		c.done = make(chan struct{})
		select {
		case ordered <- c:
		case <-ctx.Done():
			return false
		}
		if c.err != nil {
			close(c.done)
			return false
		}
		select {
		case work <- c:
			return true
		case <-ctx.Done():
			close(c.done)
			return false
		}
	}
	for first := uint64(0); first < v.st.Size; first += verify.TileWidth {
		c := &chunk{first: first}
		n := first / verify.TileWidth
		if !bundles.Valid() || !bytes.Equal(bundles.Item().Key(), bundleKey(n)) {
			c.err = corruptAt(first, "entry bundle %d is missing", n)
			send(c)
			return
		}
		data, err := bundles.Item().ValueCopy(nil)
		if err != nil {
			c.err = fmt.Errorf("%w: reading entry bundle %d: %w", ErrStorage, n, err)
			send(c)
			return
		}
		bundles.Next()
		want := min(verify.TileWidth, v.st.Size-first)
		entries, err := splitBundle(data, first, want)
		if err != nil {
			c.err = err
			send(c)
			return
		}
		c.headers = entries
		c.payloads = make([][]byte, len(entries))
		for k := range entries {
			i := first + uint64(k)
			if payloads.Valid() && binary.BigEndian.Uint64(payloads.Item().Key()[1:]) == i {
				if c.payloads[k], err = payloads.Item().ValueCopy(nil); err != nil {
					c.err = fmt.Errorf("%w: reading payload %d: %w", ErrStorage, i, err)
					break
				}
				payloads.Next()
				if _, err := v.txn.Get(withheldKey(i)); err == nil {
					c.err = corruptAt(i, "entry has both a payload and a withheld marker")
					break
				}
				continue
			}
			if _, err := v.txn.Get(withheldKey(i)); err != nil {
				c.err = corruptAt(i, "payload is missing and not withheld")
				break
			}
		}
		if !send(c) {
			return
		}
	}
	if payloads.Valid() {
		i := binary.BigEndian.Uint64(payloads.Item().Key()[1:])
		c := &chunk{first: v.st.Size, err: corruptAt(i, "a payload is stored beyond the log's size %d", v.st.Size)}
		send(c)
	}
}

// splitBundle splits a stored entry bundle of entries first, first+1, …
// into exactly want headers, locating damage at the entry it hits.
func splitBundle(data []byte, first, want uint64) ([][]byte, error) {
	entries := make([][]byte, 0, want)
	for k := range want {
		if len(data) < 2 || binary.BigEndian.Uint16(data) != verify.HeaderSize || len(data) < 2+verify.HeaderSize {
			return nil, corruptAt(first+k, "entry bundle %d: entry %d is not a length-prefixed %d-byte header", first/verify.TileWidth, k, verify.HeaderSize)
		}
		entries = append(entries, data[2:2+verify.HeaderSize])
		data = data[2+verify.HeaderSize:]
	}
	if len(data) != 0 {
		return nil, corruptAt(first+want-1, "entry bundle %d: %d bytes follow its %d entries", first/verify.TileWidth, len(data), want)
	}
	return entries, nil
}

// hashChunk parses a chunk's headers and hashes its leaves and payloads.
func hashChunk(c *chunk) {
	defer close(c.done)
	c.parsed = make([]verify.Header, len(c.headers))
	c.leaves = make([]verify.Hash, len(c.headers))
	for k, hdr := range c.headers {
		i := c.first + uint64(k)
		h, err := verify.ParseHeader(hdr)
		if err != nil {
			c.err = corruptAt(i, "%w", err)
			return
		}
		if c.payloads[k] != nil {
			if d := verify.PayloadDigest(c.payloads[k]); d != h.PayloadDigest {
				c.err = corruptAt(i, "%w: payload hashes to %v, header commits to %v", verify.ErrMismatch, d, h.PayloadDigest)
				return
			}
		}
		c.parsed[k] = h
		c.leaves[k] = verify.LeafHash(hdr)
	}
}

// consume checks the chunks in order: chain, tree, tiles and checkpoints.
func (v *verifier) consume(ctx context.Context, ordered <-chan *chunk, cps *badger.Iterator) error {
	for c := range ordered {
		<-c.done
		if c.err != nil {
			return c.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for k, h := range c.parsed {
			i := c.first + uint64(k)
			if err := v.aud.AppendParsed(h, c.leaves[k]); err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			if v.nodeErr != nil {
				return v.nodeErr
			}
			leaf := c.leaves[k]
			binary.BigEndian.PutUint64(leaf[:8], binary.BigEndian.Uint64(leaf[:8])^mixIndex(i))
			for j := range leaf {
				v.fingerprint[j] ^= leaf[j]
			}
			v.stats.Bytes += uint64(len(c.headers[k]) + len(c.payloads[k]))
			if c.payloads[k] == nil {
				v.stats.Withheld++
			}
			if v.aud.Size() == v.nextCP {
				if err := v.checkCheckpoints(cps); err != nil {
					return err
				}
			}
		}
		v.stats.Entries = v.aud.Size()
	}
	if v.aud.Size() != v.st.Size {
		return fmt.Errorf("%w: the log's state says %d entries, %d were found", ErrCorrupt, v.st.Size, v.aud.Size())
	}
	if v.nextCP != 0 {
		return fmt.Errorf("%w: a checkpoint for size %d lies beyond the log's size %d", ErrCorrupt, v.nextCP, v.st.Size)
	}
	return nil
}

// mixIndex spreads an index over 64 bits (a bijection), for the leaf-index fingerprint.
func mixIndex(i uint64) uint64 { return (i + 1) * 0x9e3779b97f4a7c15 }

// checkCheckpoints checks every stored checkpoint whose size the auditor
// has reached.
func (v *verifier) checkCheckpoints(cps *badger.Iterator) error {
	for ; cps.Valid(); cps.Next() {
		item := cps.Item()
		key := item.Key()
		if len(key) != 9 {
			return fmt.Errorf("%w: checkpoint key %x", ErrCorrupt, key)
		}
		size := binary.BigEndian.Uint64(key[1:])
		if size > v.aud.Size() {
			v.nextCP = size
			return nil
		}
		if size > v.st.Size {
			return fmt.Errorf("%w: checkpoint for size %d lies beyond the log's size %d", ErrCorrupt, size, v.st.Size)
		}
		var cp verify.Checkpoint
		err := item.Value(func(b []byte) error {
			var err error
			cp, err = verify.OpenCheckpoint(b, v.opts.Origin, v.opts.Verifier)
			return err
		})
		if err == nil && cp.Size != size {
			err = fmt.Errorf("%w: it says size %d", verify.ErrMismatch, cp.Size)
		}
		if err == nil {
			err = v.aud.CheckCheckpoint(cp)
		}
		if err != nil {
			loc := size
			if loc > 0 {
				loc--
			}
			return corruptAt(loc, "checkpoint at size %d: %w", size, err)
		}
		v.stats.Checkpoints++
	}
	v.nextCP = 0 // no more checkpoints
	return nil
}

// checkNode compares a recomputed tree node with the stored tile that holds it.
func (v *verifier) checkNode(level uint, index uint64, h verify.Hash) {
	if level%verify.TileHeight != 0 || v.nodeErr != nil {
		return
	}
	tl := level / verify.TileHeight
	n, pos := index/verify.TileWidth, int(index%verify.TileWidth)
	first := index << level // the first entry under the node
	t := &v.tiles[tl]
	if t.data == nil || t.n != n {
		data, err := get(v.txn, tileKey(uint8(tl), n))
		if errors.Is(err, ErrNotFound) {
			v.nodeErr = corruptAt(first, "tile %d/%d is missing", tl, n)
			return
		}
		if err != nil {
			v.nodeErr = err
			return
		}
		hashes := v.st.Size >> level
		want := verify.TileWidth
		if (n+1)*verify.TileWidth > hashes {
			want = int(hashes % verify.TileWidth)
		}
		if len(data) != want*len(verify.Hash{}) {
			v.nodeErr = corruptAt(first, "tile %d/%d has %d bytes, want %d", tl, n, len(data), want*len(verify.Hash{}))
			return
		}
		t.n, t.data = n, data
	}
	if got := verify.Hash(t.data[pos*32 : pos*32+32]); got != h {
		v.nodeErr = corruptAt(first, "%w: tile %d/%d holds %v at position %d, the entries hash to %v", verify.ErrMismatch, tl, n, got, pos, h)
	}
}

// finish checks what only the whole log can tell: the state, the edge
// tiles of levels whose nodes are not complete, and the leaf-hash index.
func (v *verifier) finish() error {
	switch {
	case v.aud.Root() != v.st.Root:
		return fmt.Errorf("%w: state root %v, the entries hash to %v", ErrCorrupt, v.st.Root, v.aud.Root())
	case v.aud.ChainHead() != v.st.ChainHead:
		return fmt.Errorf("%w: state chain head %v, the entries chain to %v", ErrCorrupt, v.st.ChainHead, v.aud.ChainHead())
	case v.st.Size > 0 && v.aud.State().LastTime != v.st.LastTime:
		return fmt.Errorf("%w: state last time %d, the last entry has %d", ErrCorrupt, v.st.LastTime, v.aud.State().LastTime)
	}
	// Every tile level of the tree was reached by checkNode, so the tiles
	// are checked; nothing may lie beyond them.
	for l := range uint8(maxTileLevels) {
		hashes := v.st.Size >> (uint(l) * verify.TileHeight)
		last := hashes / verify.TileWidth
		if hashes%verify.TileWidth == 0 {
			last-- // wraps for an empty level, which must hold no tile at all
		}
		if _, err := v.txn.Get(tileKey(l, last+1)); !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: tile %d/%d lies beyond the tree of size %d", ErrCorrupt, l, last+1, v.st.Size)
		}
		if hashes == 0 {
			break
		}
	}
	return v.checkLeafIndex()
}

// checkLeafIndex compares the leaf-hash index with the fingerprint of the
// leaves; on a mismatch it looks up every leaf to locate the damage.
func (v *verifier) checkLeafIndex() error {
	var fp verify.Hash
	var count uint64
	it := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLeaf}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		key := it.Item().Key()
		var leaf verify.Hash
		var i uint64
		err := it.Item().Value(func(b []byte) error {
			if len(key) != 33 || len(b) != 8 {
				return fmt.Errorf("%w: leaf index entry %x has a %d-byte value", ErrCorrupt, key, len(b))
			}
			i = binary.BigEndian.Uint64(b)
			return nil
		})
		if err != nil {
			return err
		}
		copy(leaf[:], key[1:])
		binary.BigEndian.PutUint64(leaf[:8], binary.BigEndian.Uint64(leaf[:8])^mixIndex(i))
		for j := range leaf {
			fp[j] ^= leaf[j]
		}
		count++
	}
	if count == v.st.Size && fp == v.fingerprint {
		return nil
	}
	// Locate: find the first entry whose leaf is not indexed correctly.
	err := entriesIn(context.Background(), v.txn, 0, v.st.Size, func(e Entry) error {
		b, err := get(v.txn, leafKey(e.LeafHash))
		if err != nil || len(b) != 8 || binary.BigEndian.Uint64(b) != e.Index {
			return corruptAt(e.Index, "the leaf-hash index does not map %v to this entry", e.LeafHash)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: the leaf-hash index holds %d entries for %d leaves, or an entry for a leaf not in the log", ErrCorrupt, count, v.st.Size)
}
