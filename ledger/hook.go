// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Hook lets schema-aware code take part in sequencing without the ledger
// knowing its schema: checks that depend on the order of the log (is this
// id taken? does the record it cites exist?) and index entries written in
// the same transaction as the entry, so that they are never out of step
// with the log.
//
// Index keys live in their own namespace of the store; a Hook never sees or
// touches the ledger's keys.
type Hook interface {
	// Sequence is called by the sequencer for each append, in log order,
	// with the index the entry will get, its payload and the argument given
	// to AppendWith. It returns the index keys to write with the entry, or
	// an error to refuse it: then nothing of it is written, the index is
	// not used, and AppendWith returns the error unchanged.
	//
	// v reads index keys as they stand just before this entry: committed,
	// or written by entries sequenced earlier. Sequence runs on the
	// sequencer's goroutine: it must be quick and must not block. It may
	// return at most 256 keys and 64 KiB of keys and small values per
	// entry: batches are cut to fit Badger's transaction limits with that
	// room.
	Sequence(v View, index uint64, payload []byte, arg any) ([]KV, error)
}

// View reads index keys for a Hook.
type View interface {
	// Get returns the value of an index key, or an error wrapping
	// ErrNotFound. The value must not be modified.
	Get(key []byte) ([]byte, error)
}

// KV is an index key and its value.
type KV struct{ Key, Value []byte }

// prefixIndex is the namespace of index keys in the store.
const prefixIndex = 'X'

func indexKeyOf(key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = prefixIndex
	copy(k[1:], key)
	return k
}

// staged is an index value written by an entry not yet in the snapshot.
type staged struct {
	value []byte
	batch uint64 // the sequence number of the batch that wrote it
}

// hookView is the sequencer's View: the index keys of batches sequenced but
// not yet in snap, over the committed keys the sequencer has read lately,
// over snap, a read transaction opened after the last commit (opening one
// while a commit is in flight would wait for it).
//
// The cache of committed keys spares the sequencer a Badger read for the
// keys that every append looks up again (the signer's state, its key,
// the record it cites): it holds the values read from snap, updated when a
// batch that rewrote them commits. It stays true because only the Hook,
// through the sequencer, writes the keys the Hook reads (UpdateIndex must
// not write them); a failed batch resets the whole view (seqState.reset).
type hookView struct {
	snap    *badger.Txn
	overlay map[string]staged
	cache   map[string][]byte
}

// errIndexKeyNotFound is hookView.Get's answer for an absent key.
var errIndexKeyNotFound = fmt.Errorf("%w: no such index key", ErrNotFound)

// hookCacheMax bounds the committed index keys a hookView remembers; when
// full it starts again.
const hookCacheMax = 1 << 15

func (v *hookView) Get(key []byte) ([]byte, error) {
	if s, ok := v.overlay[string(key)]; ok {
		return s.value, nil
	}
	if b, ok := v.cache[string(key)]; ok {
		return b, nil
	}
	item, err := v.snap.Get(indexKeyOf(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		// Most appends look up keys that do not exist yet (a new
		// record's id): the key is not formatted into the error.
		return nil, errIndexKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading index key %q: %w", ErrStorage, key, err)
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: reading index key %q: %w", ErrStorage, key, err)
	}
	v.remember(string(key), b)
	return b, nil
}

func (v *hookView) remember(key string, value []byte) {
	if v.cache == nil || len(v.cache) >= hookCacheMax {
		v.cache = make(map[string][]byte)
	}
	v.cache[key] = value
}

// refresh replaces the snapshot after batches up to committed are durable
// and drops what they staged, updating the cache of committed keys where
// it holds them.
func (v *hookView) refresh(db *badger.DB, committed uint64) {
	if v.snap != nil {
		v.snap.Discard()
	}
	v.snap = db.NewTransaction(false)
	for k, s := range v.overlay {
		if s.batch <= committed {
			if _, ok := v.cache[k]; ok { // a key read before: keep it true
				v.cache[k] = s.value
			}
			delete(v.overlay, k)
		}
	}
}

func (v *hookView) close() {
	if v.snap != nil {
		v.snap.Discard()
		v.snap = nil
	}
}

// IndexGet reads an index key as committed. It returns an error wrapping
// ErrNotFound when the key is absent.
func (l *Log) IndexGet(key []byte) ([]byte, error) {
	var out []byte
	err := l.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = get(txn, indexKeyOf(key))
		return err
	})
	return out, err
}

// IndexScan calls f with every committed index key that starts with
// prefix, in key order, until f returns false or an error.
func (l *Log) IndexScan(prefix []byte, f func(key, value []byte) (bool, error)) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: indexKeyOf(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrStorage, err)
			}
			more, err := f(it.Item().Key()[1:], v)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// IndexTxn reads and writes index keys in one transaction of a derived
// index kept beside the log (see UpdateIndex).
type IndexTxn interface {
	// Get returns the committed value of an index key, or an error wrapping
	// ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Set writes an index key.
	Set(key, value []byte) error
	// Delete removes an index key.
	Delete(key []byte) error
}

type indexTxn struct{ txn *badger.Txn }

func (t indexTxn) Get(key []byte) ([]byte, error) { return get(t.txn, indexKeyOf(key)) }

func (t indexTxn) Set(key, value []byte) error {
	if err := t.txn.Set(indexKeyOf(key), value); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

func (t indexTxn) Delete(key []byte) error {
	if err := t.txn.Delete(indexKeyOf(key)); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

// UpdateIndex runs f in one durable transaction over index keys, for a
// derived index that follows the log after the fact (rather than in the
// sequencer, through a Hook): it reads the entries with Entries, writes
// what they add together with its own watermark, and is whole after a
// crash. Its keys must not be ones a Hook writes or reads. A transaction
// may hold about Options.MemTableSize*15/100 bytes (Badger's limit); f is
// told nothing of it, and gets ErrStorage wrapping badger.ErrTxnTooBig
// past it.
func (l *Log) UpdateIndex(ctx context.Context, f func(IndexTxn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	txn := l.db.NewTransaction(true)
	defer txn.Discard()
	if err := f(indexTxn{txn}); err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("%w: committing index keys: %w", ErrStorage, err)
	}
	return nil
}

// MaxIndexTxnBytes is how much an UpdateIndex transaction may hold, by
// Badger's accounting (keys, values under the value threshold, and a few
// bytes each).
func (l *Log) MaxIndexTxnBytes() int64 { return l.db.MaxBatchSize() }

// MaxIndexTxnCount is how many keys an UpdateIndex transaction may write.
func (l *Log) MaxIndexTxnCount() int64 { return l.db.MaxBatchCount() }

// WaitSize waits until the published tree has at least size entries, or
// ctx ends; it returns the published size.
func (l *Log) WaitSize(ctx context.Context, size uint64) (uint64, error) {
	for {
		l.growMu.Lock()
		grew := l.grew
		l.growMu.Unlock()
		if s := l.Size(); s >= size {
			return s, nil
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return l.Size(), ctx.Err()
		case <-l.closing:
			return l.Size(), ErrClosed
		}
	}
}

// published wakes WaitSize callers after the tree grew.
func (l *Log) published() {
	l.growMu.Lock()
	close(l.grew)
	l.grew = make(chan struct{})
	l.growMu.Unlock()
}

// IndexRange says which index keys IndexIterate visits.
type IndexRange struct {
	// Prefix bounds the keys visited.
	Prefix []byte
	// Start is the key to start from (inclusive), within Prefix; the first
	// key of the prefix (the last, in reverse) when empty.
	Start []byte
	// Reverse visits keys in descending order.
	Reverse bool
}

// IndexIterate calls f with the committed index keys of r, in key order
// (or reverse), until f returns false or an error, or ctx ends.
func (l *Log) IndexIterate(ctx context.Context, r IndexRange, f func(key, value []byte) (bool, error)) error {
	return l.view(ctx, func(txn *badger.Txn) error {
		prefix := indexKeyOf(r.Prefix)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: r.Reverse})
		defer it.Close()
		start := indexKeyOf(r.Start)
		if len(r.Start) == 0 {
			start = prefix
			if r.Reverse {
				// Seek past every key of the prefix.
				start = append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			}
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrStorage, err)
			}
			more, err := f(it.Item().KeyCopy(nil)[1:], v)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}
