// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// TileHeight is the height of the log's tiles: 8 levels, 256 hashes wide.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile (and entries in a full bundle).
const TileWidth = 1 << TileHeight

// MaxTileLevel is the highest tile level tlog-tiles allows.
const MaxTileLevel = 63

// TilePath names a tile or entry bundle resource of the tlog-tiles API:
//
//	tile/<L>/<N>[.p/<W>]
//	tile/entries/<N>[.p/<W>]
type TilePath struct {
	// Entries is true for an entry bundle, false for a Merkle tree tile.
	Entries bool
	// Level is the tile level, 0 to MaxTileLevel; always 0 for entry bundles.
	Level uint8
	// Index is the tile's index N within its level.
	Index uint64
	// Width is the number of hashes (or entries) of a partial tile, 1 to 255,
	// or 0 for a full tile.
	Width int
}

// String returns the path in its canonical form, without a leading slash.
func (t TilePath) String() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries/")
	} else {
		b.WriteString(strconv.Itoa(int(t.Level)))
		b.WriteByte('/')
	}
	b.WriteString(formatTileIndex(t.Index))
	if t.Width != 0 {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

// formatTileIndex encodes n as zero-padded 3-digit path elements, all but the
// last prefixed with "x": 1234067 becomes "x001/x234/067".
func formatTileIndex(n uint64) string {
	var groups []string
	for {
		groups = append(groups, fmt.Sprintf("%03d", n%1000))
		n /= 1000
		if n == 0 {
			break
		}
	}
	var b strings.Builder
	for i := len(groups) - 1; i >= 0; i-- {
		if i > 0 {
			b.WriteByte('x')
		}
		b.WriteString(groups[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// ParseTilePath parses a tile or entry bundle path, with or without a leading
// slash. It accepts only the canonical form that [TilePath.String] produces,
// so every resource has exactly one name.
func ParseTilePath(p string) (TilePath, error) {
	bad := func(why string) (TilePath, error) {
		return TilePath{}, fmt.Errorf("%w tile path %q: %s", ErrMalformed, p, why)
	}
	s := strings.TrimPrefix(p, "/")
	s, ok := strings.CutPrefix(s, "tile/")
	if !ok {
		return bad("want prefix tile/")
	}
	var t TilePath
	level, rest, ok := strings.Cut(s, "/")
	if !ok {
		return bad("missing tile index")
	}
	if level == "entries" {
		t.Entries = true
	} else {
		l, err := strconv.ParseUint(level, 10, 8)
		if err != nil || l > MaxTileLevel || strconv.FormatUint(l, 10) != level {
			return bad("level must be a decimal integer from 0 to 63 without leading zeros")
		}
		t.Level = uint8(l)
	}
	idx, width, partial := strings.Cut(rest, ".p/")
	if partial {
		w, err := strconv.Atoi(width)
		if err != nil || w < 1 || w >= TileWidth || strconv.Itoa(w) != width {
			return bad("partial width must be a decimal integer from 1 to 255 without leading zeros")
		}
		t.Width = w
	}
	elems := strings.Split(idx, "/")
	if len(elems) > 7 {
		return bad("tile index has too many path elements")
	}
	var n uint64
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad("all but the last index element must start with x")
			}
		}
		if len(e) != 3 || e[0] < '0' || e[0] > '9' || e[1] < '0' || e[1] > '9' || e[2] < '0' || e[2] > '9' {
			return bad("index elements must be three decimal digits")
		}
		d := uint64(e[0]-'0')*100 + uint64(e[1]-'0')*10 + uint64(e[2]-'0')
		if n > (1<<64-1-d)/1000 {
			return bad("tile index overflows")
		}
		n = n*1000 + d
	}
	t.Index = n
	if got := t.String(); got != strings.TrimPrefix(p, "/") {
		return bad("not in canonical form (want " + got + ")")
	}
	return t, nil
}

// PartialTileWidth returns the width of the partial tile at level for a tree
// of the given size: floor(size / 256^level) mod 256. Zero means the level
// has no partial tile.
func PartialTileWidth(level uint8, size uint64) int {
	if uint(level)*TileHeight >= 64 {
		return 0
	}
	return int((size >> (uint(level) * TileHeight)) % TileWidth)
}

// TileExists reports whether the tile (or bundle) t is published for a tree
// of the given size: a full tile lies wholly below size, a partial tile of
// width W is the rightmost tile of its level with at least W hashes.
func TileExists(t TilePath, size uint64) bool {
	level := t.Level
	if t.Entries {
		level = 0
	}
	shift := uint(level) * TileHeight
	if shift >= 64 {
		return false
	}
	hashes := size >> shift // hashes at this tile level in the tree
	if t.Width == 0 {
		return t.Index < hashes/TileWidth
	}
	return t.Index == hashes/TileWidth && uint64(t.Width) <= hashes%TileWidth
}

// ParseEntryBundle splits an entry bundle into its entries. The entries alias
// data. A bundle is a sequence of entries, each prefixed with its length as a
// big-endian uint16; an empty bundle, a truncated entry or more than 256
// entries are rejected.
func ParseEntryBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("%w entry bundle: truncated length prefix", ErrMalformed)
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data)-2 < n {
			return nil, fmt.Errorf("%w entry bundle: entry %d claims %d bytes, %d remain", ErrMalformed, len(entries), n, len(data)-2)
		}
		if len(entries) == TileWidth {
			return nil, fmt.Errorf("%w entry bundle: more than %d entries", ErrMalformed, TileWidth)
		}
		entries = append(entries, data[2:2+n])
		data = data[2+n:]
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w entry bundle: empty", ErrMalformed)
	}
	return entries, nil
}

// AppendBundleEntry appends one length-prefixed entry to an entry bundle.
// It panics if the entry is longer than 65535 bytes; headers are 81.
func AppendBundleEntry(bundle, entry []byte) []byte {
	if len(entry) > 0xffff {
		panic("verify: bundle entry too long")
	}
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(entry)))
	return append(bundle, entry...)
}

// ParseTile splits the bytes of a tile into hashes. Its length must be a
// non-zero multiple of 32 and at most 256 hashes.
func ParseTile(data []byte) ([]Hash, error) {
	if len(data) == 0 || len(data)%len(Hash{}) != 0 || len(data) > TileWidth*len(Hash{}) {
		return nil, fmt.Errorf("%w tile: %d bytes is not 1 to 256 hashes of 32 bytes", ErrMalformed, len(data))
	}
	hs := make([]Hash, len(data)/len(Hash{}))
	for i := range hs {
		copy(hs[i][:], data[i*len(Hash{}):])
	}
	return hs, nil
}
