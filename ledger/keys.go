// SPDX-License-Identifier: Apache-2.0

package ledger

// The Badger key layout. Every key starts with a one-byte prefix naming its
// kind; integers are big-endian so that keys sort in log order.
//
//	key                          value
//	'C' size:8                   signed checkpoint (C2SP tlog-checkpoint note) of the tree of that size
//	'E' N:8                      entry bundle N (tlog-tiles: uint16 length + encoded header, up to 256)
//	'H' leaf hash:32             index:8 of the entry with that leaf hash
//	'P' last:8                   payload group: the payloads of one batch, ending at entry last (see payloads.go)
//	'S'                          the log's state, see encodeState
//	'T' level:1 N:8              tile level/N (tlog-tiles: up to 256 hashes of 32 bytes)
//	'W' index:8                  the entry's payload is withheld; value: the reason, UTF-8
//
// Tiles and entry bundles are stored once per (level, N) and grow in place
// while they are partial: a partial tile of width W, as published for a
// smaller tree, is a prefix of the stored value, since the hashes of a tree
// never change once computed.
//
// Every batch writes, in one transaction: its payload group, the leaf-hash
// keys of its entries, the bundles and tiles it changed, its checkpoint and
// the state. So the store always holds whole batches.

import (
	"encoding/binary"
	"fmt"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

const (
	prefixCheckpoint = 'C'
	prefixBundle     = 'E'
	prefixLeaf       = 'H'
	prefixPayload    = 'P'
	prefixState      = 'S'
	prefixTile       = 'T'
	prefixWithheld   = 'W'
)

func indexKey(prefix byte, i uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], i)
	return k
}

func checkpointKey(size uint64) []byte { return indexKey(prefixCheckpoint, size) }
func bundleKey(n uint64) []byte        { return indexKey(prefixBundle, n) }
func payloadKey(i uint64) []byte       { return indexKey(prefixPayload, i) }
func withheldKey(i uint64) []byte      { return indexKey(prefixWithheld, i) }

var stateKey = []byte{prefixState}

func leafKey(h verify.Hash) []byte {
	k := make([]byte, 1+len(h))
	k[0] = prefixLeaf
	copy(k[1:], h[:])
	return k
}

func tileKey(level uint8, n uint64) []byte {
	k := make([]byte, 10)
	k[0] = prefixTile
	k[1] = level
	binary.BigEndian.PutUint64(k[2:], n)
	return k
}

// state is what the log knows about itself after its last batch.
type state struct {
	Size      uint64
	Root      verify.Hash
	ChainHead verify.Hash
	LastTime  int64
}

// stateVersion is the version of the state record and of the layout of the
// store it describes. Version 1 stored each payload under its own key;
// version 2 stores them in payload groups.
const stateVersion = 2

// stateSize is the length of an encoded state:
//
//	version:1 (1) | size:8 | root:32 | chain head:32 | last integration time:8 (int64)
const stateSize = 1 + 8 + 32 + 32 + 8

func encodeState(s state) []byte {
	b := make([]byte, 0, stateSize)
	b = append(b, stateVersion)
	b = binary.BigEndian.AppendUint64(b, s.Size)
	b = append(b, s.Root[:]...)
	b = append(b, s.ChainHead[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(s.LastTime))
}

func decodeState(b []byte) (state, error) {
	if len(b) == stateSize && b[0] == 1 {
		return state{}, fmt.Errorf("%w: the store has the layout of version 1 (one key per payload), this build reads version %d (payload groups); append its entries' payloads to a new log, or open it with the build that wrote it", ErrCorrupt, stateVersion)
	}
	if len(b) != stateSize || b[0] != stateVersion {
		return state{}, fmt.Errorf("%w: state record has %d bytes and version %d, want %d bytes and version %d", ErrCorrupt, len(b), firstByte(b), stateSize, stateVersion)
	}
	var s state
	s.Size = binary.BigEndian.Uint64(b[1:9])
	copy(s.Root[:], b[9:41])
	copy(s.ChainHead[:], b[41:73])
	s.LastTime = int64(binary.BigEndian.Uint64(b[73:81]))
	return s, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}
