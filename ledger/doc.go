// SPDX-License-Identifier: Apache-2.0

// Package ledger is Akashi's log: an append-only, hash-chained,
// Merkle-verifiable sequence of opaque payloads, stored in Badger, which it
// owns. It knows nothing of records, gRPC or queries; the formats it writes
// are defined, and checked, by package [verify].
//
// # Guarantees
//
//   - Durable before acknowledged: [Log.Append] returns a receipt only after
//     the batch holding the entry is committed with a synced write.
//   - Atomic batches: a batch (its entries, payloads, leaf-hash index, tiles,
//     entry bundles, chain head, size and checkpoint) is one Badger
//     transaction; after a crash the store holds whole batches only.
//   - One history: every batch publishes a signed C2SP checkpoint of the
//     tree it extends; on restart the log resumes from the last one, and a
//     failed batch leaves nothing behind.
//   - Bounded: the queue of appends is bounded in count and bytes; beyond
//     it Append fails fast with [ErrPushback]. Payloads, batches and the
//     tile cache are bounded by [Options].
//   - Whole or refused: [Open] checks that the state, the latest checkpoint,
//     the edge tiles, the last entry and the chain head agree before it
//     serves anything, and refuses a damaged store with [ErrCorrupt].
//     [Log.Verify] recomputes everything and locates the first damage.
//
// # Entries, chain and tree
//
// Each entry is a header (see package verify for its 81-byte encoding) and a
// payload kept apart from it. The Merkle tree's leaves are the headers, so a
// payload can be withheld ([Log.Withhold]) while every proof still holds.
// The hash chain runs through the headers; the chain head at every
// published size is chain[size-1] = verify.ChainHash(header.PrevChain,
// leaf hash) of the last entry, and [Log.ChainHead] returns it for any size.
//
// The tree is stored as C2SP tlog-tiles of height 8 and the headers as
// tlog-tiles entry bundles, so [Log.ReadTile] serves the tlog-tiles API
// straight from the store. The payloads of a batch are stored together, as
// one payload group (payloads.go), so that a batch writes one value for
// them and range reads and Verify read one value a batch. See keys.go for
// the key layout.
//
// # Group commit
//
// Appends are sequenced by one goroutine and committed by another; a batch
// forms while the previous one is being made durable (see sequencer.go).
// [Options.MaxBatchSize], [Options.MaxBatchBytes] and [Options.MaxBatchDelay]
// bound a batch; [Options.BatchInterval] spaces commits of appends that
// arrive one by one.
//
// # Reads
//
// Reads never block the sequencer: entries by index ([Log.Entry]), by leaf
// hash ([Log.EntryByLeafHash]) and by range ([Log.Entries]); inclusion and
// consistency proofs for any published sizes; the latest checkpoint and the
// one published at any batch boundary; tiles and entry bundles. Proofs are
// built from tiles held in a bounded cache with their inner nodes, so a
// proof costs lookups, not hashing.
package ledger
