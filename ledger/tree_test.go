// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// refTree is an independent in-memory reference: all stored hashes, with
// sumdb/tlog's functions doing the tree work.
type refTree struct {
	hashes  []tlog.Hash
	headers [][]byte
}

func (m *refTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *refTree) add(t testing.TB, header []byte) {
	hs, err := tlog.StoredHashes(int64(len(m.headers)), header, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
	m.headers = append(m.headers, header)
}

// tileReader adapts the log to tlog.TileReader for tiles of height 8.
type tileReader struct {
	t   testing.TB
	log *Log
}

func (r tileReader) Height() int { return verify.TileHeight }

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		w := t.W
		if w == verify.TileWidth {
			w = 0
		}
		p := verify.TilePath{Level: uint8(t.L), Index: uint64(t.N), Width: w}
		if t.L < 0 { // sumdb's data tiles are Akashi's entry bundles
			p = verify.TilePath{Entries: true, Index: uint64(t.N), Width: w}
		}
		data, err := r.log.ReadTile(context.Background(), p)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// TestTreeAgainstTlog appends in batches of random sizes and, after each,
// compares roots, inclusion and consistency proofs, and tiles with an
// independent reference built by sumdb/tlog.
func TestTreeAgainstTlog(t *testing.T) {
	l := openTest(t, t.TempDir(), func(o *Options) { o.MaxBatchSize = 37 })
	defer l.Close()
	ctx := t.Context()
	ref := &refTree{}
	rng := rand.New(rand.NewPCG(1, 2))
	checkpoints := map[uint64]verify.Checkpoint{}
	for round := 0; round < 25; round++ {
		n := 1 + rng.IntN(90)
		if round == 10 {
			n = 256*2 - int(l.Size()%256) // land exactly on a tile boundary
		}
		for range n {
			r, err := l.Append(ctx, []byte{byte(rng.Uint32())})
			if err != nil {
				t.Fatal(err)
			}
			if int(r.Index) != len(ref.headers) {
				t.Fatalf("index %d, want %d", r.Index, len(ref.headers))
			}
			ref.add(t, r.Header)
		}
		size := l.Size()
		want, _ := tlog.TreeHash(int64(size), ref)
		cp, err := verify.OpenCheckpoint(l.Checkpoint(), testOrigin, l.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != size || cp.Root != want {
			t.Fatalf("checkpoint (%d, %v), reference (%d, %v)", cp.Size, cp.Root, size, want)
		}
		checkpoints[size] = cp
		for range 20 {
			s := 1 + rng.Uint64N(size)
			i := rng.Uint64N(s)
			got, err := l.InclusionProof(ctx, i, s)
			if err != nil {
				t.Fatal(err)
			}
			wantP, _ := tlog.ProveRecord(int64(s), int64(i), ref)
			if !equalHashes(got, wantP) {
				t.Fatalf("InclusionProof(%d, %d) = %v, tlog.ProveRecord = %v", i, s, got, wantP)
			}
			s1 := rng.Uint64N(s + 1)
			gotC, err := l.ConsistencyProof(ctx, s1, s)
			if err != nil {
				t.Fatal(err)
			}
			if s1 > 0 {
				wantC, _ := tlog.ProveTree(int64(s), int64(s1), ref)
				if !equalHashes(gotC, wantC) {
					t.Fatalf("ConsistencyProof(%d, %d) = %v, tlog.ProveTree = %v", s1, s, gotC, wantC)
				}
			}
			root, err := l.RootAt(ctx, s)
			if wantR, _ := tlog.TreeHash(int64(s), ref); err != nil || root != wantR {
				t.Fatalf("RootAt(%d) = %v, %v; want %v", s, root, err, wantR)
			}
		}
		// Every tile, read through tlog's own tile machinery, verifies
		// against the signed root.
		thr := tlog.TileHashReader(tlog.Tree{N: int64(size), Hash: want}, tileReader{t, l})
		for range 10 {
			i := rng.Int64N(int64(size))
			if _, err := tlog.ProveRecord(int64(size), i, thr); err != nil {
				t.Fatalf("tlog.ProveRecord over the log's tiles at size %d: %v", size, err)
			}
		}
		// Tile bytes equal tlog's own rendering of the reference tree.
		for _, tile := range tlog.NewTiles(verify.TileHeight, 0, int64(size)) {
			wantData, err := tlog.ReadTileData(tile, ref)
			if err != nil {
				t.Fatal(err)
			}
			w := tile.W
			if w == verify.TileWidth {
				w = 0
			}
			got, err := l.ReadTile(ctx, verify.TilePath{Level: uint8(tile.L), Index: uint64(tile.N), Width: w})
			if err != nil || !bytes.Equal(got, wantData) {
				t.Fatalf("tile %s: %d bytes, %v; want tlog's %d bytes", tile.Path(), len(got), err, len(wantData))
			}
		}
		// Entry bundles hold the headers the tiles commit to.
		for n := uint64(0); n*verify.TileWidth < size; n++ {
			w := 0
			if (n+1)*verify.TileWidth > size {
				w = int(size % verify.TileWidth)
			}
			b, err := l.ReadTile(ctx, verify.TilePath{Entries: true, Index: n, Width: w})
			if err != nil {
				t.Fatal(err)
			}
			entries, err := verify.ParseEntryBundle(b)
			if err != nil {
				t.Fatal(err)
			}
			for k, e := range entries {
				if !bytes.Equal(e, ref.headers[n*verify.TileWidth+uint64(k)]) {
					t.Fatalf("bundle %d entry %d differs", n, k)
				}
			}
		}
	}
	// Consistency between every pair of published checkpoints.
	for s1, c1 := range checkpoints {
		for s2, c2 := range checkpoints {
			if s1 > s2 {
				continue
			}
			p, err := l.ConsistencyProof(ctx, s1, s2)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify.VerifyConsistency(s1, s2, p, c1.Root, c2.Root); err != nil {
				t.Fatalf("consistency %d→%d: %v", s1, s2, err)
			}
			if _, err := l.CheckpointAt(ctx, s2); err != nil {
				t.Fatalf("CheckpointAt(%d) = %v", s2, err)
			}
		}
	}
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadErrors(t *testing.T) {
	l := openTest(t, t.TempDir(), nil)
	defer l.Close()
	ctx := t.Context()
	for i := range 300 {
		if _, err := l.Append(ctx, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"entry beyond size", second(l.Entry(ctx, 300)), ErrOutOfRange},
		{"inclusion index >= size", second(l.InclusionProof(ctx, 5, 5)), ErrOutOfRange},
		{"inclusion size beyond log", second(l.InclusionProof(ctx, 0, 301)), ErrOutOfRange},
		{"consistency reversed", second(l.ConsistencyProof(ctx, 10, 5)), ErrOutOfRange},
		{"consistency beyond", second(l.ConsistencyProof(ctx, 10, 400)), ErrOutOfRange},
		{"checkpoint inside a batch", second(l.CheckpointAt(ctx, 7)), nil},
		{"checkpoint beyond", second(l.CheckpointAt(ctx, 301)), ErrOutOfRange},
		{"leaf hash unknown", second(l.EntryByLeafHash(ctx, verify.Hash{1})), ErrNotFound},
		{"full tile not yet full", second(l.ReadTile(ctx, verify.TilePath{Index: 1})), ErrNotFound},
		{"partial tile too wide", second(l.ReadTile(ctx, verify.TilePath{Index: 1, Width: 45})), ErrNotFound},
		{"level 2 tile", second(l.ReadTile(ctx, verify.TilePath{Level: 2, Width: 1})), ErrNotFound},
		{"range reversed", l.Entries(ctx, 5, 4, nil), ErrOutOfRange},
		{"range beyond", l.Entries(ctx, 5, 301, nil), ErrOutOfRange},
		{"withhold without reason", l.Withhold(ctx, 3, ""), ErrInvalidArgument},
		{"withhold beyond", l.Withhold(ctx, 300, "x"), ErrOutOfRange},
		{"empty payload", second(l.Append(ctx, nil)), ErrTooLarge},
		{"huge payload", second(l.Append(ctx, make([]byte, DefaultMaxPayloadSize+1))), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == nil {
				return // depends on batching; only must not panic
			}
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("got %v, want %v", tc.err, tc.want)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }
