// SPDX-License-Identifier: Apache-2.0

package ledger

import (
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
// not yet in snap, over snap, a read transaction opened after the last
// commit (opening one while a commit is in flight would wait for it).
type hookView struct {
	snap    *badger.Txn
	overlay map[string]staged
}

func (v *hookView) Get(key []byte) ([]byte, error) {
	if s, ok := v.overlay[string(key)]; ok {
		return s.value, nil
	}
	item, err := v.snap.Get(indexKeyOf(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: index key %q", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading index key %q: %w", ErrStorage, key, err)
	}
	return item.ValueCopy(nil)
}

// refresh replaces the snapshot after batches up to committed are durable
// and drops what they staged.
func (v *hookView) refresh(db *badger.DB, committed uint64) {
	if v.snap != nil {
		v.snap.Discard()
	}
	v.snap = db.NewTransaction(false)
	for k, s := range v.overlay {
		if s.batch <= committed {
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
		it := txn.NewIterator(badger.IteratorOptions{Prefix: indexKeyOf(prefix), PrefetchValues: true})
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
