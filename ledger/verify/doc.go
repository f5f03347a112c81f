// SPDX-License-Identifier: Apache-2.0

// Package verify is the storage-free half of the Akashi ledger: the entry
// header encoding, leaf and chain hashing, checkpoints, receipts, entry
// bundles, tile paths and proof checks. It imports only the standard library
// and the transparency libraries (golang.org/x/mod/sumdb, transparency-dev),
// never Badger or gRPC, so that the server, the client SDK, the command-line
// tool and any third-party auditor check the log with the same code.
//
// Everything here is a pure function of its inputs. Nothing trusts a server:
// a [Receipt] is checked against the log's public key alone.
//
// # Entries
//
// The log stores opaque payload bytes (for Akashi, an agency-signed record).
// Each entry has a fixed-size header, and the Merkle tree commits to the
// header, not to the payload. The header commits to the payload through its
// SHA-256 digest, so a payload can later be withheld (personal data published
// by mistake, a court order) while the entry, the hash chain and every proof
// still verify.
//
// Version 1 of the header encoding, produced by [Header.Append] and read by
// [ParseHeader], is exactly [HeaderSize] = 81 bytes:
//
//	offset  size  field
//	     0     1  version, the byte 0x01
//	     1     8  index of the entry in the log, uint64 big-endian
//	     9     8  integration time, nanoseconds since 1970-01-01T00:00:00Z,
//	              int64 big-endian, never negative; non-decreasing along the log
//	    17    32  SHA-256 digest of the payload
//	    49    32  chain hash of the previous entry (the genesis value for index 0)
//
// Any other length, version or a negative time is rejected with [ErrMalformed].
// A future version will use a new version byte; parsers reject versions they
// do not know rather than guess. The golden vectors in testdata/ pin the
// encoding.
//
// # Hashes
//
// Hashing follows RFC 6962 with SHA-256 ([Hash] is sumdb/tlog's Hash):
//
//	leaf_hash[i] = SHA-256(0x00 || header[i])             [LeafHash]
//	node_hash    = SHA-256(0x01 || left || right)
//
// The hash chain links every entry to the one before it:
//
//	chain[-1] = 32 zero bytes                               [GenesisChain]
//	chain[i]  = SHA-256(chain[i-1] || leaf_hash[i])         [ChainHash]
//
// Because header[i] carries chain[i-1], the tree of size n commits to every
// chain value below chain[n-1], and chain[n-1], the chain head at size n, is
// derived from the last leaf alone: [ChainHash](header[n-1].PrevChain,
// leaf_hash[n-1]). Checkpoints therefore need no extension lines.
//
// # Checkpoints
//
// The tree head is published as a C2SP tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint): a signed note (golang.org/x/mod/sumdb/note,
// Ed25519) whose text is
//
//	<origin>\n<size, decimal>\n<root hash, base64>\n
//
// with no extension lines. [FormatCheckpoint] produces the text, [SignCheckpoint]
// signs it and [OpenCheckpoint] verifies a signed checkpoint for an expected
// origin and key.
//
// # Tiles and entry bundles
//
// The tree is published as C2SP tlog-tiles (https://c2sp.org/tlog-tiles),
// height 8: tile <L>/<N> holds the hashes of the tree nodes at height 8·L with
// indices 256·N … 256·N+255; partial tiles hold a prefix. Entry bundle <N>
// holds the encoded headers of entries 256·N … 256·N+255, each prefixed with its
// length as a big-endian uint16, so a standard tlog client recomputes every
// leaf hash from the bundle. [TilePath] formats and parses the resource paths;
// [ParseEntryBundle] splits a bundle.
//
// # Receipts
//
// An append is acknowledged with a [Receipt]: index, encoded header, leaf
// hash, chain hash, the signed checkpoint of the batch and an inclusion proof
// against it. [VerifyReceipt] checks all of them against the log's verifier
// key; [Receipt.CheckPayload] ties a receipt to the payload the caller sent.
//
// # Auditing
//
// An [Auditor] reads the log in order and checks every link: indices without
// gaps, non-decreasing time, the previous chain hash in each header, the
// payload digests, and the tree root at every checkpoint. Its [AuditorState] is
// small and can be saved to resume an audit later.
package verify
