// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// A payload group holds the payloads of the entries of one batch, stored
// as one value under the index of the batch's last entry ('P' last:8), so
// that a batch writes one value instead of one per entry, and a range read
// or Verify reads one value per batch. Its encoding:
//
//	version:1 (1) | count:4 | count × length:4 | the payloads, concatenated
//
// all integers big-endian. The group holds entries last-count+1 … last, in
// order. A withheld payload has length 0 (payloads are never empty) and its
// bytes are gone from the group.
const payloadGroupVersion = 1

// payloadGroupHeader is the size of a group's fixed part.
const payloadGroupHeader = 1 + 4

// encodePayloadGroup encodes the payloads of consecutive entries; a nil or
// empty payload is a withheld one.
func encodePayloadGroup(payloads [][]byte) []byte {
	n := payloadGroupHeader + 4*len(payloads)
	for _, p := range payloads {
		n += len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, payloadGroupVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payloads)))
	for _, p := range payloads {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	}
	for _, p := range payloads {
		b = append(b, p...)
	}
	return b
}

// payloadGroup is a parsed payload group. Parsing checks only its fixed
// part and its length table, so that damage to one payload's length is
// found at that payload (payload reports it), not at the group's first.
type payloadGroup struct {
	first, last uint64
	lengths     []byte // count × length:4
	data        []byte
	// next and offset walk the group in order: payload(next) starts at
	// data[offset].
	next   uint64
	offset int
}

// parsePayloadGroup parses the group stored under the key of entry last.
func parsePayloadGroup(last uint64, b []byte) (*payloadGroup, error) {
	if len(b) < payloadGroupHeader || b[0] != payloadGroupVersion {
		return nil, fmt.Errorf("payload group of %d bytes with version %d, want version %d", len(b), firstByte(b), payloadGroupVersion)
	}
	count := uint64(binary.BigEndian.Uint32(b[1:]))
	if count == 0 || count > last+1 || uint64(len(b)-payloadGroupHeader) < 4*count {
		return nil, fmt.Errorf("payload group ending at entry %d claims %d entries in %d bytes", last, count, len(b))
	}
	end := payloadGroupHeader + 4*int(count)
	g := &payloadGroup{first: last + 1 - count, last: last, lengths: b[payloadGroupHeader:end], data: b[end:]}
	g.next = g.first
	return g, nil
}

// payload returns the payload of entry i of the group, nil if it is
// withheld. Entries are fastest read in order.
func (g *payloadGroup) payload(i uint64) ([]byte, error) {
	if i < g.first || i > g.last {
		return nil, fmt.Errorf("payload group of entries %d to %d has no entry %d", g.first, g.last, i)
	}
	if i < g.next {
		g.next, g.offset = g.first, 0
	}
	for ; g.next < i; g.next++ {
		g.offset += g.length(g.next)
	}
	n := g.length(i)
	if g.offset > len(g.data) || n > len(g.data)-g.offset {
		return nil, fmt.Errorf("payload group of entries %d to %d: the payload of entry %d (%d bytes at offset %d) runs past the group's %d bytes", g.first, g.last, i, n, g.offset, len(g.data))
	}
	if n == 0 {
		return nil, nil
	}
	return g.data[g.offset : g.offset+n : g.offset+n], nil
}

// length is the length the group records for entry i.
func (g *payloadGroup) length(i uint64) int {
	k := 4 * (i - g.first)
	return int(binary.BigEndian.Uint32(g.lengths[k:]))
}

// total is the payload bytes the length table accounts for; a whole group
// has exactly that many.
func (g *payloadGroup) total() int {
	t := 0
	for k := 0; k < len(g.lengths); k += 4 {
		t += int(binary.BigEndian.Uint32(g.lengths[k:]))
	}
	return t
}

// without returns the group's encoding with the payload of entry i
// removed (withheld).
func (g *payloadGroup) without(i uint64) ([]byte, error) {
	payloads := make([][]byte, 0, g.last-g.first+1)
	for j := g.first; j <= g.last; j++ {
		p, err := g.payload(j)
		if err != nil {
			return nil, err
		}
		if j == i {
			p = nil
		}
		payloads = append(payloads, p)
	}
	return encodePayloadGroup(payloads), nil
}

// seekPayloadGroup positions it, an iterator over prefixPayload, at the
// group that holds entry i, and returns the group's last entry; ok is false
// if no group ends at or after i.
func seekPayloadGroup(it *badger.Iterator, i uint64) (last uint64, ok bool) {
	it.Seek(payloadKey(i))
	if !it.Valid() {
		return 0, false
	}
	return binary.BigEndian.Uint64(it.Item().Key()[1:]), true
}

// readPayloadGroup reads and parses the group that holds entry i, a copy
// of its value that outlives the transaction.
func readPayloadGroup(txn *badger.Txn, i uint64) (*payloadGroup, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}})
	defer it.Close()
	last, ok := seekPayloadGroup(it, i)
	if !ok {
		return nil, fmt.Errorf("%w: no payload group holds entry %d", ErrCorrupt, i)
	}
	v, err := it.Item().ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the payload group of entry %d: %w", ErrStorage, i, err)
	}
	g, err := parsePayloadGroup(last, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return g, nil
}

// payloadBeyond reports whether a payload group ends at or after entry
// size, beyond a log of that size.
func payloadBeyond(txn *badger.Txn, size uint64) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPayload}})
	defer it.Close()
	_, ok := seekPayloadGroup(it, size)
	return ok
}
