// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// Entry is one entry of the log as stored.
type Entry struct {
	// Index is the entry's position in the log.
	Index uint64
	// Header is the encoded header, the leaf data of the Merkle tree.
	Header []byte
	// Parsed is the decoded header.
	Parsed verify.Header
	// LeafHash is verify.LeafHash(Header).
	LeafHash verify.Hash
	// Payload is the payload, or nil if it was withheld.
	Payload []byte
	// Withheld is the reason the payload was withheld, or empty.
	Withheld string
}

// Head is a published tree head: its size, root hash, chain head and
// signed checkpoint.
type Head struct {
	Size       uint64
	Root       verify.Hash
	ChainHead  verify.Hash
	Checkpoint []byte
}

// Head returns the latest published tree head. Reads are served for trees
// up to its size.
func (l *Log) Head() Head {
	p := l.pub.Load()
	return Head{Size: p.Size, Root: p.Root, ChainHead: p.ChainHead, Checkpoint: p.checkpoint}
}

// Size returns the size of the latest published tree.
func (l *Log) Size() uint64 { return l.pub.Load().Size }

// Checkpoint returns the latest signed checkpoint.
func (l *Log) Checkpoint() []byte { return l.pub.Load().checkpoint }

// CheckpointAt returns the signed checkpoint the log published at size.
// Every batch publishes one; sizes inside a batch have none (ErrNotFound).
func (l *Log) CheckpointAt(ctx context.Context, size uint64) ([]byte, error) {
	if size > l.Size() {
		return nil, fmt.Errorf("%w: size %d is beyond the log's size %d", ErrOutOfRange, size, l.Size())
	}
	var out []byte
	err := l.view(ctx, func(txn *badger.Txn) error {
		v, err := get(txn, checkpointKey(size))
		out = v
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no checkpoint was published at size %d", ErrNotFound, size)
	}
	return out, err
}

// view runs f in a read transaction, after checking ctx.
func (l *Log) view(ctx context.Context, f func(*badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.View(f)
}

// get returns a copy of the value of key, or ErrNotFound.
func get(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return v, nil
}

// checkIndex checks that index is below the published size.
func (l *Log) checkIndex(index uint64) error {
	if size := l.Size(); index >= size {
		return fmt.Errorf("%w: index %d, the log has %d entries", ErrOutOfRange, index, size)
	}
	return nil
}

// Entry returns the entry at index, with its payload unless withheld.
func (l *Log) Entry(ctx context.Context, index uint64) (Entry, error) {
	if err := l.checkIndex(index); err != nil {
		return Entry{}, err
	}
	var e Entry
	err := l.view(ctx, func(txn *badger.Txn) error {
		var err error
		e, err = readEntry(txn, index)
		return err
	})
	return e, err
}

// readEntry reads one entry: its header from its bundle, and its payload.
func readEntry(txn *badger.Txn, index uint64) (Entry, error) {
	n := index / verify.TileWidth
	bundle, err := get(txn, bundleKey(n))
	if errors.Is(err, ErrNotFound) {
		return Entry{}, fmt.Errorf("%w: entry bundle %d is missing", ErrCorrupt, n)
	}
	if err != nil {
		return Entry{}, err
	}
	entries, err := verify.ParseEntryBundle(bundle)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: entry bundle %d: %w", ErrCorrupt, n, err)
	}
	pos := int(index % verify.TileWidth)
	if pos >= len(entries) {
		return Entry{}, fmt.Errorf("%w: entry bundle %d has %d entries, entry %d is missing", ErrCorrupt, n, len(entries), index)
	}
	e, err := parseEntry(index, entries[pos])
	if err != nil {
		return Entry{}, err
	}
	return e, readPayload(txn, &e)
}

func parseEntry(index uint64, header []byte) (Entry, error) {
	h, err := verify.ParseHeader(header)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: entry %d: %w", ErrCorrupt, index, err)
	}
	if h.Index != index {
		return Entry{}, fmt.Errorf("%w: the header stored for entry %d names index %d", ErrCorrupt, index, h.Index)
	}
	return Entry{Index: index, Header: header, Parsed: h, LeafHash: verify.LeafHash(header)}, nil
}

// readPayload fills in the payload of e, or the reason it was withheld. It
// copies only e's payload out of its group.
func readPayload(txn *badger.Txn, e *Entry) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}})
	defer it.Close()
	last, ok := seekPayloadGroup(it, e.Index)
	if !ok {
		return fmt.Errorf("%w: no payload group holds entry %d", ErrCorrupt, e.Index)
	}
	var damage error
	err := it.Item().Value(func(v []byte) error {
		g, err := parsePayloadGroup(last, v)
		if err == nil {
			var p []byte
			if p, err = g.payload(e.Index); p != nil {
				e.Payload = bytes.Clone(p)
			}
		}
		damage = err
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: reading the payload group of entry %d: %w", ErrStorage, e.Index, err)
	}
	if damage != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, damage)
	}
	if e.Payload != nil {
		return nil
	}
	return readWithheld(txn, e)
}

// groupPayload fills in the payload of e from g, the group that holds it,
// or the reason it was withheld.
func groupPayload(txn *badger.Txn, g *payloadGroup, e *Entry) error {
	p, err := g.payload(e.Index)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if p != nil {
		e.Payload = p
		return nil
	}
	return readWithheld(txn, e)
}

// readWithheld fills in the reason e's payload was withheld; it has none.
func readWithheld(txn *badger.Txn, e *Entry) error {
	reason, err := get(txn, withheldKey(e.Index))
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: the payload of entry %d is missing", ErrCorrupt, e.Index)
	}
	e.Withheld = string(reason)
	return err
}

// EntryByLeafHash returns the entry whose leaf hash is leaf.
func (l *Log) EntryByLeafHash(ctx context.Context, leaf verify.Hash) (Entry, error) {
	size := l.Size()
	var e Entry
	err := l.view(ctx, func(txn *badger.Txn) error {
		v, err := get(txn, leafKey(leaf))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: no entry has leaf hash %v", ErrNotFound, leaf)
		}
		if err != nil {
			return err
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: leaf index for %v has %d bytes", ErrCorrupt, leaf, len(v))
		}
		index := binary.BigEndian.Uint64(v)
		if index >= size {
			return fmt.Errorf("%w: no entry has leaf hash %v", ErrNotFound, leaf)
		}
		if e, err = readEntry(txn, index); err != nil {
			return err
		}
		if e.LeafHash != leaf {
			return fmt.Errorf("%w: leaf index maps %v to entry %d, whose leaf hash is %v", ErrCorrupt, leaf, index, e.LeafHash)
		}
		return nil
	})
	return e, err
}

// Entries calls f with the entries in [start, end), in order, stopping at
// the first error f returns. end may not exceed the published size.
func (l *Log) Entries(ctx context.Context, start, end uint64, f func(Entry) error) error {
	if size := l.Size(); start > end || end > size {
		return fmt.Errorf("%w: range [%d, %d) of a log of %d entries", ErrOutOfRange, start, end, size)
	}
	if start == end {
		return nil
	}
	return l.view(ctx, func(txn *badger.Txn) error {
		return entriesIn(ctx, txn, start, end, f)
	})
}

// entriesIn is Entries within a transaction.
func entriesIn(ctx context.Context, txn *badger.Txn, start, end uint64, f func(Entry) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}})
	defer it.Close()
	var group *payloadGroup
	var entries [][]byte
	for i := start; i < end; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == start || i%verify.TileWidth == 0 {
			n := i / verify.TileWidth
			bundle, err := get(txn, bundleKey(n))
			if err != nil {
				return fmt.Errorf("entry bundle %d: %w", n, err)
			}
			if entries, err = verify.ParseEntryBundle(bundle); err != nil {
				return fmt.Errorf("%w: entry bundle %d: %w", ErrCorrupt, n, err)
			}
		}
		pos := int(i % verify.TileWidth)
		if pos >= len(entries) {
			return fmt.Errorf("%w: entry bundle %d has %d entries, entry %d is missing", ErrCorrupt, i/verify.TileWidth, len(entries), i)
		}
		e, err := parseEntry(i, entries[pos])
		if err != nil {
			return err
		}
		if group == nil || i > group.last {
			last, ok := seekPayloadGroup(it, i)
			if !ok {
				return fmt.Errorf("%w: no payload group holds entry %d", ErrCorrupt, i)
			}
			// A copy per group: the payloads handed to f are slices of it.
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("%w: reading the payload group of entry %d: %w", ErrStorage, i, err)
			}
			if group, err = parsePayloadGroup(last, v); err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
		}
		if err := groupPayload(txn, group, &e); err != nil {
			return err
		}
		if err := f(e); err != nil {
			return err
		}
	}
	return nil
}

// InclusionProof returns the proof that entry index is in the tree of the
// given size, which must be published.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([]verify.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cur := l.Size(); size > cur || index >= size {
		return nil, fmt.Errorf("%w: inclusion of index %d in a tree of size %d; the log has %d entries", ErrOutOfRange, index, size, cur)
	}
	return l.tree.inclusion(index, size)
}

// ConsistencyProof returns the proof that the tree of size2 extends the
// tree of size1; size1 <= size2 <= the published size.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([]verify.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cur := l.Size(); size1 > size2 || size2 > cur {
		return nil, fmt.Errorf("%w: consistency of tree sizes %d and %d; the log has %d entries", ErrOutOfRange, size1, size2, cur)
	}
	return l.tree.consistency(size1, size2)
}

// RootAt returns the root hash of the tree of any size up to the published one.
func (l *Log) RootAt(ctx context.Context, size uint64) (verify.Hash, error) {
	if err := ctx.Err(); err != nil {
		return verify.Hash{}, err
	}
	if cur := l.Size(); size > cur {
		return verify.Hash{}, fmt.Errorf("%w: tree size %d; the log has %d entries", ErrOutOfRange, size, cur)
	}
	rng, err := l.tree.compactRange(size)
	if err != nil {
		return verify.Hash{}, err
	}
	return verify.RootFromRange(rng)
}

// ChainHead returns chain[size-1], the chain head of the tree of the given
// size (GenesisChain for size 0).
func (l *Log) ChainHead(ctx context.Context, size uint64) (verify.Hash, error) {
	if size == 0 {
		return verify.GenesisChain, nil
	}
	e, err := l.Entry(ctx, size-1)
	if err != nil {
		return verify.Hash{}, err
	}
	return verify.ChainHash(e.Parsed.PrevChain, e.LeafHash), nil
}

// ReadTile returns a tile or entry bundle of the tlog-tiles API exactly as
// published for the current tree: a full tile, or the first Width hashes
// (entries) of a partial one. Resources the published tree does not hold
// are ErrNotFound.
func (l *Log) ReadTile(ctx context.Context, t verify.TilePath) ([]byte, error) {
	size := l.Size()
	if !verify.TileExists(t, size) {
		return nil, fmt.Errorf("%w: %s is not part of the tree of size %d", ErrNotFound, t, size)
	}
	key := tileKey(t.Level, t.Index)
	if t.Entries {
		key = bundleKey(t.Index)
	}
	var out []byte
	err := l.view(ctx, func(txn *badger.Txn) error {
		v, err := get(txn, key)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %s is missing from the store", ErrCorrupt, t)
		}
		if err != nil {
			return err
		}
		out, err = prefix(t, v)
		return err
	})
	return out, err
}

// prefix cuts a stored tile or bundle to the width t asks for.
func prefix(t verify.TilePath, v []byte) ([]byte, error) {
	w := t.Width
	if w == 0 {
		w = verify.TileWidth
	}
	if !t.Entries {
		if n := w * len(verify.Hash{}); len(v) >= n {
			return v[:n], nil
		}
		return nil, fmt.Errorf("%w: %s: stored tile has %d bytes", ErrCorrupt, t, len(v))
	}
	end := 0
	for range w {
		if len(v)-end < 2 {
			return nil, fmt.Errorf("%w: %s: stored bundle is short", ErrCorrupt, t)
		}
		end += 2 + int(binary.BigEndian.Uint16(v[end:]))
		if end > len(v) {
			return nil, fmt.Errorf("%w: %s: stored bundle is truncated", ErrCorrupt, t)
		}
	}
	return v[:end], nil
}

// Withhold deletes the payload of entry index and records why. The entry's
// header, its place in the chain and every proof remain: they commit to the
// payload's digest, not to its bytes. Withholding is itself irreversible
// from the log's side; the publisher may append the payload again.
func (l *Log) Withhold(ctx context.Context, index uint64, reason string) error {
	if err := l.checkIndex(index); err != nil {
		return err
	}
	if reason == "" {
		return fmt.Errorf("%w: withholding entry %d needs a reason", ErrInvalidArgument, index)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	l.withholdMu.Lock()
	defer l.withholdMu.Unlock()
	err := l.db.Update(func(txn *badger.Txn) error {
		g, err := readPayloadGroup(txn, index)
		if err != nil {
			return err
		}
		v, err := g.without(index)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if err := txn.Set(payloadKey(g.last), v); err != nil {
			return err
		}
		return txn.Set(withheldKey(index), []byte(reason))
	})
	if err != nil {
		return fmt.Errorf("%w: withholding entry %d: %w", ErrStorage, index, err)
	}
	return nil
}
