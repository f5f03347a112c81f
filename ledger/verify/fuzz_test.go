// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseHeader(f *testing.F) {
	for _, h := range sampleHeaders() {
		f.Add(h.Marshal())
	}
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHeader error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if enc := h.Marshal(); !bytes.Equal(enc, b) {
			t.Fatalf("Marshal(ParseHeader(%x)) = %x", b, enc)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("akashi.example.jp/ledger\n70000\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"))
	f.Add([]byte("a\n0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCheckpoint error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if got := FormatCheckpoint(c); !bytes.Equal(got, b) {
			t.Fatalf("FormatCheckpoint(ParseCheckpoint(%q)) = %q", b, got)
		}
	})
}

func FuzzOpenCheckpoint(f *testing.F) {
	s, v, _ := testKey(&testing.T{}, "akashi.example.jp/ledger")
	signed, _ := SignCheckpoint(Checkpoint{Origin: "akashi.example.jp/ledger", Size: 5}, s)
	f.Add(signed)
	f.Add([]byte("x\n\n— y z\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := OpenCheckpoint(b, "akashi.example.jp/ledger", v)
		if err == nil && c.Origin != "akashi.example.jp/ledger" {
			t.Fatalf("OpenCheckpoint accepted origin %q", c.Origin)
		}
	})
}

func FuzzParseTilePath(f *testing.F) {
	for _, p := range []string{"tile/0/000", "tile/1/x001/x234/067.p/8", "tile/entries/000.p/255", "/tile/63/999"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tp, err := ParseTilePath(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseTilePath error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := ParseTilePath(tp.String())
		if err != nil || again != tp {
			t.Fatalf("ParseTilePath(%q) = %+v, but its String %q parses to %+v, %v", p, tp, tp.String(), again, err)
		}
		if tp.Level > MaxTileLevel || tp.Width < 0 || tp.Width >= TileWidth || (tp.Entries && tp.Level != 0) {
			t.Fatalf("ParseTilePath(%q) = %+v out of bounds", p, tp)
		}
	})
}

func FuzzParseEntryBundle(f *testing.F) {
	var b []byte
	for _, h := range sampleHeaders() {
		b = AppendBundleEntry(b, h.Marshal())
	}
	f.Add(b)
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseEntryBundle(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseEntryBundle error %v does not wrap ErrMalformed", err)
			}
			return
		}
		var again []byte
		for _, e := range entries {
			again = AppendBundleEntry(again, e)
		}
		if !bytes.Equal(again, b) || len(entries) > TileWidth {
			t.Fatalf("ParseEntryBundle(%x) does not round-trip", b)
		}
	})
}

func FuzzParseTile(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := ParseTile(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseTile error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(hs)*32 != len(b) || len(hs) == 0 || len(hs) > TileWidth {
			t.Fatalf("ParseTile(%d bytes) = %d hashes", len(b), len(hs))
		}
	})
}
