// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// HeaderVersion is the version byte of the header encoding this package writes.
const HeaderVersion = 1

// HeaderSize is the length in bytes of an encoded version-1 header.
const HeaderSize = 1 + 8 + 8 + 32 + 32

// ErrMalformed reports bytes that do not decode as the format they claim:
// a header, a checkpoint, an entry bundle, a tile path or a proof.
var ErrMalformed = errors.New("malformed")

// Hash is a SHA-256 hash, as used throughout the log.
type Hash = tlog.Hash

// GenesisChain is chain[-1], the chain value that entry 0 links to: 32 zero bytes.
var GenesisChain Hash

// Header is the decoded header of one log entry. See the package comment for
// its encoding.
type Header struct {
	// Index is the entry's position in the log, from 0.
	Index uint64
	// Time is the integration time, in nanoseconds since the Unix epoch (UTC).
	Time int64
	// PayloadDigest is SHA-256 of the payload.
	PayloadDigest Hash
	// PrevChain is the chain hash of entry Index-1, or GenesisChain for entry 0.
	PrevChain Hash
}

// IntegrationTime returns h.Time as a time.Time in UTC.
func (h Header) IntegrationTime() time.Time { return time.Unix(0, h.Time).UTC() }

// Append appends the version-1 encoding of h to b and returns the extended slice.
// It panics if h.Time is negative, which no valid header has.
func (h Header) Append(b []byte) []byte {
	if h.Time < 0 {
		panic("verify: negative header time")
	}
	b = append(b, HeaderVersion)
	b = binary.BigEndian.AppendUint64(b, h.Index)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Time))
	b = append(b, h.PayloadDigest[:]...)
	return append(b, h.PrevChain[:]...)
}

// Marshal returns the version-1 encoding of h.
func (h Header) Marshal() []byte { return h.Append(make([]byte, 0, HeaderSize)) }

// ParseHeader decodes an encoded header. It accepts exactly the encoding
// that [Header.Append] produces and nothing else.
func ParseHeader(b []byte) (Header, error) {
	if len(b) != HeaderSize {
		return Header{}, fmt.Errorf("%w header: got %d bytes, want %d", ErrMalformed, len(b), HeaderSize)
	}
	if b[0] != HeaderVersion {
		return Header{}, fmt.Errorf("%w header: got version %d, want %d", ErrMalformed, b[0], HeaderVersion)
	}
	var h Header
	h.Index = binary.BigEndian.Uint64(b[1:9])
	t := binary.BigEndian.Uint64(b[9:17])
	if t > 1<<63-1 {
		return Header{}, fmt.Errorf("%w header: integration time %d overflows int64", ErrMalformed, t)
	}
	h.Time = int64(t)
	copy(h.PayloadDigest[:], b[17:49])
	copy(h.PrevChain[:], b[49:81])
	return h, nil
}

// PayloadDigest returns SHA-256 of a payload, the value a header commits to.
func PayloadDigest(payload []byte) Hash { return sha256.Sum256(payload) }

// LeafHash returns the RFC 6962 leaf hash of an encoded header:
// SHA-256(0x00 || header).
func LeafHash(header []byte) Hash { return tlog.RecordHash(header) }

// NodeHash returns the RFC 6962 interior node hash SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash { return tlog.NodeHash(left, right) }

// ChainHash returns the next link of the hash chain: SHA-256(prev || leaf).
func ChainHash(prev, leaf Hash) Hash {
	var buf [2 * tlog.HashSize]byte
	copy(buf[:tlog.HashSize], prev[:])
	copy(buf[tlog.HashSize:], leaf[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot is the root hash of the empty tree, SHA-256 of no bytes.
var EmptyRoot Hash = sha256.Sum256(nil)
