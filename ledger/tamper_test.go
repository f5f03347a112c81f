// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// rawUpdate changes the store behind the ledger's back.
func rawUpdate(t *testing.T, dir string, f func(txn *badger.Txn) error) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

type storedKV struct{ key, value []byte }

func rawScan(t *testing.T, dir string) []storedKV {
	t.Helper()
	var out []storedKV
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, _ := it.Item().ValueCopy(nil)
			out = append(out, storedKV{it.Item().KeyCopy(nil), v})
		}
		return nil
	})
	return out
}

// TestTamperDetectedAndLocated flips single bytes of stored headers,
// payloads, tiles, checkpoints, the leaf-hash index and the state, and
// checks that VerifyStore reports each at the right entry, and that Open
// either refuses the store or serves it only for Verify to catch it.
func TestTamperDetectedAndLocated(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, func(o *Options) { o.MaxBatchSize = 50 })
	ctx := t.Context()
	const n = 700 // two full tiles and a partial one at level 0
	for i := range n {
		if _, err := l.Append(ctx, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyStore(ctx, dir, testOptions()); err != nil {
		t.Fatalf("VerifyStore on an intact store = %v", err)
	}
	byPrefix := map[byte][]storedKV{}
	for _, kv := range rawScan(t, dir) {
		byPrefix[kv.key[0]] = append(byPrefix[kv.key[0]], kv)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	type target struct {
		name string
		kv   storedKV
		pos  int
		want int64 // entry index the error must name; -1: detection is enough
	}
	var targets []target
	pick := func(prefix byte, count int, want func(kv storedKV, pos int) int64) {
		kvs := byPrefix[prefix]
		for range count {
			kv := kvs[rng.IntN(len(kvs))]
			pos := rng.IntN(len(kv.value))
			targets = append(targets, target{fmt.Sprintf("%c %x byte %d", prefix, kv.key[1:], pos), kv, pos, want(kv, pos)})
		}
	}
	pick(prefixBundle, 8, func(kv storedKV, pos int) int64 {
		return int64(binary.BigEndian.Uint64(kv.key[1:])*verify.TileWidth) + int64(pos/(2+verify.HeaderSize))
	})
	pick(prefixPayload, 16, func(kv storedKV, pos int) int64 {
		// The fixed part names the group's first entry, a length its
		// entry, a payload byte the entry it belongs to.
		g, err := parsePayloadGroup(binary.BigEndian.Uint64(kv.key[1:]), kv.value)
		if err != nil {
			t.Fatal(err)
		}
		header := payloadGroupHeader + len(g.lengths)
		switch {
		case pos < payloadGroupHeader:
			return int64(g.first)
		case pos < header:
			return int64(g.first) + int64(pos-payloadGroupHeader)/4
		}
		off := header
		for i := g.first; ; i++ {
			if off += g.length(i); pos < off {
				return int64(i)
			}
		}
	})
	pick(prefixTile, 10, func(kv storedKV, pos int) int64 {
		level := uint(kv.key[1]) * verify.TileHeight
		return int64((binary.BigEndian.Uint64(kv.key[2:])*verify.TileWidth + uint64(pos/32)) << level)
	})
	pick(prefixCheckpoint, 6, func(kv storedKV, pos int) int64 {
		size := int64(binary.BigEndian.Uint64(kv.key[1:]))
		return max(size-1, 0)
	})
	pick(prefixLeaf, 5, func(kv storedKV, pos int) int64 { return int64(binary.BigEndian.Uint64(kv.value)) })
	pick(prefixState, 3, func(storedKV, int) int64 { return -1 })

	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]byte(nil), tc.kv.value...)
			bad[tc.pos] ^= 1 << rng.IntN(8)
			rawUpdate(t, dir, func(txn *badger.Txn) error { return txn.Set(tc.kv.key, bad) })
			defer rawUpdate(t, dir, func(txn *badger.Txn) error { return txn.Set(tc.kv.key, tc.kv.value) })

			_, err := VerifyStore(ctx, dir, testOptions())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("VerifyStore = %v, want ErrCorrupt", err)
			}
			if tc.want >= 0 {
				var ee *verify.EntryError
				if !errors.As(err, &ee) || int64(ee.Index) != tc.want {
					t.Fatalf("VerifyStore = %v, want the damage located at entry %d", err, tc.want)
				}
			}
			// Open refuses, or serves a store whose Verify fails the same way.
			l, err := Open(ctx, dir, testOptions())
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open = %v, want ErrCorrupt", err)
				}
				return
			}
			defer l.Close()
			if _, err := l.Verify(ctx); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open accepted the store and Verify = %v, want ErrCorrupt", err)
			}
		})
	}

	// A leaf-index entry moved to a wrong key is located too.
	kv := byPrefix[prefixLeaf][0]
	moved := append([]byte(nil), kv.key...)
	moved[5] ^= 0x10
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		if err := txn.Delete(kv.key); err != nil {
			return err
		}
		return txn.Set(moved, kv.value)
	})
	_, err := VerifyStore(ctx, dir, testOptions())
	var ee *verify.EntryError
	if !errors.As(err, &ee) || ee.Index != binary.BigEndian.Uint64(kv.value) {
		t.Fatalf("VerifyStore with a moved leaf index entry = %v, want entry %d", err, binary.BigEndian.Uint64(kv.value))
	}
}
