// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"container/list"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/akashi-ledger/akashi/ledger/verify"
)

// maxTileLevels is the number of tile levels a tree of up to 2^64 leaves needs.
const maxTileLevels = 64 / verify.TileHeight

// fatNodes is the number of tree nodes inside one tile: its 256 stored hashes
// and the 254 interior nodes of heights 1 to 7 above them.
const fatNodes = 2*verify.TileWidth - 2

// subOffset[s] is where the nodes of height s inside a tile start in fatTile.nodes.
var subOffset = [verify.TileHeight]int{0, 256, 384, 448, 480, 496, 504, 508}

// A fatTile is a tile with every tree node inside it: the stored hashes at
// height 0 and the interior nodes above them. Proofs read nodes of any
// height from it without hashing.
//
// The nodes of a tile never change once computed, so readers may read the
// nodes of a tree size that is published while the sequencer writes later
// nodes of the same tile; they never touch the same elements.
type fatTile struct {
	level uint8
	index uint64
	width int // stored hashes filled; owned by the sequencer for edge tiles
	dirty bool
	nodes [fatNodes]verify.Hash
}

// data returns a copy of the tile's stored hashes, as published.
func (t *fatTile) data() []byte {
	b := make([]byte, 0, t.width*len(verify.Hash{}))
	for _, h := range t.nodes[:t.width] {
		b = append(b, h[:]...)
	}
	return b
}

// newFatTile builds a fat tile from stored tile bytes.
func newFatTile(level uint8, index uint64, data []byte) (*fatTile, error) {
	hs, err := verify.ParseTile(data)
	if err != nil {
		return nil, err
	}
	t := &fatTile{level: level, index: index, width: len(hs)}
	copy(t.nodes[:], hs)
	for s := 1; s < verify.TileHeight; s++ {
		below, here := subOffset[s-1], subOffset[s]
		for j := 0; j < len(hs)>>s; j++ {
			t.nodes[here+j] = verify.NodeHash(t.nodes[below+2*j], t.nodes[below+2*j+1])
		}
	}
	return t, nil
}

type tileID struct {
	level uint8
	index uint64
}

// tileCache is a bounded LRU of full fat tiles.
type tileCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *fatTile, most recent first
	m   map[tileID]*list.Element
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, ll: list.New(), m: make(map[tileID]*list.Element)}
}

func (c *tileCache) get(id tileID) *fatTile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*fatTile)
	}
	return nil
}

func (c *tileCache) add(t *fatTile) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := tileID{t.level, t.index}
	if e, ok := c.m[id]; ok {
		e.Value = t
		c.ll.MoveToFront(e)
		return
	}
	c.m[id] = c.ll.PushFront(t)
	for c.ll.Len() > c.max {
		old := c.ll.Remove(c.ll.Back()).(*fatTile)
		delete(c.m, tileID{old.level, old.index})
	}
}

func (c *tileCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.m)
}

// recentTiles is how many tiles completed by the sequencer are kept at
// each level, for the receipts of the batches in flight (a batch of 1024
// entries completes at most five level-0 tiles).
const recentTiles = 8

// tree serves the hashes of tree nodes: from the edge tiles, which the
// sequencer extends, from the tiles it completed last, from the cache of
// full tiles that reads fill, or from the store.
type tree struct {
	db    *badger.DB
	cache *tileCache

	mu     sync.RWMutex
	edge   [maxTileLevels]*fatTile // the rightmost tile of each level; nil above the tree
	recent [maxTileLevels][recentTiles]*fatTile
}

// tile returns the fat tile (level, index), which must hold the nodes a
// published tree needs, and whether it is an edge tile, still growing: only
// the nodes of published trees may be read from an edge tile, and not its width.
func (t *tree) tile(level uint8, index uint64) (ft *fatTile, edge bool, err error) {
	t.mu.RLock()
	e := t.edge[level]
	r := t.recent[level][index%recentTiles]
	t.mu.RUnlock()
	if e != nil && e.index == index {
		return e, true, nil
	}
	if r != nil && r.index == index {
		return r, false, nil
	}
	if ft := t.cache.get(tileID{level, index}); ft != nil {
		return ft, false, nil
	}
	ft, err = t.readTile(level, index)
	return ft, false, err
}

// readTile reads a tile from the store and builds its inner nodes.
func (t *tree) readTile(level uint8, index uint64) (*fatTile, error) {
	var ft *fatTile
	err := t.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(tileKey(level, index))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			ft, err = newFatTile(level, index, v)
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: tile %d/%d is missing", ErrCorrupt, level, index)
	}
	if errors.Is(err, verify.ErrMalformed) {
		return nil, fmt.Errorf("%w: tile %d/%d: %w", ErrCorrupt, level, index, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading tile %d/%d: %w", ErrStorage, level, index, err)
	}
	if ft.width == verify.TileWidth {
		t.cache.add(ft)
	}
	return ft, nil
}

// locate maps a tree node to its tile and to its position in fatTile.nodes.
func locate(level uint, index uint64) (tl uint8, tn uint64, pos int) {
	s := level % verify.TileHeight
	tl = uint8(level / verify.TileHeight)
	tn = index >> (verify.TileHeight - s)
	pos = subOffset[s] + int(index&(1<<(verify.TileHeight-s)-1))
	return tl, tn, pos
}

// node returns the hash of the perfect subtree (level, index), which must
// lie within a published tree.
func (t *tree) node(level uint, index uint64) (verify.Hash, error) {
	tl, tn, pos := locate(level, index)
	ft, edge, err := t.tile(tl, tn)
	if err != nil {
		return verify.Hash{}, err
	}
	if s := level % verify.TileHeight; !edge && (pos-subOffset[s]+1)<<s > ft.width {
		return verify.Hash{}, fmt.Errorf("%w: tile %d/%d has %d hashes, node %d/%d needs more", ErrCorrupt, tl, tn, ft.width, level, index)
	}
	return ft.nodes[pos], nil
}

// nodes returns the hashes of the given nodes.
func (t *tree) nodes(ids []compact.NodeID) ([]verify.Hash, error) {
	hs := make([]verify.Hash, len(ids))
	for i, id := range ids {
		h, err := t.node(id.Level, id.Index)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return hs, nil
}

// rehash fetches the nodes of a proof and folds its ephemeral node.
func (t *tree) rehash(p proof.Nodes) ([]verify.Hash, error) {
	hs, err := t.nodes(p.IDs)
	if err != nil {
		return nil, err
	}
	bs := make([][]byte, len(hs))
	for i := range hs {
		bs[i] = hs[i][:]
	}
	bs, err = p.Rehash(bs, func(left, right []byte) []byte {
		h := verify.NodeHash(verify.Hash(left), verify.Hash(right))
		return h[:]
	})
	if err != nil {
		return nil, err
	}
	out := make([]verify.Hash, len(bs))
	for i, b := range bs {
		out[i] = verify.Hash(b)
	}
	return out, nil
}

// inclusion returns the inclusion proof of index in the tree of size.
func (t *tree) inclusion(index, size uint64) ([]verify.Hash, error) {
	p, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutOfRange, err)
	}
	return t.rehash(p)
}

// consistency returns the consistency proof between the trees of size1 and size2.
func (t *tree) consistency(size1, size2 uint64) ([]verify.Hash, error) {
	p, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutOfRange, err)
	}
	return t.rehash(p)
}

// compactRange returns the compact range [0, size) from the tree's nodes.
func (t *tree) compactRange(size uint64) (*compact.Range, error) {
	hs, err := t.nodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	bs := make([][]byte, len(hs))
	for i := range hs {
		bs[i] = hs[i][:]
	}
	return verify.RangeFactory.NewRange(0, size, bs)
}

// put records a node the sequencer computed. It returns the tile it landed
// in, which the current batch must write, or an error if the node does not
// extend the tree where it should (a bug, never bad input).
func (t *tree) put(level uint, index uint64, h verify.Hash) (*fatTile, error) {
	tl, tn, pos := locate(level, index)
	e := t.edge[tl] // only the sequencer writes edge, so it may read it unlocked
	if e == nil || e.index != tn {
		if e != nil && (e.width != verify.TileWidth || tn != e.index+1) {
			return nil, fmt.Errorf("ledger: node %d/%d lands in tile %d/%d, but edge tile %d/%d has width %d", level, index, tl, tn, tl, e.index, e.width)
		}
		next := &fatTile{level: tl, index: tn}
		t.mu.Lock()
		t.edge[tl] = next
		if e != nil {
			// Appending fills no cache: only what reads ask for is cached.
			t.recent[tl][e.index%recentTiles] = e
		}
		t.mu.Unlock()
		e = next
	}
	if level%verify.TileHeight == 0 {
		if pos != e.width {
			return nil, fmt.Errorf("ledger: node %d/%d at position %d of tile %d/%d of width %d", level, index, pos, tl, tn, e.width)
		}
		e.width++
	}
	e.nodes[pos] = h
	return e, nil
}

// loadEdge loads the rightmost tile of every level of a tree of the given
// size from the store and makes them the edge tiles.
func (t *tree) loadEdge(txn *badger.Txn, size uint64) error {
	var edge [maxTileLevels]*fatTile
	for l := range uint8(maxTileLevels) {
		hashes := size >> (uint(l) * verify.TileHeight)
		if hashes == 0 {
			break
		}
		n, w := hashes/verify.TileWidth, int(hashes%verify.TileWidth)
		if w == 0 {
			edge[l] = &fatTile{level: l, index: n}
			// The full tile to the left must be there.
			if _, err := txn.Get(tileKey(l, n-1)); err != nil {
				return fmt.Errorf("%w: full tile %d/%d of a tree of size %d: %v", ErrCorrupt, l, n-1, size, err)
			}
		} else {
			item, err := txn.Get(tileKey(l, n))
			if err != nil {
				return fmt.Errorf("%w: tile %d/%d of a tree of size %d: %v", ErrCorrupt, l, n, size, err)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("%w: reading tile %d/%d: %w", ErrStorage, l, n, err)
			}
			if len(v) != w*len(verify.Hash{}) {
				return fmt.Errorf("%w: tile %d/%d has %d bytes, a tree of size %d needs %d", ErrCorrupt, l, n, len(v), size, w*len(verify.Hash{}))
			}
			if edge[l], err = newFatTile(l, n, v); err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
		}
		// Nothing may lie beyond the edge.
		if _, err := txn.Get(tileKey(l, n+1)); !errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: tile %d/%d lies beyond a tree of size %d", ErrCorrupt, l, n+1, size)
		}
	}
	t.mu.Lock()
	t.edge = edge
	t.recent = [maxTileLevels][recentTiles]*fatTile{}
	t.mu.Unlock()
	t.cache.purge()
	return nil
}
