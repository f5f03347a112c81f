// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is the RFC 6962 SHA-256 hasher of the transparency libraries.
var hasher = rfc6962.DefaultHasher

// hashChildren is NodeHash over byte slices, for the compact range library.
func hashChildren(left, right []byte) []byte {
	h := NodeHash(Hash(left), Hash(right))
	return h[:]
}

// RangeFactory builds compact ranges with RFC 6962 SHA-256 node hashing.
var RangeFactory = &compact.RangeFactory{Hash: hashChildren}

func toBytes(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// VerifyInclusion checks that leaf is the leaf hash at index in the tree of
// the given size whose root is root.
func VerifyInclusion(index, size uint64, leaf Hash, p []Hash, root Hash) error {
	if err := proof.VerifyInclusion(hasher, index, size, leaf[:], toBytes(p), root[:]); err != nil {
		return fmt.Errorf("%w: inclusion of %d in tree of size %d: %v", ErrBadProof, index, size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of size2 with root2 extends the tree
// of size1 with root1.
func VerifyConsistency(size1, size2 uint64, p []Hash, root1, root2 Hash) error {
	if err := proof.VerifyConsistency(hasher, size1, size2, toBytes(p), root1[:], root2[:]); err != nil {
		return fmt.Errorf("%w: consistency of tree size %d with %d: %v", ErrBadProof, size1, size2, err)
	}
	return nil
}

// RootFromRange returns the root hash of a compact range starting at 0: the
// tree hash of its leaves. It returns EmptyRoot for an empty range.
func RootFromRange(r *compact.Range) (Hash, error) {
	if r.End() == 0 {
		return EmptyRoot, nil
	}
	b, err := r.GetRootHash(nil)
	if err != nil {
		return Hash{}, err
	}
	return Hash(b), nil
}
