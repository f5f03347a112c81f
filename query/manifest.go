// SPDX-License-Identifier: Apache-2.0

package query

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// Export manifests.
//
// A manifest proves that an index-range export holds exactly the log's
// entries [IndexFrom, IndexTo): its JSON form (format
// "akashi-export-manifest/v1") is
//
//	{
//	  "format": "akashi-export-manifest/v1",
//	  "origin": "akashi.example.jp/log",
//	  "checkpoint": "<the signed checkpoint note>",
//	  "tree_size": 120000,
//	  "root_hash": "<hex>",
//	  "index_from": 0, "index_to": 5000,
//	  "left":  ["<hex>", ...],   // compact range [0, index_from): node hashes, left to right
//	  "right": ["<hex>", ...]    // compact range [index_to, tree_size)
//	}
//
// To check an export, hash the leaves of its entries (from each NDJSON
// line's header, after checking the payload against the header's digest,
// or from the CSV's leaf_hash column), build the compact range
// [index_from, index_to) from them, merge it between the two ranges of the
// manifest, and compare the root with the checkpoint's, whose signature is
// checked with the log's public key: [VerifyExportManifest]. A missing,
// extra, altered or reordered entry changes the root.

// ManifestFormat names the manifest format.
const ManifestFormat = "akashi-export-manifest/v1"

// Manifest is an export manifest.
type Manifest struct {
	Format     string   `json:"format"`
	Origin     string   `json:"origin"`
	Checkpoint string   `json:"checkpoint"`
	TreeSize   uint64   `json:"tree_size"`
	RootHash   string   `json:"root_hash"`
	IndexFrom  uint64   `json:"index_from"`
	IndexTo    uint64   `json:"index_to"`
	Left       []string `json:"left"`
	Right      []string `json:"right"`
}

// ParseManifest parses a manifest's JSON.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest: format %q, want %q", m.Format, ManifestFormat)
	}
	return &m, nil
}

func hexHashes(ss []string) ([][]byte, error) {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("manifest: hash %d is not 64 hex digits", i)
		}
		out[i] = b
	}
	return out, nil
}

// VerifyExportManifest checks that leaves, the leaf hashes of an export
// in log order, are exactly the log's entries [m.IndexFrom, m.IndexTo) in
// the tree of m's checkpoint, which it checks with the log's verifier key.
// It returns the checkpoint.
func VerifyExportManifest(m *Manifest, leaves []verify.Hash, v note.Verifier) (verify.Checkpoint, error) {
	cp, err := verify.OpenCheckpoint([]byte(m.Checkpoint), m.Origin, v)
	if err != nil {
		return cp, err
	}
	switch {
	case cp.Size != m.TreeSize || hex.EncodeToString(cp.Root[:]) != m.RootHash:
		return cp, fmt.Errorf("manifest: tree size %d and root %s do not match the checkpoint's %d and %x", m.TreeSize, m.RootHash, cp.Size, cp.Root)
	case m.IndexFrom > m.IndexTo || m.IndexTo > cp.Size:
		return cp, fmt.Errorf("manifest: range [%d, %d) is not within the tree of size %d", m.IndexFrom, m.IndexTo, cp.Size)
	case uint64(len(leaves)) != m.IndexTo-m.IndexFrom:
		return cp, fmt.Errorf("export: %d entries, the manifest's range [%d, %d) has %d", len(leaves), m.IndexFrom, m.IndexTo, m.IndexTo-m.IndexFrom)
	}
	left, err := hexHashes(m.Left)
	if err != nil {
		return cp, err
	}
	right, err := hexHashes(m.Right)
	if err != nil {
		return cp, err
	}
	rng, err := verify.RangeFactory.NewRange(0, m.IndexFrom, left)
	if err != nil {
		return cp, fmt.Errorf("manifest: left range: %w", err)
	}
	mid := verify.RangeFactory.NewEmptyRange(m.IndexFrom)
	for _, l := range leaves {
		if err := mid.Append(l[:], nil); err != nil {
			return cp, err
		}
	}
	if err := rng.AppendRange(mid, nil); err != nil {
		return cp, err
	}
	rr, err := verify.RangeFactory.NewRange(m.IndexTo, cp.Size, right)
	if err != nil {
		return cp, fmt.Errorf("manifest: right range: %w", err)
	}
	if err := rng.AppendRange(rr, nil); err != nil {
		return cp, err
	}
	root, err := verify.RootFromRange(rng)
	if err != nil {
		return cp, err
	}
	if root != cp.Root {
		return cp, fmt.Errorf("export: the entries do not hash to the checkpoint's root: they are not the log's entries [%d, %d)", m.IndexFrom, m.IndexTo)
	}
	return cp, nil
}

// LeavesFromNDJSON reads an NDJSON export and returns its leaf hashes and
// its first index. It checks that indexes are consecutive, that each
// header names its index and that each payload (unless withheld) has the
// header's digest.
func LeavesFromNDJSON(r io.Reader) ([]verify.Hash, uint64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	var leaves []verify.Hash
	var first uint64
	for n := 0; sc.Scan(); n++ {
		var line struct {
			Index   uint64 `json:"index"`
			Header  string `json:"header"`
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, 0, fmt.Errorf("export line %d: %w", n+1, err)
		}
		hb, err := base64.StdEncoding.DecodeString(line.Header)
		if err != nil {
			return nil, 0, fmt.Errorf("export line %d: header: %w", n+1, err)
		}
		h, err := verify.ParseHeader(hb)
		if err != nil {
			return nil, 0, fmt.Errorf("export line %d: %w", n+1, err)
		}
		if n == 0 {
			first = line.Index
		}
		if line.Index != first+uint64(n) || h.Index != line.Index {
			return nil, 0, fmt.Errorf("export line %d: index %d (header %d), want %d", n+1, line.Index, h.Index, first+uint64(n))
		}
		if line.Payload != "" {
			p, err := base64.StdEncoding.DecodeString(line.Payload)
			if err != nil {
				return nil, 0, fmt.Errorf("export line %d: payload: %w", n+1, err)
			}
			if verify.PayloadDigest(p) != h.PayloadDigest {
				return nil, 0, fmt.Errorf("export line %d: the payload does not match the header's digest", n+1)
			}
		}
		leaves = append(leaves, verify.LeafHash(hb))
	}
	return leaves, first, sc.Err()
}

// LeavesFromCSV reads a CSV export and returns the leaf hashes of its
// leaf_hash column and its first index, checking that indexes are
// consecutive.
func LeavesFromCSV(r io.Reader) ([]verify.Hash, uint64, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	head, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("export: header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	ic, ok1 := col["index"]
	lc, ok2 := col["leaf_hash"]
	if !ok1 || !ok2 {
		return nil, 0, errors.New("export: no index and leaf_hash columns")
	}
	var leaves []verify.Hash
	var first uint64
	for n := 0; ; n++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		i, err := strconv.ParseUint(row[ic], 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("export row %d: index: %w", n+1, err)
		}
		if n == 0 {
			first = i
		}
		if i != first+uint64(n) {
			return nil, 0, fmt.Errorf("export row %d: index %d, want %d", n+1, i, first+uint64(n))
		}
		b, err := hex.DecodeString(row[lc])
		if err != nil || len(b) != 32 {
			return nil, 0, fmt.Errorf("export row %d: leaf_hash is not 64 hex digits", n+1)
		}
		leaves = append(leaves, verify.Hash(b))
	}
	return leaves, first, nil
}

// tileReader reads the published tree's tiles.
type tileReader struct {
	ctx context.Context
	log TileLog
}

// TileLog reads tiles; *ledger.Log implements it.
type TileLog interface {
	ReadTile(ctx context.Context, t verify.TilePath) ([]byte, error)
	Verifier() note.Verifier
}

func (t tileReader) Height() int { return verify.TileHeight }

func (t tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func (t tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, x := range tiles {
		w := x.W
		if w == verify.TileWidth {
			w = 0
		}
		b, err := t.log.ReadTile(t.ctx, verify.TilePath{Level: uint8(x.L), Index: uint64(x.N), Width: w})
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// ExportManifest returns the manifest of the export of entries [from, to)
// against the latest checkpoint; to 0 means the tree size.
func (e *Engine) ExportManifest(ctx context.Context, from, to uint64) (*Manifest, error) {
	tl, ok := e.log.(TileLog)
	if !ok {
		return nil, errors.New("query: the log serves no tiles")
	}
	h := e.log.Head()
	if to == 0 {
		to = h.Size
	}
	if from > to {
		return nil, bad("index_to", strconv.FormatUint(to, 10), "at least index_from")
	}
	if to > h.Size {
		return nil, bad("index_to", strconv.FormatUint(to, 10), fmt.Sprintf("at most the tree size %d", h.Size))
	}
	cp, err := verify.OpenCheckpoint(h.Checkpoint, e.log.Origin(), tl.Verifier())
	if err != nil {
		return nil, err
	}
	hr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: tlog.Hash(cp.Root)}, tileReader{ctx: ctx, log: tl})
	nodes := func(a, b uint64) ([]string, error) {
		ids := compact.RangeNodes(a, b, nil)
		idx := make([]int64, len(ids))
		for i, id := range ids {
			idx[i] = tlog.StoredHashIndex(int(id.Level), int64(id.Index))
		}
		hs, err := hr.ReadHashes(idx)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(hs))
		for i := range hs {
			out[i] = hex.EncodeToString(hs[i][:])
		}
		return out, nil
	}
	m := &Manifest{Format: ManifestFormat, Origin: e.log.Origin(), Checkpoint: string(h.Checkpoint), TreeSize: cp.Size,
		RootHash: hex.EncodeToString(cp.Root[:]), IndexFrom: from, IndexTo: to}
	if m.Left, err = nodes(0, from); err != nil {
		return nil, err
	}
	if m.Right, err = nodes(to, cp.Size); err != nil {
		return nil, err
	}
	return m, nil
}
