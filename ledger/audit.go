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
	// checkpoints are the stored checkpoints in order of size; next is the
	// next one to compare.
	checkpoints []checkpointAt
	next        int
	// leafScan is the fingerprint of the leaf-hash index, read while the
	// entries are checked; it is ready when leafDone is closed.
	leafScan leafScan
	leafDone chan struct{}
}

type checkpointAt struct {
	size  uint64
	raw   []byte
	ready chan struct{} // closed once cp and err are set
	cp    verify.Checkpoint
	err   error // the signature or the text is bad
}

// leafScan is what a read of the whole leaf-hash index found.
type leafScan struct {
	fp    verify.Hash
	count uint64
	err   error
}

// segmentBundles is how many entry bundles one verification job reads.
const segmentBundles = 16

// segment is one job of the verification pipeline: the entries of
// segmentBundles bundles, read, parsed and hashed by a worker, then checked
// in order by the consumer.
type segment struct {
	first  uint64
	parsed []verify.Header
	leaves []verify.Hash
	sizes  []int // header and payload bytes of each entry, 0 payload bytes when withheld
	err    error // located damage, or a read failure
	done   chan struct{}
}

func corruptAt(i uint64, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrCorrupt, &verify.EntryError{Index: i, Err: fmt.Errorf(format, args...)})
}

// run verifies the store. Workers read segments of the log in parallel,
// each with its own iterators over the same snapshot, and hash them; the
// consumer checks what must be checked in order (the chain, the tree, the
// tiles, the checkpoints' roots). Meanwhile, so that no core waits for
// another phase, one goroutine verifies the checkpoints' signatures in
// order of size, ahead of the consumer, and others read the leaf-hash
// index, which is compared at the end.
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
	if err := v.loadCheckpoints(); err != nil {
		return v.stats, err
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() { v.openCheckpoints(ctx) })
	v.leafDone = make(chan struct{})
	wg.Go(func() {
		defer close(v.leafDone)
		v.leafScan = v.scanLeafIndex(ctx)
	})
	if err := v.checkCheckpoints(ctx); err != nil { // the one at size 0
		return v.stats, err
	}

	workers := runtime.GOMAXPROCS(0)
	ordered := make(chan *segment, 2*workers)
	jobs := make(chan *segment, 2*workers)
	wg.Add(1)
	go func() { // hands out segments, in order
		defer wg.Done()
		defer close(ordered)
		defer close(jobs)
		for first := uint64(0); first < v.st.Size; first += segmentBundles * verify.TileWidth {
			sg := &segment{first: first, done: make(chan struct{})}
			select {
			case ordered <- sg:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- sg:
			case <-ctx.Done():
				close(sg.done)
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sg := range jobs {
				v.readSegment(ctx, sg)
			}
		}()
	}
	err = v.consume(ctx, ordered)
	if err != nil {
		cancel()
	}
	for range ordered { // let the dispatcher finish
	}
	if err != nil {
		return v.stats, err
	}
	return v.stats, v.finish(ctx)
}

// readSegment reads, parses and hashes one segment's entries, with its own
// iterators over the snapshot: first the headers, from the entry bundles,
// then the payloads, from their groups, checked against the headers.
func (v *verifier) readSegment(ctx context.Context, sg *segment) {
	defer close(sg.done)
	end := min(sg.first+segmentBundles*verify.TileWidth, v.st.Size)
	n := int(end - sg.first)
	sg.parsed = make([]verify.Header, 0, n)
	sg.leaves = make([]verify.Hash, 0, n)
	sg.sizes = make([]int, 0, n)
	// hdrErr is damage found in the headers, at the entry after the last
	// one parsed; damage to an earlier payload is reported first.
	hdrErr := v.readHeaders(ctx, sg, end)
	if err := v.checkPayloads(ctx, sg); err != nil {
		sg.err = err
		return
	}
	sg.err = hdrErr
}

// readHeaders parses the headers of the segment's entries, up to end or
// the first damage, which it returns.
func (v *verifier) readHeaders(ctx context.Context, sg *segment, end uint64) error {
	bundles := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixBundle}})
	defer bundles.Close()
	bundles.Seek(bundleKey(sg.first / verify.TileWidth))
	var data []byte
	for b := sg.first / verify.TileWidth; b*verify.TileWidth < end; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		first := b * verify.TileWidth
		if !bundles.Valid() || !bytes.Equal(bundles.Item().Key(), bundleKey(b)) {
			return corruptAt(first, "entry bundle %d is missing", b)
		}
		var err error
		if data, err = bundles.Item().ValueCopy(data[:0]); err != nil {
			return fmt.Errorf("%w: reading entry bundle %d: %w", ErrStorage, b, err)
		}
		bundles.Next()
		want := min(verify.TileWidth, v.st.Size-first)
		headers, err := splitBundle(data, first, want)
		if err != nil {
			return err
		}
		for k, hdr := range headers {
			h, err := verify.ParseHeader(hdr)
			if err != nil {
				return corruptAt(first+uint64(k), "%w", err)
			}
			sg.parsed = append(sg.parsed, h)
			sg.leaves = append(sg.leaves, verify.LeafHash(hdr))
			sg.sizes = append(sg.sizes, len(hdr))
		}
	}
	return nil
}

// checkPayloads hashes the payloads of the entries readHeaders parsed, in
// place in their groups, and compares them with the headers. At damage,
// it cuts the segment's entries before the damaged one and returns it.
func (v *verifier) checkPayloads(ctx context.Context, sg *segment) error {
	it := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}})
	defer it.Close()
	i, end := sg.first, sg.first+uint64(len(sg.parsed))
	cut := func(err error) error {
		k := i - sg.first
		sg.parsed, sg.leaves, sg.sizes = sg.parsed[:k], sg.leaves[:k], sg.sizes[:k]
		return err
	}
	for i < end {
		if err := ctx.Err(); err != nil {
			i = sg.first
			return cut(err)
		}
		last, ok := seekPayloadGroup(it, i)
		if !ok {
			return cut(corruptAt(i, "no payload group holds the entry's payload"))
		}
		var damage error
		withheld := false
		err := it.Item().Value(func(val []byte) error {
			g, err := parsePayloadGroup(last, val)
			if err != nil {
				damage = corruptAt(i, "%w", err)
				return nil
			}
			if g.first > i {
				damage = corruptAt(i, "payload is missing: the next payload group holds entries %d to %d", g.first, g.last)
				return nil
			}
			for ; i < end && i <= last; i++ {
				if i == last {
					if t := g.total(); t != len(g.data) {
						damage = corruptAt(i, "payload group of entries %d to %d holds %d payload bytes, its lengths add up to %d", g.first, g.last, len(g.data), t)
						return nil
					}
				}
				p, err := g.payload(i)
				if err != nil {
					damage = corruptAt(i, "%w", err)
					return nil
				}
				if p == nil {
					withheld = true // checked outside: no reads while Badger lends val
					return nil
				}
				k := i - sg.first
				if d := verify.PayloadDigest(p); d != sg.parsed[k].PayloadDigest {
					damage = corruptAt(i, "%w: payload hashes to %v, header commits to %v", verify.ErrMismatch, d, sg.parsed[k].PayloadDigest)
					return nil
				}
				sg.sizes[k] += len(p)
			}
			return nil
		})
		if err != nil {
			return cut(fmt.Errorf("%w: reading the payload group of entry %d: %w", ErrStorage, i, err))
		}
		if damage != nil {
			return cut(damage)
		}
		if withheld {
			if _, err := v.txn.Get(withheldKey(i)); err != nil {
				return cut(corruptAt(i, "payload is missing and not withheld"))
			}
			i++
		}
	}
	return nil
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

// consume checks the segments in order: chain, tree, tiles and checkpoints.
func (v *verifier) consume(ctx context.Context, ordered <-chan *segment) error {
	for sg := range ordered {
		<-sg.done
		if err := ctx.Err(); err != nil {
			return err
		}
		// Entries before the damage are checked first, so that the first
		// damage is the one reported.
		for k, h := range sg.parsed {
			i := sg.first + uint64(k)
			if err := v.aud.AppendParsed(h, sg.leaves[k]); err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			if v.nodeErr != nil {
				return v.nodeErr
			}
			leaf := sg.leaves[k]
			binary.BigEndian.PutUint64(leaf[:8], binary.BigEndian.Uint64(leaf[:8])^mixIndex(i))
			for j := range leaf {
				v.fingerprint[j] ^= leaf[j]
			}
			v.stats.Bytes += uint64(sg.sizes[k])
			if sg.sizes[k] == verify.HeaderSize {
				v.stats.Withheld++
			}
			if err := v.checkCheckpoints(ctx); err != nil {
				return err
			}
		}
		if sg.err != nil {
			return sg.err
		}
		v.stats.Entries = v.aud.Size()
	}
	if v.aud.Size() != v.st.Size {
		return fmt.Errorf("%w: the log's state says %d entries, %d were found", ErrCorrupt, v.st.Size, v.aud.Size())
	}
	return nil
}

// mixIndex spreads an index over 64 bits (a bijection), for the leaf-index fingerprint.
func mixIndex(i uint64) uint64 { return (i + 1) * 0x9e3779b97f4a7c15 }

// loadCheckpoints reads every stored checkpoint; openCheckpoints checks them.
func (v *verifier) loadCheckpoints() error {
	it := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixCheckpoint}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		key := it.Item().Key()
		if len(key) != 9 {
			return fmt.Errorf("%w: checkpoint key %x", ErrCorrupt, key)
		}
		size := binary.BigEndian.Uint64(key[1:])
		if size > v.st.Size {
			return fmt.Errorf("%w: a checkpoint for size %d lies beyond the log's size %d", ErrCorrupt, size, v.st.Size)
		}
		b, err := it.Item().ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStorage, err)
		}
		v.checkpoints = append(v.checkpoints, checkpointAt{size: size, raw: b, ready: make(chan struct{})})
	}
	return nil
}

// openCheckpoints verifies the checkpoints' signatures and texts in order
// of size, marking each ready, until all are or ctx is done.
func (v *verifier) openCheckpoints(ctx context.Context) {
	for i := range v.checkpoints {
		if ctx.Err() != nil {
			return
		}
		c := &v.checkpoints[i]
		c.cp, c.err = verify.OpenCheckpoint(c.raw, v.opts.Origin, v.opts.Verifier)
		if c.err == nil && c.cp.Size != c.size {
			c.err = fmt.Errorf("%w: it says size %d", verify.ErrMismatch, c.cp.Size)
		}
		close(c.ready)
	}
}

// checkCheckpoints compares the checkpoints of the size the auditor has
// reached with the tree it has recomputed.
func (v *verifier) checkCheckpoints(ctx context.Context) error {
	for ; v.next < len(v.checkpoints) && v.checkpoints[v.next].size == v.aud.Size(); v.next++ {
		c := &v.checkpoints[v.next]
		select {
		case <-c.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := c.err
		if err == nil {
			err = v.aud.CheckCheckpoint(c.cp)
		}
		if err != nil {
			return corruptAt(max(c.size, 1)-1, "checkpoint at size %d: %w", c.size, err)
		}
		v.stats.Checkpoints++
	}
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
func (v *verifier) finish(ctx context.Context) error {
	switch {
	case v.aud.Root() != v.st.Root:
		return fmt.Errorf("%w: state root %v, the entries hash to %v", ErrCorrupt, v.st.Root, v.aud.Root())
	case v.aud.ChainHead() != v.st.ChainHead:
		return fmt.Errorf("%w: state chain head %v, the entries chain to %v", ErrCorrupt, v.st.ChainHead, v.aud.ChainHead())
	case v.st.Size > 0 && v.aud.State().LastTime != v.st.LastTime:
		return fmt.Errorf("%w: state last time %d, the last entry has %d", ErrCorrupt, v.st.LastTime, v.aud.State().LastTime)
	}
	if v.next != len(v.checkpoints) {
		return fmt.Errorf("%w: a checkpoint for size %d does not fall on the log", ErrCorrupt, v.checkpoints[v.next].size)
	}
	if payloadBeyond(v.txn, v.st.Size) {
		return fmt.Errorf("%w: a payload is stored beyond the log's size %d", ErrCorrupt, v.st.Size)
	}
	if err := v.checkWithheld(); err != nil {
		return err
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
	select {
	case <-v.leafDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	return v.checkLeafIndex(v.leafScan)
}

// checkWithheld checks that no withheld entry still has its payload (the
// verification of each entry found either one or the other).
func (v *verifier) checkWithheld() error {
	it := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixWithheld}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		key := it.Item().Key()
		if len(key) != 9 {
			return fmt.Errorf("%w: withheld marker key %x", ErrCorrupt, key)
		}
		i := binary.BigEndian.Uint64(key[1:])
		if i >= v.st.Size {
			return fmt.Errorf("%w: a withheld marker lies beyond the log's size %d", ErrCorrupt, v.st.Size)
		}
		g, err := readPayloadGroup(v.txn, i)
		if err != nil {
			return err
		}
		if p, err := g.payload(i); err != nil || p != nil {
			return corruptAt(i, "entry has both a payload and a withheld marker")
		}
	}
	return nil
}

// scanLeafIndex reads the whole leaf-hash index into a fingerprint of its
// (leaf, index) pairs, the same as the one the entries make.
func (v *verifier) scanLeafIndex(ctx context.Context) leafScan {
	// The fingerprint is an XOR, so the key space can be read in parts, in
	// parallel: one part per leading byte range of the leaf hash.
	parts := runtime.GOMAXPROCS(0)
	scans := make([]leafScan, parts)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() {
			lo, hi := 256*w/parts, 256*(w+1)/parts
			it := v.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLeaf}})
			defer it.Close()
			sc := &scans[w]
			for it.Seek([]byte{prefixLeaf, byte(lo)}); it.Valid(); it.Next() {
				key := it.Item().Key()
				if len(key) != 33 {
					sc.err = fmt.Errorf("%w: leaf index key %x", ErrCorrupt, key)
					return
				}
				if int(key[1]) >= hi {
					return
				}
				if sc.count%4096 == 0 && ctx.Err() != nil {
					sc.err = ctx.Err()
					return
				}
				var leaf verify.Hash
				var i uint64
				err := it.Item().Value(func(b []byte) error {
					if len(b) != 8 {
						return fmt.Errorf("%w: leaf index entry %x has a %d-byte value", ErrCorrupt, key, len(b))
					}
					i = binary.BigEndian.Uint64(b)
					return nil
				})
				if err != nil {
					sc.err = err
					return
				}
				copy(leaf[:], key[1:])
				binary.BigEndian.PutUint64(leaf[:8], binary.BigEndian.Uint64(leaf[:8])^mixIndex(i))
				for j := range leaf {
					sc.fp[j] ^= leaf[j]
				}
				sc.count++
			}
		})
	}
	wg.Wait()
	var all leafScan
	for _, sc := range scans {
		if sc.err != nil {
			return sc
		}
		for j := range all.fp {
			all.fp[j] ^= sc.fp[j]
		}
		all.count += sc.count
	}
	return all
}

// checkLeafIndex compares the leaf-hash index, as scanLeafIndex read it,
// with the fingerprint of the leaves; on a mismatch it looks up every leaf
// to locate the damage.
func (v *verifier) checkLeafIndex(scan leafScan) error {
	if scan.err != nil {
		return scan.err
	}
	if scan.count == v.st.Size && scan.fp == v.fingerprint {
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
	return fmt.Errorf("%w: the leaf-hash index holds %d entries for %d leaves, or an entry for a leaf not in the log", ErrCorrupt, scan.count, v.st.Size)
}
